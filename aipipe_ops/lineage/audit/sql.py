"""SQL fragments the rules share: reading MLMD property values the way every writer stores them."""

from __future__ import annotations


def number(column: str, key: str) -> str:
    """A numeric property as DOUBLE: TFX's ints (1), KFP v2's doubles (1.0), KFP's bools (0/1), booleans and
    numeric strings all read alike; a struct (e.g. ExampleAnomalies' per-split `blessed`) reads as NULL."""
    raw = f"json_extract({column}, '$.\"{key}\"')"
    return (f"(CASE json_type({raw}) WHEN 'BOOLEAN' THEN CASE WHEN {raw}::BOOLEAN THEN 1.0 ELSE 0.0 END "
            f"WHEN 'VARCHAR' THEN TRY_CAST({raw}->>'$' AS DOUBLE) "
            f"WHEN 'OBJECT' THEN NULL WHEN 'ARRAY' THEN NULL ELSE TRY_CAST({raw} AS DOUBLE) END)")


def has(column: str, key: str) -> str:
    return f"(json_extract({column}, '$.\"{key}\"') IS NOT NULL)"


def is_push(column: str) -> str:
    """A PushedModel's properties say it was pushed: `pushed` is not 0 (TFX's Pusher writes 0, or false, when it
    declined); absent reads as pushed, since KFP-native pushers write no verdict."""
    return f"coalesce({number(column, 'pushed')}, 1) <> 0"


# What counts as a push, for every rule that asks: an execution that output a PushedModel whose `pushed` is not 0
# (absent reads as pushed: KFP-native pushers write no verdict). One row per pushing execution.
PUSHES = f"""
    SELECT e.execution_id AS pusher, min(e.artifact_id) AS pushed_id, any_value(a.uri) AS pushed_uri,
           any_value(s.run_id) AS run_id, any_value(coalesce(s.step, s.component)) AS step
    FROM events e JOIN artifacts a USING (artifact_id) JOIN steps s USING (execution_id)
    WHERE e.direction = 'output' AND a.kind = 'pushed_model'
      AND {is_push('a.properties')}
    GROUP BY e.execution_id
"""


# What counts as releasing a model, for the rules about shipped models: a non-cached execution that outputs a
# PushedModel that was pushed (TFX Pusher, KFP's TFX runner), or that takes a model as input and either is named
# like a push/registration/deployment step (KFP v2 custom components: `push-model`, `register-model`,
# `deploy-...`, `upload-...`) or outputs a Vertex model or endpoint (google-cloud-pipeline-components'
# ModelUploadOp / ModelDeployOp). A declined push (`pushed = 0`) is not a release. One row per releasing execution;
# `models` are its model inputs, else the models and pushed models it output.
RELEASE_WORDS = "push|deploy|regist|upload|publish|release|serving"
RELEASES = f"""
    SELECT s.execution_id AS releaser, any_value(s.run_id) AS run_id,
           any_value(coalesce(s.step, s.component)) AS step,
           coalesce(list(DISTINCT e.artifact_id ORDER BY e.artifact_id)
                        FILTER (WHERE e.direction = 'input' AND a.kind = 'model'),
                    list(DISTINCT e.artifact_id ORDER BY e.artifact_id)
                        FILTER (WHERE e.direction = 'output' AND a.kind IN ('model', 'pushed_model'))) AS models,
           list(DISTINCT e.artifact_id ORDER BY e.artifact_id)
               FILTER (WHERE e.direction = 'input' AND a.kind IN ('metrics', 'blessing')) AS evaluations
    FROM steps s JOIN events e USING (execution_id) JOIN artifacts a USING (artifact_id)
    WHERE coalesce(s.state, '') <> 'CACHED'
    GROUP BY s.execution_id
    HAVING bool_or(e.direction = 'output' AND a.kind = 'pushed_model' AND {is_push('a.properties')})
        OR (NOT bool_or(e.direction = 'output' AND a.kind = 'pushed_model')
            AND bool_or(e.direction = 'input' AND a.kind = 'model')
            AND (regexp_matches(lower(coalesce(any_value(s.step), '') || ' ' || coalesce(any_value(s.component), '')),
                                '{RELEASE_WORDS}')
                 OR bool_or(e.direction = 'output' AND (a.type_name LIKE '%VertexModel'
                                                        OR a.type_name LIKE '%VertexEndpoint'))))
"""


def table_has_rows(con, table: str) -> bool:
    """Whether a workspace table exists and holds rows (tables of a later engine, e.g. billing's run_costs, are read
    by SQL only: the lineage package never imports billing)."""
    exists = con.execute(f"SELECT count(*) FROM information_schema.tables WHERE table_name = '{table}'").fetchone()[0]
    return bool(exists) and con.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]
