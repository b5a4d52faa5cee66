"""How the KFP v2 backend shapes MLMD (lineage.md §3): types, event paths, property values.

All KFP types are registered schemaless (no declared properties, no base type); every value is a custom
property. Event paths are a single key step (the input/output name as the task sees it). Values convert as the
backend's converter does: string -> string_value, number -> double_value (ints in a pipeline's metadata arrive
as numbers), bool -> int_value 0/1, dict -> struct_value.
"""

from __future__ import annotations


def artifact_type(type_name: str) -> tuple[dict[str, str], str | None]:
    """(declared properties, base type) of an artifact type: KFP declares none."""
    return {}, None


def event_path(key: str, index: int) -> list:
    return [key]
