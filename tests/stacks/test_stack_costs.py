"""Cost properties of both example stacks: allocation, labels, scale-to-zero, image pulls, budget."""

from __future__ import annotations

import importlib
import inspect
from decimal import Decimal

import pytest
import yaml
from stack_helpers import PROJECT_DIR

from stacks.cost_controls import money
from stacks.labels import STACK_LABEL

CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"


def stack_file(stack: str) -> dict:
    return yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())["config"]


def expected_labels(run) -> dict:
    config = run.config
    return {STACK_LABEL: run.stack, "team": config["aipipe:team"], "cost-center": config["aipipe:costCenter"]}


def label_parameter(type_token: str) -> str | None:
    """The argument through which a pulumi_gcp resource takes GCP labels, from its signature."""
    package, rest = type_token.split(":", 1)
    if package != "gcp":
        return None
    module_path, class_name = rest.split(":")
    module = importlib.import_module(f"pulumi_gcp.{module_path.split('/')[0]}")
    cls = getattr(module, class_name)
    assert cls.pulumi_type == type_token
    parameters = inspect.signature(cls._internal_init).parameters
    for name in ("resource_labels", "labels"):
        if name in parameters:
            return name
    return None


def test_gke_cost_allocation_is_on(example):
    (cluster,) = example.of_type(CLUSTER)
    assert cluster.inputs["costManagementConfig"] == {"enabled": True}


def test_every_gcp_resource_that_takes_labels_carries_the_cost_labels(example):
    labels = expected_labels(example)
    checked = []
    for resource in example.resources:
        if not resource.custom:
            continue
        parameter = label_parameter(resource.type)
        if parameter is None:
            continue
        camel = {"resource_labels": "resourceLabels", "labels": "labels"}[parameter]
        assert resource.inputs.get(camel) == labels, resource.urn
        checked.append(resource.type)
    assert {CLUSTER, "gcp:storage/bucket:Bucket", "gcp:bigquery/dataset:Dataset"} <= set(checked)


def test_node_vms_carry_the_cost_labels_so_billing_rows_do(example):
    labels = expected_labels(example)
    for pool in example.of_type(NODE_POOL):
        assert pool.inputs["nodeConfig"]["resourceLabels"] == labels, pool.name


def test_kubernetes_objects_of_the_stack_carry_the_cost_labels(example):
    labels = expected_labels(example)
    owned = [r for r in example.resources if r.custom and r.type.startswith("kubernetes:")
             and not r.type.endswith("Patch")]
    assert owned
    for resource in owned:
        assert labels.items() <= resource.inputs["metadata"]["labels"].items(), resource.urn
    (daemonset,) = example.of_type("kubernetes:apps/v1:DaemonSet")
    assert labels.items() <= daemonset.inputs["spec"]["template"]["metadata"]["labels"].items()


def test_accelerator_pools_scale_from_zero_unless_told_to_keep_nodes(example):
    config = stack_file(example.stack)
    for declared in config.get("aipipe:gpuPools", []):
        pool = example.resource(NODE_POOL, declared["name"]).inputs
        assert pool["autoscaling"]["totalMinNodeCount"] == declared.get("minNodes", 0) == 0
        assert pool["nodeConfig"]["spot"] is declared.get("spot", False)
    for declared in config.get("aipipe:tpuPools", []):
        pool = example.resource(NODE_POOL, declared["name"]).inputs
        if declared.get("minSlices", 0) == 0:
            assert pool["autoscaling"]["minNodeCount"] == 0
        else:  # prod keeps its v5e slice: node_count = VMs of one 2x4 slice of 4-chip VMs
            assert pool["nodeCount"] == 2


def test_dev_has_a_spot_gpu_pool_and_prod_an_a100_and_a_tpu_slice(stack_runs):
    dev_gpus = [p for p in stack_runs["dev"].of_type(NODE_POOL) if "guestAccelerators" in p.inputs["nodeConfig"]]
    assert [p.inputs["nodeConfig"]["spot"] for p in dev_gpus] == [True]
    assert dev_gpus[0].inputs["nodeConfig"]["guestAccelerators"][0]["type"] in ("nvidia-tesla-t4", "nvidia-l4")
    prod = {p.name: p.inputs for p in stack_runs["prod"].of_type(NODE_POOL)}
    gpu_types = {p["nodeConfig"]["guestAccelerators"][0]["type"] for p in prod.values()
                 if "guestAccelerators" in p["nodeConfig"]}
    assert gpu_types & {"nvidia-tesla-a100", "nvidia-h100-80gb"}
    tpu = [p for p in prod.values() if p["nodeConfig"]["machineType"].startswith("ct5lp")]
    assert tpu and tpu[0]["placementPolicy"]["type"] == "COMPACT"
    # zonal dev, regional prod
    assert stack_runs["dev"].of_type(CLUSTER)[0].inputs["location"].count("-") == 2
    assert stack_runs["prod"].of_type(CLUSTER)[0].inputs["location"].count("-") == 1


def test_every_pool_streams_images(example):
    for pool in example.of_type(NODE_POOL):
        assert pool.inputs["nodeConfig"]["gcfsConfig"] == {"enabled": True}, pool.name


def test_tfx_image_is_prepulled_onto_the_pools_that_run_tfx(example):
    config = stack_file(example.stack)
    (daemonset,) = example.of_type("kubernetes:apps/v1:DaemonSet")
    spec = daemonset.inputs["spec"]["template"]["spec"]
    version = config.get("aipipe:tfxVersion", "1.16.0")
    assert [c["image"] for c in spec["initContainers"]] == [f"gcr.io/tfx-oss-public/tfx:{version}"]
    (term,) = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    (expression,) = term["matchExpressions"]
    assert expression["key"] == "cloud.google.com/gke-nodepool"
    gpu_pools = [p["name"] for p in config.get("aipipe:gpuPools", [])]
    tpu_pools = [p["name"] for p in config.get("aipipe:tpuPools", [])]
    assert expression["values"] == ["system"] + gpu_pools  # TPU pools opt in with prepullTfx
    assert not set(tpu_pools) & set(expression["values"])
    # the GPU taint must not keep the pre-pull off GPU nodes
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    # the long-lived container asks for (almost) nothing: the pool is not held up by it
    (pause,) = spec["containers"]
    assert pause["resources"]["requests"] == {"cpu": "1m", "memory": "8Mi"}
    for container in spec["containers"] + spec["initContainers"]:
        assert container["securityContext"]["runAsNonRoot"] is True


def test_pipeline_root_deletes_old_artifacts_after_the_configured_days(example):
    (bucket,) = example.of_type("gcp:storage/bucket:Bucket")
    days = int(stack_file(example.stack).get("aipipe:artifactRetentionDays", 30))
    assert bucket.inputs["lifecycleRules"] == [{"action": {"type": "Delete"}, "condition": {"age": days}}]
    # deleted artifacts are not billed for a soft-delete window
    assert bucket.inputs["softDeletePolicy"]["retentionDurationSeconds"] == 0
    assert bucket.inputs["location"].lower() == example.outputs["region"]


def test_billing_export_dataset_outlives_the_stack(example):
    export = example.resource("gcp:bigquery/dataset:Dataset", "billing-export")
    assert export.inputs["datasetId"] == "billing_export"
    assert export.inputs["deleteContentsOnDestroy"] is False
    assert example.outputs["billingExportDataset"] == f"{example.config['gcp:project']}.billing_export"


def test_prod_meters_gke_usage_into_its_dataset_and_dev_does_not(stack_runs):
    prod = stack_runs["prod"]
    dataset = prod.resource("gcp:bigquery/dataset:Dataset", "usage-metering")
    export = prod.of_type(CLUSTER)[0].inputs["resourceUsageExportConfig"]
    assert export["bigqueryDestination"]["datasetId"] == dataset.inputs["datasetId"]
    assert export["enableResourceConsumptionMetering"] is True
    assert "resourceUsageExportConfig" not in stack_runs["dev"].of_type(CLUSTER)[0].inputs


def test_prod_budget_watches_the_stack_label_at_50_90_100_and_forecast_100(stack_runs):
    prod = stack_runs["prod"]
    (budget,) = prod.of_type("gcp:billing/budget:Budget")
    config = stack_file("prod")
    assert budget.inputs["billingAccount"] == config["aipipe:billingAccount"]
    amount = budget.inputs["amount"]["specifiedAmount"]
    assert amount == {"currencyCode": "USD", "units": config["aipipe:budgetAmount"], "nanos": 0}
    assert isinstance(amount["units"], str)
    rules = {(r["thresholdPercent"], r["spendBasis"]) for r in budget.inputs["thresholdRules"]}
    assert rules == {(0.5, "CURRENT_SPEND"), (0.9, "CURRENT_SPEND"), (1, "CURRENT_SPEND"), (1, "FORECASTED_SPEND")}
    budget_filter = budget.inputs["budgetFilter"]
    assert budget_filter["labels"] == {STACK_LABEL: "prod"}  # one label: the API takes a single pair
    (project,) = budget_filter["projects"]
    assert project.startswith("projects/") and project.split("/")[1].isdigit()  # a number, not the ID
    provider = prod.resource("pulumi:providers:gcp", "billing-budgets")
    assert prod.providers[budget.urn] == provider.urn
    assert provider.inputs["billingProject"] == prod.config["gcp:project"]
    assert provider.inputs["userProjectOverride"] in (True, "true")
    assert prod.outputs["budget"].startswith(f"billingAccounts/{config['aipipe:billingAccount']}/budgets/")


def test_dev_has_no_budget(stack_runs):
    assert stack_runs["dev"].of_type("gcp:billing/budget:Budget") == []
    assert stack_runs["dev"].outputs.get("budget") is None


@pytest.mark.parametrize("amount, units, nanos", [("15000", "15000", 0), ("1234.56", "1234", 560000000),
                                                  ("0.5", "0", 500000000)])
def test_budget_money_splits_units_and_nanos_exactly(amount, units, nanos):
    assert money(Decimal(amount), "EUR") == {"currency_code": "EUR", "units": units, "nanos": nanos}
