"""How TFX's IR orchestrator shapes MLMD (lineage.md §5.1, §5.2): types, event paths, declared properties.

Contexts `pipeline`, `pipeline_run`, `node` and `execution_cache` carry no properties (everything is in names).
Execution types are component class paths with no declared properties (exec properties are custom). Artifact
types declare the standard artifacts' PROPERTIES and base types. Event paths are [key, index] pairs.
"""

from __future__ import annotations

_SPAN_SPLITS = {"span": "INT", "split_names": "STRING"}
ARTIFACT_TYPES: dict[str, tuple[dict[str, str], str | None]] = {
    "Examples": ({"span": "INT", "version": "INT", "split_names": "STRING"}, "DATASET"),
    "ExampleStatistics": (_SPAN_SPLITS, "STATISTICS"),
    "ExampleAnomalies": (_SPAN_SPLITS, None),
    "Schema": ({}, None),
    "TransformGraph": ({}, None),
    "Model": ({}, "MODEL"),
    "ModelRun": ({}, None),
    "ModelEvaluation": ({}, None),
    "ModelBlessing": ({}, None),
    "PushedModel": ({}, "MODEL"),
}


def artifact_type(type_name: str) -> tuple[dict[str, str], str | None]:
    return ARTIFACT_TYPES[type_name]


def event_path(key: str, index: int) -> list:
    return [key, index]
