"""The three plan readers give the same resource list for the same stack: the program run offline, its
`pulumi preview --json` output and its `pulumi stack export` output (shapes of reference/provisioning.md
s4.4: PreviewDigest steps with newState ResourceV3; deployment v3 resources)."""

from __future__ import annotations

import json

import pytest

from aipipe_ops.errors import InputError
from aipipe_ops.pricing.plans.plan_file import read_plan_file
from aipipe_ops.pricing.plans.preview_json import read_preview
from aipipe_ops.pricing.plans.stack_export import read_stack_export

SECRET_SIG = "4dabf18193072939515e22adb298388d"


def _with_engine_noise(inputs: dict) -> dict:
    """What the engine adds to state inputs that a program never sets."""
    return {**inputs, "__defaults": ["name"]} if inputs else inputs


def preview_document(resources, stack="dev") -> dict:
    """A PreviewDigest as `pulumi preview --json` prints it for a first deployment of `resources`."""
    provider_urn = f"urn:pulumi:{stack}::aipipe::pulumi:providers:gcp::default_10_2_0"
    steps = [{"op": "create", "urn": provider_urn, "newState": {
        "urn": provider_urn, "custom": True, "type": "pulumi:providers:gcp", "inputs": {"version": "10.2.0"}}}]
    for r in resources:
        steps.append({"op": "create", "urn": r.urn, "provider": f"{provider_urn}::04da6b54-80e4-46f7-96ec-b56ff0331ba9",
                      "newState": {"urn": r.urn, "custom": r.custom, "type": r.type, "parent": r.parent or "",
                                   "inputs": _with_engine_noise(r.inputs), "outputs": {}}})
    gone = f"urn:pulumi:{stack}::aipipe::gcp:compute/disk:Disk::old-disk"
    steps.append({"op": "delete", "urn": gone, "oldState": {"urn": gone, "type": "gcp:compute/disk:Disk"}})
    return {"config": {"aipipe:location": "us-central1-a"}, "steps": steps,
            "changeSummary": {"create": len(steps) - 1, "delete": 1}, "duration": 1234567, "diagnostics": []}


def export_document(resources, stack="dev") -> dict:
    """`pulumi stack export` of a stack holding `resources`, plus a default provider and a pending delete."""
    provider_urn = f"urn:pulumi:{stack}::aipipe::pulumi:providers:gcp::default_10_2_0"
    states = [{"urn": provider_urn, "custom": True, "id": "b2f3", "type": "pulumi:providers:gcp",
               "inputs": {"version": "10.2.0"}, "outputs": {"version": "10.2.0"}}]
    for r in resources:
        inputs = _with_engine_noise(r.inputs)
        inputs = {k: ({SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "v1:abc"} if v == "[secret]"
                      else v) for k, v in inputs.items()}
        states.append({"urn": r.urn, "custom": r.custom, "id": f"{r.name}-id" if r.custom else "",
                       "type": r.type, "inputs": inputs, "outputs": {**inputs, "selfLink": "https://x"},
                       "parent": r.parent or "", "provider": f"{provider_urn}::b2f3" if r.custom else "",
                       "dependencies": [], "propertyDependencies": {}})
    replaced = dict(states[-1], delete=True, id="old-id")
    states.append(replaced)
    return {"version": 3, "deployment": {
        "manifest": {"time": "2026-11-20T10:00:00Z", "magic": "x", "version": "v3.272.0"},
        "secrets_providers": {"type": "passphrase", "state": {"salt": "v1:x"}},
        "resources": states, "pending_operations": []}}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_three_readers_give_the_same_resources(plans, stack):
    offline = plans[stack].resources
    assert read_preview(preview_document(offline, stack)) == offline
    assert read_stack_export(export_document(offline, stack)) == offline


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_plan_files_price_like_the_stack(plans, estimates, book, tmp_path, stack):
    from aipipe_ops.pricing.estimate import estimate_resources

    for kind, document in (("preview", preview_document(plans[stack].resources, stack)),
                           ("export", export_document(plans[stack].resources, stack))):
        path = tmp_path / f"{stack}-{kind}.json"
        path.write_text(json.dumps(document))
        plan = read_plan_file(path)
        assert plan.stack == (stack if stack != "h100" else "offline") and plan.project == "aipipe"
        assert plan.source.startswith("pulumi preview --json" if kind == "preview" else "pulumi stack export")
        estimate = estimate_resources(plan.resources, book)
        assert estimate.totals.monthly_max == estimates[stack].totals.monthly_max


def test_the_documented_tiny_preview():
    """The example of reference/provisioning.md s4.4, which carries no `custom` flag."""
    document = {"steps": [{"op": "create", "urn": "urn:pulumi:dev::gke-ml::gcp:container/nodePool:NodePool::gpu",
                           "newState": {"type": "gcp:container/nodePool:NodePool",
                                        "inputs": {"nodeConfig": {"machineType": "g2-standard-8"}}}}],
                "changeSummary": {"create": 1}}
    (resource,) = read_preview(document)
    assert (resource.name, resource.type, resource.custom) == ("gpu", "gcp:container/nodePool:NodePool", True)
    assert resource.inputs == {"nodeConfig": {"machineType": "g2-standard-8"}}


def test_replaced_resources_appear_once_and_deleted_ones_not_at_all():
    urn = "urn:pulumi:prod::aipipe::gcp:container/nodePool:NodePool::gpu"
    state = {"urn": urn, "custom": True, "type": "gcp:container/nodePool:NodePool",
             "inputs": {"nodeConfig": {"machineType": "a2-highgpu-2g"}}}
    old = dict(state, inputs={"nodeConfig": {"machineType": "a2-highgpu-1g"}})
    document = {"steps": [
        {"op": "create-replacement", "urn": urn, "oldState": old, "newState": state},
        {"op": "replace", "urn": urn, "oldState": old, "newState": state},
        {"op": "delete-replaced", "urn": urn, "oldState": old},
        {"op": "same", "urn": urn.replace("gpu", "cpu"), "newState": dict(state, urn=urn.replace("gpu", "cpu"))},
        {"op": "read", "urn": urn.replace("gpu", "ext"), "newState": dict(state, urn=urn.replace("gpu", "ext"))},
    ]}
    assert [(r.name, r.inputs["nodeConfig"]["machineType"]) for r in read_preview(document)] == \
        [("gpu", "a2-highgpu-2g"), ("cpu", "a2-highgpu-2g")]


def test_secrets_read_as_secret_and_plaintext_is_not_leaked():
    urn = "urn:pulumi:dev::aipipe::gcp:container/nodePool:NodePool::gpu"
    document = {"version": 3, "deployment": {"resources": [{"urn": urn, "custom": True, "type":
                "gcp:container/nodePool:NodePool", "inputs": {"nodeConfig": {"machineType": {
                    SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270", "plaintext": "\"n2-standard-8\""}}}}]}}
    (resource,) = read_stack_export(document)
    assert resource.inputs == {"nodeConfig": {"machineType": "[secret]"}}


def test_unknown_export_versions_and_shapes_are_refused(tmp_path):
    with pytest.raises(InputError, match="version 3"):
        read_stack_export({"version": 4, "deployment": {"resources": []}})
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"resources": []}))
    with pytest.raises(InputError, match="neither `pulumi preview --json`"):
        read_plan_file(path)
    path.write_text("{not json")
    with pytest.raises(InputError, match="is not JSON"):
        read_plan_file(path)
    with pytest.raises(InputError, match="not a Pulumi URN"):
        read_preview({"steps": [{"op": "create", "newState": {"urn": "nope", "type": "x"}}]})
