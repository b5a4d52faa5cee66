"""The closed `kind` vocabulary of the artifacts table, and how each orchestrator's type names map onto it.

Every consumer (graph queries, audit rules, billing's per-model cost) asks "is this a model / a dataset /
a blessing?" through `kind`, never through type names, so a new orchestrator only has to extend the tables below.
"""

from __future__ import annotations

from aipipe_ops.vocabulary import ARTIFACT_KINDS as KINDS

# Exact type names, after stripping the orchestrator's prefix (`system.`, `google.`, `tfx.`, `kubeflow.org/alpha/`).
_BY_NAME = {
    # KFP v2 system types (kfp.dsl.types.artifact_types)
    "Dataset": "dataset",
    "Model": "model",
    "Metrics": "metrics",
    "ClassificationMetrics": "metrics",
    "SlicedClassificationMetrics": "metrics",
    "HTML": "other",
    "Markdown": "other",
    "Artifact": "other",
    # google-cloud-pipeline-components types
    "VertexModel": "model",
    "BQMLModel": "model",
    "UnmanagedContainerModel": "model",
    "VertexDataset": "dataset",
    "BQTable": "dataset",
    "RegressionMetrics": "metrics",
    "ForecastingMetrics": "metrics",
    "VertexEndpoint": "other",
    "VertexBatchPredictionJob": "other",
    # TFX standard artifacts (tfx/types/standard_artifacts.py), bare (IR/legacy) or `tfx.`-prefixed (KFP v2 runner)
    "Examples": "dataset",
    "ExternalArtifact": "dataset",
    "ExampleStatistics": "statistics",
    "ExampleAnomalies": "anomalies",
    "ExampleValidationMetrics": "metrics",
    "ExamplesDiff": "statistics",
    "Schema": "schema",
    "TransformGraph": "transform",
    "TransformCache": "transform",
    "ModelRun": "other",
    "ModelEvaluation": "metrics",
    "ModelBlessing": "blessing",
    "InfraBlessing": "blessing",
    "PushedModel": "pushed_model",
    "HyperParameters": "other",
    "TunerResults": "other",
    "InferenceResult": "other",
    # Kubeflow 0.6-1.1 metadata SDK (kubeflow.org/alpha/*)
    "data_set": "dataset",
    "model": "model",
    "metrics": "metrics",
}
_PREFIXES = ("system.", "google.", "tfx.", "kubeflow.org/alpha/")
# MLMD's own base types (ArtifactType.base_type) when the name says nothing.
_BY_BASE_TYPE = {"DATASET": "dataset", "MODEL": "model", "METRICS": "metrics", "STATISTICS": "statistics"}
# KFP v1 component output types are free text ("CSV", "TFRecord", "Model", "NoType"...): a last, lower-case guess.
_BY_WORD = (("pushedmodel", "pushed_model"), ("blessing", "blessing"), ("anomal", "anomalies"),
            ("statistic", "statistics"), ("schema", "schema"), ("metric", "metrics"), ("model", "model"),
            ("dataset", "dataset"), ("examples", "dataset"), ("csv", "dataset"), ("tfrecord", "dataset"),
            ("parquet", "dataset"))


def kind_of(type_name: str | None, base_type: str | None = None) -> str:
    """The kind of an artifact type; `other` when nothing identifies it."""
    if not type_name:
        return _BY_BASE_TYPE.get(base_type or "", "other")
    name = type_name
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    if name in _BY_NAME:
        return _BY_NAME[name]
    if base_type in _BY_BASE_TYPE:
        return _BY_BASE_TYPE[base_type]
    lowered = name.lower().replace("_", "").replace(" ", "")
    if lowered == "notype":
        return "other"
    for word, kind in _BY_WORD:
        if word in lowered:
            return kind
    return "other"
