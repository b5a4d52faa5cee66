"""SQL fragments the rules share: reading MLMD property values the way every writer stores them."""

from __future__ import annotations


def number(column: str, key: str) -> str:
    """A numeric property as DOUBLE: TFX's ints (1), KFP v2's doubles (1.0), KFP's bools (0/1), booleans and
    numeric strings all read alike; a struct (e.g. ExampleAnomalies' per-split `blessed`) reads as NULL."""
    raw = f"json_extract({column}, '$.\"{key}\"')"
    return (f"(CASE json_type({raw}) WHEN 'BOOLEAN' THEN CASE WHEN {raw}::BOOLEAN THEN 1.0 ELSE 0.0 END "
            f"WHEN 'VARCHAR' THEN TRY_CAST({raw}->>'$' AS DOUBLE) "
            f"WHEN 'OBJECT' THEN NULL WHEN 'ARRAY' THEN NULL ELSE TRY_CAST({raw} AS DOUBLE) END)")


def text(column: str, key: str) -> str:
    return f"nullif(json_extract_string({column}, '$.\"{key}\"'), '')"


def has(column: str, key: str) -> str:
    return f"(json_extract({column}, '$.\"{key}\"') IS NOT NULL)"
