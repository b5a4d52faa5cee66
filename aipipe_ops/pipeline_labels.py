"""Cost labels for KFP pipelines whose authors cannot change the cluster, and for the cloud jobs a step launches.

`add_cost_labels(pipeline_name)` is called at the end of a `@dsl.pipeline` function: it gives every task of the
pipeline being defined the pod labels `aipipe/pipeline` and `aipipe/step` (kfp-kubernetes `add_pod_label`), and
the environment variables below from the downward API. The KFP backend passes `add_pod_label` values as literal
Argo parameters (argocompiler/container.go, extendPodMetadata): a run-time placeholder such as
`dsl.PIPELINE_JOB_ID_PLACEHOLDER` would reach the pod unresolved, which is not a valid label value. So the run is
not labelled at compile time: it is found by the label KFP's API server puts on every run pod, `pipeline/runid`
(the cluster policy of stacks/pod_cost_labels.py copies it to `aipipe/run`). KFP backends before 2.14 keep one
pod label per task only (kubeflow/pipelines #12049).

`cloud_job_labels()` runs inside a step: it turns those environment variables into Google Cloud labels
(`aipipe-pipeline`, `aipipe-step`, `aipipe-run`) for BigQuery job labels, Dataflow job labels and Vertex AI
custom job labels, the way Vertex AI Pipelines hands `VERTEX_AI_PIPELINES_RUN_LABELS` to its components.

Layer 2 (facts about Google Cloud) of DESIGN.md: imports kfp and the Python standard library only.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

PIPELINE_LABEL = "aipipe/pipeline"
STEP_LABEL = "aipipe/step"
RUN_LABEL = "aipipe/run"
RUN_ID_LABEL = "pipeline/runid"  # set by the KFP API server on every run pod

# Environment variable -> the pod label it reads through the downward API (fieldRef).
ENV_FIELDS = {
    "AIPIPE_PIPELINE": f"metadata.labels['{PIPELINE_LABEL}']",
    "AIPIPE_STEP": f"metadata.labels['{STEP_LABEL}']",
    "AIPIPE_RUN": f"metadata.labels['{RUN_LABEL}']",
    "AIPIPE_RUN_ID": f"metadata.labels['{RUN_ID_LABEL}']",
}
# Google Cloud label key -> the environment variables that may hold its value, first non-empty wins.
CLOUD_LABELS = {
    "aipipe-pipeline": ("AIPIPE_PIPELINE",),
    "aipipe-step": ("AIPIPE_STEP",),
    "aipipe-run": ("AIPIPE_RUN", "AIPIPE_RUN_ID"),
}
VERTEX_RUN_LABELS_ENV = "VERTEX_AI_PIPELINES_RUN_LABELS"

_K8S_VALUE = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")


def kubernetes_label_value(text: str) -> str:
    """The first run of allowed characters in `text` (alphanumeric at both ends, <= 63), as the cluster policy
    derives it; "" when there is none."""
    match = _K8S_VALUE.search(text)
    return match.group(0) if match else ""


def gcp_label_value(text: str) -> str:
    """A Google Cloud label value: lowercase letters, digits, `_` and `-`, 63 characters at most."""
    return re.sub(r"[^a-z0-9_-]+", "-", text.lower())[:63].strip("-")


def add_cost_labels(pipeline_name: str, *, env: bool = True) -> list[str]:
    """Label every task of the pipeline being defined (call it last in the `@dsl.pipeline` function).

    Returns the names of the labelled tasks. Labels the pod already gets from the task itself (an earlier
    `add_pod_label` with the same key) are kept. With `env`, each task also gets ENV_FIELDS as downward-API
    environment variables, for `cloud_job_labels()`.
    """
    from kfp import kubernetes
    from kfp.dsl import pipeline_context

    pipeline = pipeline_context.Pipeline.get_default_pipeline()
    if pipeline is None:
        raise RuntimeError("add_cost_labels() must be called inside a @dsl.pipeline function")
    pipeline_value = kubernetes_label_value(pipeline_name)
    labelled = []
    for name, task in pipeline.tasks.items():
        existing = task.platform_config.get("kubernetes", {}).get("podMetadata", {}).get("labels", {})
        wanted = {PIPELINE_LABEL: pipeline_value, STEP_LABEL: kubernetes_label_value(name)}
        for key, value in wanted.items():
            if value and key not in existing:
                kubernetes.add_pod_label(task, key, value)
        if env:
            for env_name, field_path in ENV_FIELDS.items():
                kubernetes.use_field_path_as_env(task, env_name, field_path)
        labelled.append(name)
    return labelled


def cloud_job_labels(environ: Mapping[str, str] | None = None, *, include_vertex: bool = True) -> dict[str, str]:
    """The step's cost labels in Google Cloud form, for `QueryJobConfig(labels=...)`, Dataflow's `--labels`
    and `aiplatform.CustomJob(labels=...)`. Empty values are left out; with `include_vertex`, the labels Vertex
    AI Pipelines passes in VERTEX_AI_PIPELINES_RUN_LABELS (JSON) come along, ours winning on a clash."""
    environ = os.environ if environ is None else environ
    labels: dict[str, str] = {}
    if include_vertex and environ.get(VERTEX_RUN_LABELS_ENV):
        try:
            vertex = json.loads(environ[VERTEX_RUN_LABELS_ENV])
        except ValueError:
            vertex = {}
        if isinstance(vertex, dict):
            labels.update({str(k): str(v) for k, v in vertex.items()})
    for key, names in CLOUD_LABELS.items():
        value = next((gcp_label_value(environ[n]) for n in names if gcp_label_value(environ.get(n, ""))), "")
        if value:
            labels[key] = value
    return labels
