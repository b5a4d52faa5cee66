"""TFX's portable (IR) orchestrator: LocalDagRunner, KubeflowDagRunner >= 1.0, Beam/Airflow runners
(tfx/orchestration/portable, reference/lineage.md §5.1, §5.4).

- Contexts: `pipeline` (pipeline name) parent of `pipeline_run` (the run id: the Argo workflow name on KFP, an
  ISO timestamp with LocalDagRunner), `node` (`<pipeline>.<node id>`), plus `execution_cache` (not read).
- Executions are typed by the component class path (`tfx.components.trainer.component.Trainer`); no property
  names their run or node. On KFP the container launcher records `kfp_pod_name`, and the pipeline_run is named
  by the Argo workflow (env WORKFLOW_ID), whose name starts every pod name of the workflow (`<workflow>-...`):
  the run is the longest pipeline_run name that prefixes the pod name, read without any store call. Elsewhere
  (LocalDagRunner), and for the node of every execution, the Associations are read: per node/run context or per
  execution, whichever takes fewer calls (MLMD has no batch read of Associations).
- Cache hits are new executions in state CACHED with OUTPUT events to the cached artifacts; the original is the
  earliest non-cached producer of those artifacts (derivations.py).
"""

from __future__ import annotations

from aipipe_ops.lineage.orchestrators.base import Orchestrator, StoreTypes, prop, update_steps


class Tfx(Orchestrator):
    name = "tfx"
    runs_orchestrator = "tfx"
    priority = 40
    # Whatever KFP did not write: component class paths, Resolver/Importer nodes, subpipeline begin/end nodes.
    claims = (f"s.type_name NOT LIKE 'system.%' AND s.type_name NOT LIKE 'components.%' "
              f"AND {prop('s.properties', 'run_id')} IS NULL")
    run_context_types = ("pipeline_run",)
    pipeline_context_types = ("pipeline",)
    node_context_types = ("node",)
    runs_from_associations = True

    def present(self, types: StoreTypes) -> bool:
        return "pipeline_run" in types.contexts or "node" in types.contexts

    def derive_steps(self, con) -> None:
        update_steps(con, f"""
            WITH membership AS (
                SELECT a.execution_id,
                       min(c.name) FILTER (WHERE c.type_name = 'pipeline_run') AS run_id,
                       min(c.name) FILTER (WHERE c.type_name = 'node') AS node,
                       min(c.name) FILTER (WHERE c.type_name = 'pipeline') AS pipeline
                FROM mlmd_associations a JOIN mlmd_contexts c USING (context_id)
                WHERE c.type_name IN ('pipeline_run', 'node', 'pipeline')
                GROUP BY a.execution_id
            ),
            -- <workflow>-<rest of the pod name>: every prefix ending before a '-' is a candidate run name
            by_pod AS (
                SELECT s.execution_id, arg_max(r.name, length(r.name)) AS run_id
                FROM (SELECT execution_id, string_split({prop('properties', 'kfp_pod_name')}, '-') AS parts
                      FROM steps WHERE dialect = 'tfx' AND {prop('properties', 'kfp_pod_name')} IS NOT NULL) s,
                     unnest(list_transform(range(1, len(s.parts)),
                                           i -> array_to_string(s.parts[1:i], '-'))) AS p(prefix)
                JOIN mlmd_contexts r ON r.type_name = 'pipeline_run' AND r.name = p.prefix
                GROUP BY s.execution_id
            ),
            run_pipeline AS (
                SELECT rc.name AS run_id, min(pc.name) AS pipeline
                FROM mlmd_contexts rc
                JOIN mlmd_parent_contexts pp ON pp.child_id = rc.context_id
                JOIN mlmd_contexts pc ON pc.context_id = pp.parent_id AND pc.type_name = 'pipeline'
                WHERE rc.type_name = 'pipeline_run'
                GROUP BY rc.name
            )
            SELECT s.execution_id, coalesce(m.run_id, b.run_id) AS run_id,
                   -- node context = <pipeline>.<node id>; node ids may themselves contain dots
                   CASE WHEN m.node IS NULL THEN regexp_extract(s.type_name, '([^.]+)$', 1)
                        WHEN coalesce(m.pipeline, p.pipeline) IS NOT NULL
                             AND starts_with(m.node, coalesce(m.pipeline, p.pipeline) || '.')
                        THEN substr(m.node, length(coalesce(m.pipeline, p.pipeline)) + 2)
                        ELSE regexp_replace(m.node, '^[^.]*\\.', '')
                   END AS step,
                   regexp_extract(s.type_name, '([^.]+)$', 1) AS component,
                   {prop('s.properties', 'kfp_pod_name')} AS pod_name,
                   CAST(NULL AS VARCHAR) AS image,
                   CAST(NULL AS BIGINT) AS cached_from
            FROM steps s LEFT JOIN membership m USING (execution_id) LEFT JOIN by_pod b USING (execution_id)
            LEFT JOIN run_pipeline p ON p.run_id = coalesce(m.run_id, b.run_id)
            WHERE s.dialect = 'tfx'
        """)

    def derive_runs(self, con, source: str) -> None:
        con.execute("""
            INSERT INTO runs (run_id, pipeline, orchestrator, namespace, created_at, context_id, workflow, source)
            WITH ctx AS (
                SELECT rc.name AS run_id, rc.context_id, rc.created_at, min(pc.name) AS pipeline
                FROM mlmd_contexts rc
                LEFT JOIN mlmd_parent_contexts pp ON pp.child_id = rc.context_id
                LEFT JOIN mlmd_contexts pc ON pc.context_id = pp.parent_id AND pc.type_name = 'pipeline'
                WHERE rc.type_name = 'pipeline_run'
                GROUP BY ALL
            ),
            from_steps AS (
                SELECT s.run_id, bool_or(s.pod_name IS NOT NULL) AS on_kfp,
                       min(c.name) FILTER (WHERE c.type_name = 'pipeline') AS pipeline
                FROM steps s
                LEFT JOIN mlmd_associations a USING (execution_id)
                LEFT JOIN mlmd_contexts c ON c.context_id = a.context_id AND c.type_name = 'pipeline'
                WHERE s.dialect = 'tfx' AND s.run_id IS NOT NULL
                GROUP BY s.run_id
            )
            SELECT coalesce(c.run_id, s.run_id), coalesce(c.pipeline, s.pipeline), 'tfx', NULL, c.created_at,
                   c.context_id,
                   -- on KFP the pipeline_run id is the Argo workflow name (env WORKFLOW_ID)
                   CASE WHEN s.on_kfp THEN coalesce(c.run_id, s.run_id) END,
                   ?
            FROM ctx c FULL OUTER JOIN from_steps s ON s.run_id = c.run_id
        """, [source])


ORCHESTRATOR = Tfx()
