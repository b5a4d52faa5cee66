"""KFP v1: the metadata-writer service records finished Argo pods (backend/metadata_writer, reference/lineage.md §4).

- Run: context `KfpRun` named by the Argo workflow name; executions declare `run_id` and `pipeline_name`, both equal
  to that workflow name, so the run is read from the property (no Association reads).
- Execution type `components.<component name>@sha256=<spec hash>` (or `components.<template>`); custom property
  `kfp_pod_name`. No image is recorded.
- `last_known_state` is never set: steps and runs stay UNKNOWN rather than guessing.
- Cache hits are not recorded at all (the cache webhook marks the pod as already written), so a v1 run that hit
  the cache simply lacks those steps.
- The KFP pipeline name is not stored; the workflow name is `<pipeline name>-<5 random characters>` (Argo's
  generateName), so the pipeline is the workflow name without that suffix.
"""

from __future__ import annotations

from aipipe_ops.lineage.orchestrators.base import Orchestrator, StoreTypes, prop, update_steps

# Argo's generateName appends five lower-case alphanumerics.
_WORKFLOW_SUFFIX = "-[a-z0-9]{5}$"


class KfpV1(Orchestrator):
    name = "kfp-v1"
    runs_orchestrator = "kfp-v1"
    priority = 20
    claims = "s.type_name LIKE 'components.%'"
    run_context_types = ("KfpRun",)

    def present(self, types: StoreTypes) -> bool:
        return "KfpRun" in types.contexts or any(t.startswith("components.") for t in types.executions)

    def derive_steps(self, con) -> None:
        component = "regexp_replace(substr(s.type_name, length('components.') + 1), '@sha256=.*$', '')"
        update_steps(con, f"""
            SELECT s.execution_id,
                   {prop('s.properties', 'run_id')} AS run_id,
                   coalesce({prop('s.properties', 'component_id')}, {component}) AS step,
                   {component} AS component,
                   {prop('s.properties', 'kfp_pod_name')} AS pod_name,
                   CAST(NULL AS VARCHAR) AS image,
                   CAST(NULL AS BIGINT) AS cached_from
            FROM steps s WHERE s.dialect = 'kfp-v1'
        """)

    def derive_runs(self, con, source: str) -> None:
        con.execute(f"""
            INSERT INTO runs (run_id, pipeline, orchestrator, namespace, created_at, context_id, workflow, source)
            WITH ctx AS (
                SELECT name AS run_id, context_id, created_at FROM mlmd_contexts WHERE type_name = 'KfpRun'
            ),
            from_steps AS (
                SELECT DISTINCT run_id FROM steps WHERE dialect = 'kfp-v1' AND run_id IS NOT NULL
            )
            SELECT coalesce(c.run_id, s.run_id) AS run_id,
                   regexp_replace(coalesce(c.run_id, s.run_id), '{_WORKFLOW_SUFFIX}', ''),
                   'kfp-v1', NULL, c.created_at, c.context_id, coalesce(c.run_id, s.run_id), ?
            FROM ctx c FULL OUTER JOIN from_steps s ON s.run_id = c.run_id
        """, [source])


ORCHESTRATOR = KfpV1()
