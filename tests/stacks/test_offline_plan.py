"""aipipe_ops.pricing.plans.offline: the offline stack evaluation `aipipe estimate` shares with these tests."""

from __future__ import annotations

import shutil

import pytest
from stack_helpers import BASE_CONFIG, PROJECT_DIR

from aipipe_ops.errors import ConfigError, InputError
from aipipe_ops.pricing.plans import PlannedResource, evaluate_stack, run_stack
from aipipe_ops.pricing.plans.normalised_inputs import normalise
from aipipe_ops.pricing.plans.resource import STACK_TYPE, make_urn, qualified_type


def test_returns_every_registered_resource_with_engine_shaped_urns(stack_runs):
    run = stack_runs["dev"]
    resources = run.resources
    assert all(isinstance(r, PlannedResource) for r in resources)
    stack = resources[0]
    assert (stack.type, stack.name, stack.parent, stack.custom) == (STACK_TYPE, "aipipe-dev", None, False)
    assert stack.urn == "urn:pulumi:dev::aipipe::pulumi:pulumi:Stack::aipipe-dev"
    by_urn = {r.urn: r for r in resources}
    assert len(by_urn) == len(resources)
    for resource in resources[1:]:
        parent = by_urn[resource.parent]  # every parent is itself in the list
        assert resource.urn.startswith("urn:pulumi:dev::aipipe::")
        expected = resource.type if parent.type == STACK_TYPE else f"{qualified_type(parent.urn)}${resource.type}"
        assert qualified_type(resource.urn) == expected
        assert resource.urn.endswith(f"::{resource.name}")


def test_components_are_not_custom_and_inputs_use_wire_names(stack_runs):
    run = stack_runs["dev"]
    assert run.resource("aipipe:gke:Cluster", "cluster").custom is False
    assert run.resource("kubernetes:kustomize/v2:Directory", "kfp-platform-agnostic").custom is False
    pool = run.resource("gcp:container/nodePool:NodePool", "system")
    assert pool.custom is True
    assert pool.urn == "urn:pulumi:dev::aipipe::aipipe:gke:NodePools$gcp:container/nodePool:NodePool::system"
    # camelCase keys, map keys verbatim, whole numbers as ints (the wire only has doubles)
    assert pool.inputs["nodeConfig"]["machineType"] == "e2-standard-4"
    assert pool.inputs["nodeConfig"]["resourceLabels"]["aipipe-stack"] == "dev"
    assert pool.inputs["autoscaling"]["totalMaxNodeCount"] == 3
    assert type(pool.inputs["autoscaling"]["totalMaxNodeCount"]) is int


def test_repeated_runs_in_one_process_give_the_same_plan(stack_runs):
    again = evaluate_stack(PROJECT_DIR, "dev")
    assert again == stack_runs["dev"].resources
    assert evaluate_stack(PROJECT_DIR, "prod") == stack_runs["prod"].resources


def test_apply_chains_resolve_to_plausible_values(stack_runs):
    outputs = stack_runs["prod"].outputs
    assert outputs["nodeServiceAccount"] == "aipipe-prod-nodes@my-ml-prod.iam.gserviceaccount.com"
    assert "server: https://" in outputs["kubeconfig"] and "certificate-authority-data: " in outputs["kubeconfig"]
    assert None not in outputs.values()


def test_a_config_mapping_runs_without_any_stack_file():
    run = run_stack(PROJECT_DIR, config=BASE_CONFIG)
    assert run.stack == "offline"
    assert run.resources[0].urn == "urn:pulumi:offline::aipipe::pulumi:pulumi:Stack::aipipe-offline"
    assert run.resource("gcp:container/cluster:Cluster", "gke").inputs["name"] == "aipipe-offline"


def test_config_overrides_the_stack_file():
    run = run_stack(PROJECT_DIR, "dev", {"aipipe:gpuPools": [], "aipipe:kfpVersion": "2.16.1"})
    pools = {p.name for p in run.of_type("gcp:container/nodePool:NodePool")}
    assert pools == {"system"}
    assert run.config["aipipe:location"] == "us-central1-a"  # from Pulumi.dev.yaml
    assert run.config["aipipe:releaseChannel"] == "REGULAR"  # from Pulumi.yaml defaults
    assert run.config["aipipe:gpuPools"] == "[]"  # passed on the way the CLI passes it


def test_needs_no_pulumi_cli_or_plugins(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing to find on PATH
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "no-plugins"))
    assert shutil.which("pulumi") is None
    assert len(evaluate_stack(PROJECT_DIR, "dev")) > 30


def test_a_copy_of_the_project_runs_its_own_program(tmp_path, stack_runs):
    copy = tmp_path / "project"
    shutil.copytree(PROJECT_DIR / "stacks", copy / "stacks", ignore=shutil.ignore_patterns("__pycache__", "policy"))
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
        shutil.copy(PROJECT_DIR / name, copy / name)
    labels = copy / "stacks" / "labels.py"
    labels.write_text(labels.read_text().replace('STACK_LABEL = "aipipe-stack"', 'STACK_LABEL = "copied-stack"'))
    copied = evaluate_stack(copy, "dev")
    cluster = next(r for r in copied if r.type == "gcp:container/cluster:Cluster")
    assert "copied-stack" in cluster.inputs["resourceLabels"]
    # and the original is itself again afterwards
    original = evaluate_stack(PROJECT_DIR, "dev")
    assert original == stack_runs["dev"].resources


def test_missing_stack_file_and_project_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="Pulumi.nope.yaml: no such stack file"):
        evaluate_stack(PROJECT_DIR, "nope")
    with pytest.raises(InputError, match="no Pulumi.yaml"):
        evaluate_stack(tmp_path, "dev")
    with pytest.raises(ConfigError, match="needs a stack name"):
        evaluate_stack(PROJECT_DIR)


def test_program_config_errors_come_out_as_config_errors():
    with pytest.raises(ConfigError, match=r"aipipe:tpuPools\[0\]\.zone"):
        evaluate_stack(PROJECT_DIR, "prod", {"aipipe:tpuPools": [
            {"name": "tpu", "machineType": "ct6e-standard-4t", "topology": "2x2", "zone": "us-central1-a"}]})


def test_secrets_are_blinded_and_wire_doubles_become_ints():
    secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "hunter2"}
    assert (normalise({"a": secret, "b": [1.0, 0.5], "c": {"d": 2.0}}, keep_internal=True)
            == {"a": "[secret]", "b": [1, 0.5], "c": {"d": 2}})


def test_urns_of_nested_resources_carry_every_ancestor_type_but_not_the_stack():
    stack = make_urn("dev", "aipipe", None, STACK_TYPE, "aipipe-dev")
    component = make_urn("dev", "aipipe", stack, "aipipe:kfp:KubeflowPipelines", "kfp")
    child = make_urn("dev", "aipipe", component, "kubernetes:kustomize/v2:Directory", "kfp-platform-agnostic")
    grandchild = make_urn("dev", "aipipe", child, "kubernetes:apps/v1:Deployment", "kubeflow/ml-pipeline")
    assert component == "urn:pulumi:dev::aipipe::aipipe:kfp:KubeflowPipelines::kfp"
    assert grandchild == ("urn:pulumi:dev::aipipe::aipipe:kfp:KubeflowPipelines$kubernetes:kustomize/v2:Directory"
                          "$kubernetes:apps/v1:Deployment::kubeflow/ml-pipeline")
