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
