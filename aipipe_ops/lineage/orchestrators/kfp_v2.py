"""KFP v2: the backend's driver and launcher write MLMD (backend/src/v2/metadata, reference/lineage.md §3).

- Run: context `system.PipelineRun` named by the KFP run UUID (= pod label `pipeline/runid`), child of a
  `system.Pipeline` context named by pipelineInfo.name; custom properties namespace, pipeline_root.
- Every execution but the root DAG carries `parent_dag_id`; the root DAG execution is named `run/<run id>`. Following
  parent_dag_id to the root gives the run without reading one Association per execution (MLMD has no batch read
  of them). Executions whose chain does not end at such a root fall back to their associations.
- Steps: `task_name` (the DAG task key, e.g. `train-model-2`); container executions carry pod_name, image,
  namespace; a cache hit is a new execution in state CACHED with `cached_execution_id` (a string) and OUTPUT
  events pointing at the original's artifacts.
- The root DAG stays RUNNING for ever (the launcher never updates it): run states come from the other executions.
- Also written by TFX's KubeflowV2DagRunner (types `tfx.*`; ints arrive as doubles, handled where compared).
"""

from __future__ import annotations

from aipipe_ops.lineage.orchestrators.base import Orchestrator, StoreTypes, prop, update_steps

SYSTEM_EXECUTION_TYPES = ("system.ContainerExecution", "system.DAGExecution", "system.ImporterExecution",
                          "system.ImporterWorkspaceExecution")


class KfpV2(Orchestrator):
    name = "kfp-v2"
    runs_orchestrator = "kfp-v2"
    priority = 10
    claims = "s.type_name LIKE 'system.%'"
    run_context_types = ("system.PipelineRun",)
    pipeline_context_types = ("system.Pipeline",)
    runs_from_associations = True     # only as a fallback: parent_dag_id normally answers
    state_bearing = "s.type_name <> 'system.DAGExecution'"

    def present(self, types: StoreTypes) -> bool:
        return "system.PipelineRun" in types.contexts or bool(types.executions & set(SYSTEM_EXECUTION_TYPES))

    def derive_steps(self, con) -> None:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _kfp2 AS
            SELECT execution_id, name, type_name, properties,
                   TRY_CAST({prop('properties', 'parent_dag_id')} AS DOUBLE)::BIGINT AS parent
            FROM steps s WHERE s.dialect = 'kfp-v2'
        """)
        update_steps(con, f"""
            WITH RECURSIVE up(execution_id, node, depth) AS (
                SELECT execution_id, execution_id, 0 FROM _kfp2
                UNION ALL
                SELECT u.execution_id, k.parent, u.depth + 1
                FROM up u JOIN _kfp2 k ON k.execution_id = u.node
                WHERE k.parent IS NOT NULL AND u.depth < 64
            ),
            by_root AS (
                SELECT u.execution_id, any_value(substr(r.name, 5)) AS run_id
                FROM up u JOIN _kfp2 r ON r.execution_id = u.node
                WHERE r.parent IS NULL AND r.name LIKE 'run/%'
                GROUP BY u.execution_id
            ),
            by_context AS (
                SELECT a.execution_id, min(c.name) AS run_id
                FROM mlmd_associations a JOIN mlmd_contexts c USING (context_id)
                WHERE c.type_name = 'system.PipelineRun'
                GROUP BY a.execution_id
            )
            SELECT k.execution_id,
                   coalesce(r.run_id, c.run_id) AS run_id,
                   coalesce({prop('k.properties', 'task_name')}, {prop('k.properties', 'display_name')},
                            CASE WHEN k.name LIKE 'run/%' THEN 'root' END) AS step,
                   CASE WHEN k.type_name = 'system.DAGExecution' THEN 'dag'
                        WHEN k.type_name LIKE 'system.Importer%' THEN 'importer'
                        ELSE regexp_replace(coalesce({prop('k.properties', 'task_name')},
                                                     {prop('k.properties', 'display_name')}, ''), '-[0-9]+$', '')
                   END AS component,
                   {prop('k.properties', 'pod_name')} AS pod_name,
                   {prop('k.properties', 'image')} AS image,
                   TRY_CAST({prop('k.properties', 'cached_execution_id')} AS BIGINT) AS cached_from
            FROM _kfp2 k LEFT JOIN by_root r USING (execution_id) LEFT JOIN by_context c USING (execution_id)
        """)
        con.execute("DROP TABLE _kfp2")

    def derive_runs(self, con, source: str) -> None:
        con.execute(f"""
            INSERT INTO runs (run_id, pipeline, orchestrator, namespace, created_at, context_id, workflow, source)
            WITH ctx AS (
                SELECT rc.name AS run_id, rc.context_id, rc.created_at, rc.properties,
                       pc.name AS parent_pipeline
                FROM mlmd_contexts rc
                LEFT JOIN mlmd_parent_contexts pp ON pp.child_id = rc.context_id
                LEFT JOIN mlmd_contexts pc ON pc.context_id = pp.parent_id AND pc.type_name = 'system.Pipeline'
                WHERE rc.type_name = 'system.PipelineRun'
                QUALIFY row_number() OVER (PARTITION BY rc.context_id ORDER BY pc.name NULLS LAST) = 1
            ),
            from_steps AS (
                SELECT run_id, any_value({prop('properties', 'namespace')}) AS namespace
                FROM steps WHERE dialect = 'kfp-v2' AND run_id IS NOT NULL GROUP BY run_id
            )
            SELECT coalesce(c.run_id, s.run_id),
                   coalesce(c.parent_pipeline,
                            -- pipeline_root is <root>/<pipeline name>/<run id>[?query] (client.go GetPipeline)
                            nullif(regexp_extract(split_part({prop('c.properties', 'pipeline_root')}, '?', 1),
                                                  '([^/]+)/[^/]+/?$', 1), '')),
                   'kfp-v2',
                   coalesce({prop('c.properties', 'namespace')}, s.namespace),
                   c.created_at, c.context_id,
                   -- resource_name is meant to be the Argo workflow; KFP still writes a placeholder
                   CASE WHEN {prop('c.properties', 'resource_name')} <> 'run-resource'
                        THEN {prop('c.properties', 'resource_name')} END,
                   ?
            FROM ctx c FULL OUTER JOIN from_steps s ON s.run_id = c.run_id
        """, [source])


ORCHESTRATOR = KfpV2()
