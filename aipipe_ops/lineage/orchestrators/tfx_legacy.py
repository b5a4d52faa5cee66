"""TFX before the IR orchestrator (<= 0.2x component launchers, InteractiveContext; reference/lineage.md §5.3),
as found in a migrated copy of an old store (`aipipe lineage migrate-copy`).

- Contexts `pipeline`, `run` (`<pipeline>.<run id>`), `component_run`; executions declare `run_id`,
  `pipeline_name`, `component_id` and a string `state` (`new`, `complete`, `cached`), so membership comes from
  properties. Stores written before schema 6 have no native state: `last_known_state` reads UNKNOWN and the
  string property is used instead.
- Blessings from the removed ModelValidator are ModelBlessing artifacts like the Evaluator's.
"""

from __future__ import annotations

from aipipe_ops.lineage.orchestrators.base import Orchestrator, StoreTypes, prop, update_steps


class TfxLegacy(Orchestrator):
    name = "tfx-legacy"
    runs_orchestrator = "tfx"
    priority = 30
    claims = (f"s.type_name NOT LIKE 'system.%' AND s.type_name NOT LIKE 'components.%' "
              f"AND {prop('s.properties', 'run_id')} IS NOT NULL AND {prop('s.properties', 'component_id')} IS NOT NULL")
    run_context_types = ("run",)
    pipeline_context_types = ("pipeline",)

    def present(self, types: StoreTypes) -> bool:
        return "run" in types.contexts and "component_run" in types.contexts

    def derive_steps(self, con) -> None:
        update_steps(con, f"""
            SELECT s.execution_id,
                   {prop('s.properties', 'run_id')} AS run_id,
                   {prop('s.properties', 'component_id')} AS step,
                   regexp_extract(s.type_name, '([^.]+)$', 1) AS component,
                   {prop('s.properties', 'kfp_pod_name')} AS pod_name,
                   CAST(NULL AS VARCHAR) AS image,
                   CAST(NULL AS BIGINT) AS cached_from
            FROM steps s WHERE s.dialect = 'tfx-legacy'
        """)
        # The state lived in a string property before MLMD had last_known_state.
        con.execute(f"""
            UPDATE steps SET state = CASE lower({prop('properties', 'state')})
                    WHEN 'complete' THEN 'COMPLETE' WHEN 'cached' THEN 'CACHED' WHEN 'new' THEN 'NEW'
                    WHEN 'running' THEN 'RUNNING' WHEN 'failed' THEN 'FAILED' ELSE 'UNKNOWN' END
            WHERE dialect = 'tfx-legacy' AND state = 'UNKNOWN' AND {prop('properties', 'state')} IS NOT NULL
        """)

    def derive_runs(self, con, source: str) -> None:
        con.execute(f"""
            INSERT INTO runs (run_id, pipeline, orchestrator, namespace, created_at, context_id, workflow, source)
            WITH ctx AS (
                SELECT {prop('properties', 'run_id')} AS run_id, {prop('properties', 'pipeline_name')} AS pipeline,
                       min(context_id) AS context_id, min(created_at) AS created_at
                FROM mlmd_contexts WHERE type_name = 'run' GROUP BY ALL
            ),
            from_steps AS (
                SELECT run_id, any_value({prop('properties', 'pipeline_name')}) AS pipeline
                FROM steps WHERE dialect = 'tfx-legacy' AND run_id IS NOT NULL GROUP BY run_id
            )
            SELECT coalesce(c.run_id, s.run_id), coalesce(c.pipeline, s.pipeline), 'tfx', NULL, c.created_at,
                   c.context_id, NULL, ?
            FROM ctx c FULL OUTER JOIN from_steps s ON s.run_id = c.run_id
            WHERE coalesce(c.run_id, s.run_id) IS NOT NULL
        """, [source])


ORCHESTRATOR = TfxLegacy()
