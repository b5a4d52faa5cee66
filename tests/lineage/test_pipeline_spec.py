"""A task's requests read from a compiled KFP pipeline spec (lineage/sources/pipeline_spec.py), on the shape the KFP
SDK compiles (kubeflow/pipelines sdk/python/test_data/pipelines/pipeline_with_resource_spec.yaml)."""

from __future__ import annotations

import pytest

from aipipe_ops.lineage.sources.pipeline_spec import compiled_spec, quantity, task_requests

SPEC = {
    "components": {
        "comp-ingestion": {"executorLabel": "exec-ingestion"},
        "comp-trainer": {"executorLabel": "exec-trainer"},
        "comp-condition-1": {"dag": {"tasks": {"push": {"componentRef": {"name": "comp-push"},
                                                        "taskInfo": {"name": "push"}}}}},
        "comp-push": {"executorLabel": "exec-push"},
    },
    "deploymentSpec": {"executors": {
        "exec-ingestion": {"container": {"image": "gcr.io/my-project/my-ingestor"}},
        "exec-trainer": {"container": {"image": "gcr.io/my-project/my-fancy-trainer", "resources": {
            "accelerator": {"count": "1", "resourceCount": "1", "resourceType": "tpu-v3", "type": "tpu-v3"},
            "cpuLimit": 4.0, "cpuRequest": 2.0, "memoryLimit": 15.032385536, "memoryRequest": 4.294967296,
            "resourceCpuLimit": "4", "resourceCpuRequest": "2", "resourceMemoryLimit": "14Gi",
            "resourceMemoryRequest": "4Gi"}}},
        "exec-push": {"container": {"image": "gcr.io/my-project/pusher", "resources": {
            "cpuLimit": 0.5, "memoryLimit": 1.0, "accelerator": {"type": "NVIDIA_TESLA_T4", "count": "2"}}}},
    }},
    "root": {"dag": {"tasks": {
        "ingestion": {"componentRef": {"name": "comp-ingestion"}, "taskInfo": {"name": "ingestion"}},
        "trainer": {"componentRef": {"name": "comp-trainer"}, "taskInfo": {"name": "trainer"}},
        "condition-1": {"componentRef": {"name": "comp-condition-1"}, "taskInfo": {"name": "condition-1"}},
    }}},
}


def test_requests_of_every_container_task_nested_dags_included():
    got = task_requests(SPEC)
    assert got["trainer"] == {"cpu": 2.0, "memory": 4 * 2 ** 30, "gpu": 0.0, "tpu": 1.0}
    # no resources stated: no accelerator (0), CPU and memory unknown
    assert got["ingestion"] == {"gpu": 0.0, "tpu": 0.0}
    # only limits (the deprecated floats, memory in GB): the limit is the request, as in Kubernetes
    assert got["push"] == {"cpu": 0.5, "memory": 1e9, "gpu": 2.0, "tpu": 0.0}
    assert "condition-1" not in got
    assert task_requests(None) == {} and task_requests({}) == {}


@pytest.mark.parametrize("text, value", [("500m", 0.5), ("2", 2.0), ("4Gi", 4 * 2 ** 30), ("16384Mi", 16 * 2 ** 30),
                                         ("1.5G", 1.5e9), (3, 3.0), ("", None), ("lots", None)])
def test_quantities(text, value):
    assert quantity(text) == value


def test_the_api_form_with_a_platform_spec_is_read_too():
    """The KFP API serves a spec compiled with a platform spec as {pipeline_spec, platform_spec} (api_util.go
    YamlStringToPipelineSpecStruct), for runs and pipeline versions alike."""
    wrapped = {"pipeline_spec": SPEC, "platform_spec": {"platforms": {"kubernetes": {"deploymentSpec": {}}}}}
    assert task_requests(wrapped) == task_requests(SPEC) != {}
    assert compiled_spec(wrapped) is SPEC and compiled_spec(SPEC) is SPEC
    assert compiled_spec({}) is None and compiled_spec(None) is None
