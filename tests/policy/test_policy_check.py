"""Issue 17 item 2: `aipipe policy check` runs every policy of stacks/policy over the offline plan, without the
Pulumi CLI, and fails (exit 1) on a mandatory violation. Each policy has a stack (or a plan) made to violate it:
the ones a config can trigger are stack files in tests/policy/stacks; the ones the program never produces (it is
secure by default) are plans derived from dev's offline plan, written as `pulumi preview --json` output."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import PROJECT_DIR

STACKS = Path(__file__).parent / "stacks"
POLICIES = {"budget-covers-maximum", "accelerator-pools-scale-to-zero", "dev-stacks-use-spot",
            "node-service-account-not-default", "kfp-ui-not-public", "resources-carry-stack-labels"}


@pytest.fixture
def policy_check(run_cli):
    def run(*args):
        return run_cli("policy", "check", "--project-dir", PROJECT_DIR, "--format", "json", *args)
    return run


def _violations(out: str) -> dict[str, list[dict]]:
    data = json.loads(out)
    assert set(data["policies"]) == POLICIES  # every policy of the pack ran
    result: dict[str, list[dict]] = {}
    for v in data["violations"]:
        result.setdefault(v["policy"], []).append(v)
    return result


@pytest.mark.parametrize("stack", ["dev", "prod", str(STACKS / "Pulumi.dev-ok.yaml")])
def test_example_stacks_pass(policy_check, stack):
    code, out, err = policy_check("--stack", stack)
    assert code == 0, err
    assert _violations(out) == {}


@pytest.mark.parametrize("file, policy, needle", [
    ("Pulumi.prod-over-budget.yaml", "budget-covers-maximum", "exceeds the stack's budget"),
    ("Pulumi.staging-warm-gpu.yaml", "accelerator-pools-scale-to-zero", "l4-spot"),
    ("Pulumi.dev-on-demand.yaml", "dev-stacks-use-spot", "l4-spot"),
])
def test_stack_made_to_violate_a_policy_fails(policy_check, file, policy, needle):
    code, out, err = policy_check("--stack", STACKS / file)
    assert code == 1 and f"1 mandatory policy violation: {policy}" in err, err
    violations = _violations(out)
    assert set(violations) == {policy}
    assert all(v["enforcementLevel"] == "mandatory" for v in violations[policy])
    assert any(needle in v["message"] for v in violations[policy])


def _preview(resources) -> dict:
    return {"steps": [{"op": "create", "urn": r.urn, "newState": {"urn": r.urn, "type": r.type, "custom": r.custom,
                                                                  "inputs": r.inputs, "parent": r.parent or ""}}
                      for r in resources]}


def _mutated(resources, type_, change):
    out = []
    for r in resources:
        out.append(replace(r, inputs=change(json.loads(json.dumps(r.inputs)))) if r.type == type_ else r)
    return out


def _default_sa(inputs):
    inputs["nodeConfig"]["serviceAccount"] = "123456789012-compute@developer.gserviceaccount.com"
    return inputs


def _strip_labels(inputs):
    inputs["nodeConfig"]["resourceLabels"].pop("cost-center")
    return inputs


def _public_ui(resources):
    from aipipe_ops.pricing.plans.resource import PlannedResource, make_urn

    parent = next(r for r in resources if r.type == "aipipe:kfp:KubeflowPipelines")
    labels = next(r for r in resources if r.type.endswith("NetworkPolicy")).inputs["metadata"]["labels"]
    service = PlannedResource(urn=make_urn("dev", "aipipe", parent.urn, "kubernetes:core/v1:Service", "ui-lb"),
                              type="kubernetes:core/v1:Service", name="ui-lb", parent=parent.urn, custom=True,
                              inputs={"metadata": {"name": "ml-pipeline-ui", "namespace": "kubeflow", "labels": labels},
                                      "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}})
    return resources + [service]


@pytest.mark.parametrize("policy, make, needle", [
    ("node-service-account-not-default",
     lambda rs: _mutated(rs, "gcp:container/nodePool:NodePool", _default_sa), "nodeConfig.serviceAccount"),
    ("resources-carry-stack-labels",
     lambda rs: _mutated(rs, "gcp:container/nodePool:NodePool", _strip_labels), "cost-center"),
    ("kfp-ui-not-public", _public_ui, "Service kubeflow/ml-pipeline-ui is a LoadBalancer"),
])
def test_plan_made_to_violate_a_policy_fails(policy_check, tmp_path, policy, make, needle):
    from aipipe_ops.pricing.targets import load_plan

    plan = load_plan("dev", PROJECT_DIR)
    path = tmp_path / "preview.json"
    path.write_text(json.dumps(_preview(make(plan.resources))))
    code, out, err = policy_check("--plan", path)
    assert code == 1, err
    violations = _violations(out)
    assert set(violations) == {policy}
    assert any(needle in v["message"] for v in violations[policy])


def test_table_and_markdown_name_policy_and_resource(run_cli):
    code, out, _ = run_cli("policy", "check", "--project-dir", PROJECT_DIR, "--stack",
                           STACKS / "Pulumi.staging-warm-gpu.yaml")
    assert code == 1
    assert "[mandatory]  accelerator-pools-scale-to-zero  (gcp:container/nodePool:NodePool: l4-spot)" in out
    code, out, _ = run_cli("policy", "check", "--project-dir", PROJECT_DIR, "--stack", "dev", "--format", "markdown")
    assert code == 0 and "[not applicable]" in out and "budget-covers-maximum" in out


def test_a_folder_without_the_pack_is_one_line(run_cli, tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: x\nruntime: python\n")
    (tmp_path / "Pulumi.s.yaml").write_text("config: {}\n")
    from aipipe_ops.pricing.policy_check import load_pack
    from aipipe_ops.errors import InputError

    with pytest.raises(InputError, match="no policy pack"):
        load_pack(tmp_path)
