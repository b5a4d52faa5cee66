"""Compile-time cost labels (aipipe_ops.pipeline_labels): a real pipeline compiled by the real KFP SDK, its
platform spec read back; and the Google Cloud labels a step puts on the jobs it launches."""

# No `from __future__ import annotations`: KFP reads the component signatures as real types.

import json
import re

import pytest
import yaml
from kfp import compiler, dsl
from kfp import kubernetes as kfp_kubernetes

from aipipe_ops.pipeline_labels import (ENV_FIELDS, add_cost_labels, cloud_job_labels, gcp_label_value,
                                            kubernetes_label_value)

LONG = "feature-engineering-" * 4 + "x"


@dsl.component(base_image="python:3.11")
def prep(x: int) -> int:
    return x


@dsl.component(base_image="python:3.11")
def train(x: int) -> int:
    return x


@dsl.pipeline(name="penguin-training")
def labelled_pipeline(n: int = 1):
    first = prep(x=n)
    named = train(x=first.output).set_display_name("train").set_caching_options(False)
    kfp_kubernetes.add_pod_label(named, "aipipe/step", "custom-step")  # the author's own label is kept
    with dsl.ParallelFor([1, 2]):
        prep(x=n)
    add_cost_labels("penguin-training")


def _compile(pipeline, tmp_path) -> tuple[dict, dict]:
    path = tmp_path / "pipeline.yaml"
    compiler.Compiler().compile(pipeline, str(path))
    spec, platform = yaml.safe_load_all(path.read_text())
    return spec, platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]


def test_every_task_gets_pipeline_and_step_labels(tmp_path):
    spec, executors = _compile(labelled_pipeline, tmp_path)
    tasks = dict(spec["root"]["dag"]["tasks"])
    for group in spec["components"].values():
        tasks.update(group.get("dag", {}).get("tasks", {}))
    labelled = {}
    for task in tasks.values():
        executor = spec["components"][task["componentRef"]["name"]].get("executorLabel")
        if executor:
            labelled[task["taskInfo"]["name"]] = executors[executor]["podMetadata"]["labels"]
    assert set(labelled) == {"prep", "train", "prep-2"}
    assert labelled["prep"] == {"aipipe/pipeline": "penguin-training", "aipipe/step": "prep"}
    assert labelled["prep-2"] == {"aipipe/pipeline": "penguin-training", "aipipe/step": "prep-2"}
    assert labelled["train"] == {"aipipe/pipeline": "penguin-training", "aipipe/step": "custom-step"}


def test_every_task_reads_its_cost_labels_from_the_downward_api(tmp_path):
    _, executors = _compile(labelled_pipeline, tmp_path)
    for executor in executors.values():
        fields = {e["name"]: e["fieldPath"] for e in executor["fieldPathAsEnv"]}
        assert fields == ENV_FIELDS
    assert ENV_FIELDS["AIPIPE_RUN_ID"] == "metadata.labels['pipeline/runid']"


def test_outside_a_pipeline_it_says_so():
    with pytest.raises(RuntimeError, match="inside a @dsl.pipeline"):
        add_cost_labels("x")


def test_label_values():
    assert kubernetes_label_value(LONG) == LONG[:63].rstrip("-")
    assert len(kubernetes_label_value(LONG)) <= 63
    assert kubernetes_label_value("-StatisticsGen ") == "StatisticsGen"
    assert gcp_label_value("StatisticsGen") == "statisticsgen"
    assert gcp_label_value("a.b/c") == "a-b-c"
    assert len(gcp_label_value(LONG)) <= 63


def test_cloud_job_labels_in_google_cloud_form():
    environ = {"AIPIPE_PIPELINE": "Penguin-Training", "AIPIPE_STEP": "StatisticsGen", "AIPIPE_RUN": "",
               "AIPIPE_RUN_ID": "123e4567-e89b-12d3-a456-426655440000"}
    labels = cloud_job_labels(environ)
    assert labels == {"aipipe-pipeline": "penguin-training", "aipipe-step": "statisticsgen",
                      "aipipe-run": "123e4567-e89b-12d3-a456-426655440000"}
    for key, value in labels.items():  # valid as BigQuery / Dataflow / Vertex job labels
        assert re.fullmatch(r"[a-z][a-z0-9_-]{0,62}", key) and re.fullmatch(r"[a-z0-9_-]{0,63}", value)


def test_cloud_job_labels_carry_vertex_run_labels_and_skip_empty_values():
    environ = {"VERTEX_AI_PIPELINES_RUN_LABELS": json.dumps({"vertex-ai-pipelines-run-billing-id": "42"}),
               "AIPIPE_STEP": LONG}
    labels = cloud_job_labels(environ)
    assert labels["vertex-ai-pipelines-run-billing-id"] == "42"
    assert len(labels["aipipe-step"]) <= 63 and "aipipe-run" not in labels and "aipipe-pipeline" not in labels
    assert "vertex-ai-pipelines-run-billing-id" not in cloud_job_labels(environ, include_vertex=False)
    assert cloud_job_labels({"VERTEX_AI_PIPELINES_RUN_LABELS": "not json"}) == {}
