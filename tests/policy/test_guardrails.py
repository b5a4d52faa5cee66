"""The guardrails (stacks/policy/guardrails.py) as plain functions over planned resources."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from aipipe_ops.pricing.plans.resource import PlannedResource, make_urn
from aipipe_ops.pricing.priced.inputs import UNKNOWN
from stacks.policy import guardrails as g

PROJECT_DIR = Path(__file__).resolve().parents[2]
LABELS = {"aipipe-stack": "prod", "team": "ml", "cost-center": "cc-1"}


def res(type_: str, name: str, inputs: dict, stack: str = "prod", custom: bool = True) -> PlannedResource:
    return PlannedResource(urn=make_urn(stack, "aipipe", None, type_, name), type=type_, name=name, inputs=inputs,
                           parent=None, custom=custom)


def pool(name="gpu", machine="g2-standard-8", stack="prod", **inputs) -> PlannedResource:
    node_config = {"machineType": machine, "serviceAccount": "nodes@p.iam.gserviceaccount.com",
                   "resourceLabels": dict(LABELS, **{"aipipe-stack": stack}), **inputs.pop("node_config", {})}
    return res(g.NODE_POOL, name, {"name": name, "nodeConfig": node_config, **inputs}, stack)


def settings(stack="prod", **kw) -> g.Settings:
    return g.Settings(stack=stack, project_dir=PROJECT_DIR, **kw)


def messages(violations):
    return [v.message for v in violations]


# -- Scale to zero ----------------------------------------------------------------------------------

@pytest.mark.parametrize("inputs,ok", [
    ({"autoscaling": {"totalMinNodeCount": 0, "totalMaxNodeCount": 4}}, True),
    ({"autoscaling": {"minNodeCount": 0, "maxNodeCount": 2}}, True),
    ({"autoscaling": {"totalMinNodeCount": 1, "totalMaxNodeCount": 4}}, False),
    ({"autoscaling": {"minNodeCount": 2, "maxNodeCount": 2}}, False),
    ({"nodeCount": 2}, False),
    ({"initialNodeCount": 1}, False),
    ({"nodeCount": 0}, True),
])
def test_gpu_pools_must_scale_to_zero(inputs, ok):
    violations = g.accelerator_pools_scale_to_zero(pool(**inputs), settings())
    assert (violations == []) == ok, messages(violations)


def test_tpu_slice_kept_up_is_a_violation_unless_allowed():
    tpu = pool("v5e", "ct5lp-hightpu-4t", nodeCount=2, placementPolicy={"type": "COMPACT", "tpuTopology": "2x4"})
    (violation,) = g.accelerator_pools_scale_to_zero(tpu, settings())
    assert "TPU pool v5e has a fixed size of 2 nodes" in violation.message and violation.urn == tpu.urn
    assert g.accelerator_pools_scale_to_zero(tpu, settings(warm_pools=frozenset({"v5e"}))) == []


def test_cpu_pools_and_attached_gpus():
    assert g.accelerator_pools_scale_to_zero(pool("cpu", "n2-standard-8", nodeCount=3), settings()) == []
    n1 = pool("t4", "n1-standard-8", nodeCount=1,
              node_config={"guestAccelerators": [{"type": "nvidia-tesla-t4", "count": 1}]})
    assert "GPU pool t4" in g.accelerator_pools_scale_to_zero(n1, settings())[0].message


# -- Dev stacks use spot ----------------------------------------------------------------------------

@pytest.mark.parametrize("stack,dev", [("dev", True), ("dev-alice", True), ("team.dev", True), ("prod", False),
                                       ("device-lab", False), ("staging", False)])
def test_dev_stack_names(stack, dev):
    assert settings(stack).dev == dev


def test_dev_accelerator_pools_use_spot():
    on_demand = pool(stack="dev", autoscaling={"minNodeCount": 0, "maxNodeCount": 1})
    (violation,) = g.dev_stacks_use_spot(on_demand, settings("dev"))
    assert "GPU pool gpu of dev stack dev uses on-demand VMs" in violation.message
    assert g.dev_stacks_use_spot(pool(stack="dev", node_config={"spot": True}), settings("dev")) == []
    assert g.dev_stacks_use_spot(pool(stack="dev", node_config={"preemptible": True}), settings("dev")) == []
    assert g.dev_stacks_use_spot(on_demand, settings("prod")) == []
    cpu = pool("system", "e2-standard-4", stack="dev", nodeCount=1)
    assert g.dev_stacks_use_spot(cpu, settings("dev")) == []
    assert g.dev_stacks_use_spot(cpu, settings("dev", dev_spot_all_pools=True)) != []


# -- Node service account ---------------------------------------------------------------------------

@pytest.mark.parametrize("account,ok", [
    ("nodes@p.iam.gserviceaccount.com", True),
    (UNKNOWN, True),  # computed by the update: the stack's own account
    (None, False),
    ("", False),
    ("default", False),
    ("123456789012-compute@developer.gserviceaccount.com", False),
])
def test_node_service_account(account, ok):
    subject = pool(node_config={"serviceAccount": account}, nodeCount=0)
    assert (g.node_service_account_not_default(subject, settings()) == []) == ok


def test_cluster_default_pool_and_autoprovisioning_accounts():
    kept = res(g.CLUSTER, "gke", {"location": "us-central1", "nodeConfig": {}})
    assert "default pool" in g.node_service_account_not_default(kept, settings())[0].message
    removed = res(g.CLUSTER, "gke", {"removeDefaultNodePool": True, "clusterAutoscaling": {
        "enabled": True, "autoProvisioningDefaults": {"serviceAccount": "1-compute@developer.gserviceaccount.com"}}})
    assert "autoProvisioningDefaults" in g.node_service_account_not_default(removed, settings())[0].message


# -- KFP UI -----------------------------------------------------------------------------------------

def service(name, spec_type, namespace="kubeflow", annotations=None):
    return res(g.K8S_SERVICE, name, {"metadata": {"name": name, "namespace": namespace,
                                                  "annotations": annotations or {}},
                                     "spec": {"type": spec_type, "ports": [{"port": 80}]}})


@pytest.mark.parametrize("subject,ok", [
    (service("ml-pipeline-ui", "ClusterIP"), True),
    (service("ml-pipeline-ui", "LoadBalancer"), False),
    (service("ml-pipeline-ui", "NodePort"), False),
    (service("ml-pipeline", "LoadBalancer"), False),
    (service("ml-pipeline-ui", "LoadBalancer", annotations={"networking.gke.io/load-balancer-type": "Internal"}), True),
    (service("grafana", "LoadBalancer", namespace="monitoring"), True),
])
def test_kfp_services_stay_inside_the_cluster(subject, ok):
    assert (g.kfp_ui_not_public(subject, settings()) == []) == ok


def test_ingress_to_the_ui_inverse_proxy_and_env_dev_install_are_violations():
    ingress = res(g.K8S_INGRESS, "ui", {"metadata": {"name": "ui", "namespace": "kubeflow"}, "spec": {"rules": [
        {"http": {"paths": [{"path": "/", "backend": {"service": {"name": "ml-pipeline-ui", "port": {"number": 80}}}}]}}]}})
    assert "routes to ml-pipeline-ui" in g.kfp_ui_not_public(ingress, settings())[0].message
    proxy = res("kubernetes:apps/v1:Deployment", "proxy", {"metadata": {"name": "proxy-agent", "namespace": "kubeflow"}})
    assert "inverse-proxy agent" in g.kfp_ui_not_public(proxy, settings())[0].message
    install = res("kubernetes:kustomize/v2:Directory", "kfp", {
        "directory": "github.com/kubeflow/pipelines/manifests/kustomize/env/dev?ref=2.17.0"}, custom=False)
    assert "env/platform-agnostic" in g.kfp_ui_not_public(install, settings())[0].message
    agnostic = replace(install, inputs={"directory": "github.com/kubeflow/pipelines/manifests/kustomize/"
                                                     "env/platform-agnostic?ref=2.17.0"})
    assert g.kfp_ui_not_public(agnostic, settings()) == []


# -- Labels -----------------------------------------------------------------------------------------

def test_labels_missing_wrong_or_present():
    bucket = res("gcp:storage/bucket:Bucket", "root", {"labels": LABELS})
    assert g.resources_carry_stack_labels(bucket, settings()) == []
    unlabelled = res("gcp:bigquery/dataset:Dataset", "ds", {"datasetId": "x"})
    assert "missing aipipe-stack, team, cost-center" in g.resources_carry_stack_labels(unlabelled, settings())[0].message
    wrong = res(g.CLUSTER, "gke", {"resourceLabels": dict(LABELS, **{"aipipe-stack": "dev"})})
    assert "aipipe-stack is 'dev', expected 'prod'" in g.resources_carry_stack_labels(wrong, settings())[0].message
    no_vm_labels = pool(node_config={"resourceLabels": {}}, nodeCount=0)
    assert "nodeConfig.resourceLabels missing" in g.resources_carry_stack_labels(no_vm_labels, settings())[0].message
    # Types that take no labels, Kubernetes patches and providers are not checked.
    assert g.resources_carry_stack_labels(res("gcp:projects/iAMMember:IAMMember", "m", {}), settings()) == []
    patch = res("kubernetes:core/v1:ConfigMapPatch", "p", {"metadata": {"name": "kfp-launcher"}})
    assert g.resources_carry_stack_labels(patch, settings()) == []
    namespace = res("kubernetes:core/v1:Namespace", "ns", {"metadata": {"name": "x", "labels": {}}})
    assert g.resources_carry_stack_labels(namespace, settings()) != []


# -- Budget -----------------------------------------------------------------------------------------

def test_prod_example_fits_its_budget(stack_plans):
    result = g.budget_covers_maximum(stack_plans["prod"].resources, settings())
    assert result.applicable and result.budget == Decimal("15000") and result.currency == "USD"
    assert result.monthly_max < result.budget
    assert result.violations == []


def test_stack_over_its_budget(over_budget_plan):
    """Pulumi.prod-over-budget.yaml is prod with four A100 nodes: 2 x 5403.14 more than prod's maximum."""
    result = g.budget_covers_maximum(over_budget_plan.resources, settings("prod-over-budget"))
    assert result.monthly_max == Decimal("19105.62244")
    (violation,) = result.violations
    assert violation.message.startswith("estimated monthly maximum 19105.62 USD (every pool at its autoscaling "
                                        "maximum) exceeds the stack's budget (budget) of 15000 USD")
    assert "largest: a100 10806.28, v5e-2x4 7048.00, system 1174.34" in violation.message


def test_budget_from_policy_config_and_stacks_without_one(stack_plans):
    assert g.budget_covers_maximum(stack_plans["prod"].resources, settings(budget=Decimal("20000"))).violations == []
    assert not g.budget_covers_maximum(stack_plans["dev"].resources, settings("dev")).applicable
    dev = g.budget_covers_maximum(stack_plans["dev"].resources, settings("dev", budget=Decimal("1000")))
    assert dev.monthly_max == Decimal("1068.12312792") and len(dev.violations) == 1


def test_unpriced_lines_make_the_budget_unprovable():
    resources = [res(g.CLUSTER, "gke", {"name": "gke", "location": "us-east5-a", "removeDefaultNodePool": True}),
                 pool("t4", "n1-standard-4", location="us-east5-a", cluster="gke", nodeCount=1,
                      node_config={"guestAccelerators": [{"type": "nvidia-tesla-t4", "count": 1}]})]
    result = g.budget_covers_maximum(resources, settings(budget=Decimal("100000")))
    (violation,) = result.violations
    assert violation.message.startswith("1 line cannot be priced") and "NVIDIA T4" in violation.message
    assert g.budget_covers_maximum(resources, settings(budget=Decimal("100000"), allow_unpriced=True)).violations == []


def test_budget_in_another_currency_is_a_violation(stack_plans):
    result = g.budget_covers_maximum(stack_plans["prod"].resources,
                                     settings(budget=Decimal("20000"), budget_currency="EUR"))
    assert "aipipe prices refresh --currency EUR" in result.violations[0].message


# -- The example stacks ------------------------------------------------------------------------------

def test_example_stacks_against_every_resource_guardrail(stack_plans):
    """dev passes; prod keeps its TPU slice up, which passes because Pulumi.prod.yaml lists it as warm."""
    from stacks.policy.pack import WARM_POOLS_KEY, settings_for, stack_config

    assert stack_config(PROJECT_DIR, "prod").get(WARM_POOLS_KEY) == ["v5e-2x4"]
    found = {}
    for name, plan in stack_plans.items():
        for stack_settings, label in ((settings_for(name, {}, PROJECT_DIR), name), (settings(name), f"{name} bare")):
            found[label] = [v.policy for r in plan.resources for check in g.RESOURCE_GUARDRAILS
                            for v in check(r, stack_settings)]
    assert found["dev"] == [] and found["dev bare"] == []
    assert found["prod"] == []
    # Without the stack's own allowance the same slice is a violation.
    assert found["prod bare"] == ["accelerator-pools-scale-to-zero"]
