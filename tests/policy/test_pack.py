"""The CrossGuard wrappers (stacks/policy/pack.py), driven as the analyzer drives them but without the CLI:
props arrive wrapped in pulumi-policy's unknown-checking proxy, config through get_config()."""

from __future__ import annotations

from pathlib import Path

import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from stacks.policy import pack

PROJECT_DIR = Path(__file__).resolve().parents[2]
OPTIONS = PolicyResourceOptions(protect=False, ignore_changes=[], delete_before_replace=None, aliases=[],
                                custom_timeouts=None, additional_secret_outputs=[])


def by_name():
    return {policy.name: policy for policy in pack.policies(PROJECT_DIR)}


def run_resource_policy(name, resource_type, props, urn, config=None):
    found = []
    args = ResourceValidationArgs(resource_type, unknown_checking_proxy(props), urn, urn.rpartition("::")[2], OPTIONS,
                                  None, config or {})
    by_name()[name].validate(args, lambda message, urn=None: found.append((message, urn)))
    return found


def test_every_policy_is_mandatory_and_named():
    policies = by_name()
    assert set(policies) == {"budget-covers-maximum", "accelerator-pools-scale-to-zero", "dev-stacks-use-spot",
                             "node-service-account-not-default", "kfp-ui-not-public", "resources-carry-stack-labels"}
    assert {p.enforcement_level for p in policies.values()} == {EnforcementLevel.MANDATORY}


def test_unknown_values_in_preview_do_not_skip_the_policy():
    """The node account is an output of the stack's own Account: unknown in preview, and not a violation; a
    fixed-size GPU pool in the same props is still caught, although its `cluster` input is unknown too."""
    props = {"cluster": UNKNOWN_STRING_VALUE, "nodeCount": 2,
             "nodeConfig": {"machineType": "a2-highgpu-1g", "serviceAccount": UNKNOWN_STRING_VALUE}}
    with pytest.raises(UnknownValueError):
        unknown_checking_proxy(props)["cluster"]  # what a naive policy would trip on
    urn = "urn:pulumi:prod::aipipe::aipipe:gke:NodePools$gcp:container/nodePool:NodePool::a100"
    assert run_resource_policy("node-service-account-not-default", "gcp:container/nodePool:NodePool", props, urn) == []
    (found,) = run_resource_policy("accelerator-pools-scale-to-zero", "gcp:container/nodePool:NodePool", props, urn)
    assert "GPU pool a100 has a fixed size of 2 nodes" in found[0] and found[1] == urn


def test_policy_config_allows_warm_pools_and_picks_dev_stacks():
    props = {"name": "a100", "nodeCount": 1, "nodeConfig": {"machineType": "a2-highgpu-1g"}}
    urn = "urn:pulumi:sandbox::aipipe::gcp:container/nodePool:NodePool::a100"
    assert run_resource_policy("accelerator-pools-scale-to-zero", "gcp:container/nodePool:NodePool", props, urn)
    assert run_resource_policy("accelerator-pools-scale-to-zero", "gcp:container/nodePool:NodePool", props, urn,
                               {"warmPools": ["a100"]}) == []
    assert run_resource_policy("dev-stacks-use-spot", "gcp:container/nodePool:NodePool", props, urn) == []
    assert run_resource_policy("dev-stacks-use-spot", "gcp:container/nodePool:NodePool", props, urn,
                               {"devStackPattern": "^sandbox$"})


def test_stack_config_can_allow_warm_pools(tmp_path):
    (tmp_path / "Pulumi.lab.yaml").write_text("config:\n  aipipe:warmAcceleratorPools:\n    - v5e\n")
    settings = pack.settings_for("lab", {}, tmp_path)
    assert settings.warm_pools == frozenset({"v5e"})
    assert pack.settings_for("other", {"warmPools": "a,b"}, tmp_path).warm_pools == frozenset({"a", "b"})


def test_budget_stack_policy(stack_plans, over_budget_plan):
    def violations(plan, config):
        resources = [PolicyResource(r.type, unknown_checking_proxy(r.inputs), r.urn, r.name, OPTIONS, None, None,
                                    [], {}) for r in plan.resources]
        found = []
        by_name()["budget-covers-maximum"].validate(StackValidationArgs(resources, config),
                                                    lambda message, urn=None: found.append(message))
        return found

    assert violations(stack_plans["prod"], {}) == []
    (message,) = violations(over_budget_plan, {})
    assert "exceeds the stack's budget (budget) of 15000 USD" in message
    assert violations(over_budget_plan, {"budget": "25000"}) == []
