"""The accelerator matrix: valid GPU/TPU pool shapes become the right node pools; invalid ones are
refused before any resource exists, each with a message naming its config key and what is allowed."""

from __future__ import annotations

import pytest
from stack_helpers import BASE_CONFIG, PROJECT_DIR, raw_config

from aipipe_ops.errors import ConfigError
from aipipe_ops.gcp import accelerators, tpus
from aipipe_ops.pricing.plans import run_stack
from stacks.config import load_config

NODE_POOL = "gcp:container/nodePool:NodePool"

# One pool of each valid shape, all in us-central1 (zones that offer each TPU there).
VALID_GPU_POOLS = [
    {"name": "t4x2", "gpuType": "nvidia-tesla-t4", "machineType": "n1-standard-8", "gpuCount": 2, "maxNodes": 2},
    {"name": "v100x8", "gpuType": "nvidia-tesla-v100", "machineType": "n1-highmem-64", "gpuCount": 8},
    {"name": "l4x2", "gpuType": "nvidia-l4", "machineType": "g2-standard-24", "spot": True, "maxNodes": 3},
    {"name": "a100x4", "gpuType": "nvidia-tesla-a100", "machineType": "a2-highgpu-4g", "gpuCount": 4},
    {"name": "a100-80", "gpuType": "nvidia-a100-80gb", "zones": ["us-central1-a"]},
    {"name": "h100", "gpuType": "nvidia-h100-80gb", "machineType": "a3-highgpu-8g", "spot": True},
]
VALID_TPU_POOLS = [
    {"name": "v5e-single", "machineType": "ct5lp-hightpu-4t", "topology": "2x2", "zone": "us-central1-a",
     "maxSlices": 3},
    {"name": "v5e-4x4", "machineType": "ct5lp-hightpu-4t", "topology": "4x4", "chips": 16,
     "zone": "us-central1-a", "minSlices": 1},
    {"name": "v5e-8x8-idle", "machineType": "ct5lp-hightpu-4t", "topology": "8x8", "zone": "us-central1-a",
     "spot": True},
    {"name": "v5p-2x2x2", "machineType": "ct5p-hightpu-4t", "topology": "2x2x2", "zone": "us-central1-a",
     "minSlices": 1},
    {"name": "v6e-8t", "machineType": "ct6e-standard-8t", "topology": "2x4", "zone": "us-central1-b"},
]
# name -> (machine type, GPUs per node) the pool must end up with
EXPECTED_GPU = {"t4x2": ("n1-standard-8", 2), "v100x8": ("n1-highmem-64", 8), "l4x2": ("g2-standard-24", 2),
                "a100x4": ("a2-highgpu-4g", 4), "a100-80": ("a2-ultragpu-1g", 1), "h100": ("a3-highgpu-8g", 8)}
# name -> (multi-host?, VMs per slice)
EXPECTED_TPU = {"v5e-single": (False, 1), "v5e-4x4": (True, 4), "v5e-8x8-idle": (True, 16),
                "v5p-2x2x2": (True, 2), "v6e-8t": (False, 1)}


@pytest.fixture(scope="module")
def matrix_run():
    config = dict(BASE_CONFIG, **{"aipipe:gpuPools": VALID_GPU_POOLS, "aipipe:tpuPools": VALID_TPU_POOLS})
    return run_stack(PROJECT_DIR, config=config)


@pytest.mark.parametrize("pool", VALID_GPU_POOLS, ids=lambda p: p["name"])
def test_valid_gpu_pool_gets_family_count_taint_driver_and_scales_from_zero(matrix_run, pool):
    inputs = matrix_run.resource(NODE_POOL, pool["name"]).inputs
    machine_type, gpus = EXPECTED_GPU[pool["name"]]
    node = inputs["nodeConfig"]
    assert node["machineType"] == machine_type
    gpu = accelerators.GPU_TYPES[pool["gpuType"]]
    assert gpu.fits(node["machineType"])
    assert node["guestAccelerators"] == [{
        "type": pool["gpuType"], "count": gpus,
        "gpuDriverInstallationConfig": {"gpuDriverVersion": "DEFAULT"}}]
    assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"} in node["taints"]
    assert inputs["autoscaling"]["totalMinNodeCount"] == 0
    assert inputs["autoscaling"]["totalMaxNodeCount"] == pool.get("maxNodes", 1)
    assert inputs["initialNodeCount"] == 0
    assert node["spot"] is pool.get("spot", False)
    # Spot capacity is found anywhere in the region; on-demand spreads evenly.
    assert inputs["autoscaling"]["locationPolicy"] == ("ANY" if pool.get("spot") else "BALANCED")
    if "zones" in pool:
        assert inputs["nodeLocations"] == pool["zones"]


@pytest.mark.parametrize("pool", VALID_TPU_POOLS, ids=lambda p: p["name"])
def test_valid_tpu_pool_gets_topology_node_count_zone_and_taint(matrix_run, pool):
    inputs = matrix_run.resource(NODE_POOL, pool["name"]).inputs
    multi_host, vms = EXPECTED_TPU[pool["name"]]
    machine = tpus.TPU_MACHINE_TYPES[pool["machineType"]]
    # chips, VMs and topology agree: every VM of the slice holds chips_per_vm chips
    assert vms * machine.chips_per_vm == tpus.topology_chips(pool["topology"])
    assert inputs["nodeConfig"]["machineType"] == pool["machineType"]
    assert inputs["nodeLocations"] == [pool["zone"]]
    assert pool["zone"] in machine.zones
    assert {"key": "google.com/tpu", "value": "present", "effect": "NO_SCHEDULE"} in inputs["nodeConfig"]["taints"]
    assert "guestAccelerators" not in inputs["nodeConfig"]
    assert inputs["nodeConfig"]["spot"] is pool.get("spot", False)
    if multi_host:
        assert inputs["placementPolicy"] == {"type": "COMPACT", "tpuTopology": pool["topology"]}
        if pool.get("minSlices") == 1:
            assert inputs["nodeCount"] == vms
            assert "autoscaling" not in inputs
        else:  # scales the whole slice to zero when idle, and back to all its VMs
            assert "nodeCount" not in inputs
            assert inputs["autoscaling"] == {"minNodeCount": 0, "maxNodeCount": vms}
    else:
        assert "placementPolicy" not in inputs
        assert inputs["autoscaling"] == {"minNodeCount": pool.get("minSlices", 0),
                                         "maxNodeCount": pool.get("maxSlices", 1)}


def test_v4_slice_in_the_only_zone_that_offers_it():
    config = dict(BASE_CONFIG, **{"aipipe:location": "us-central2-b", "aipipe:tpuPools": [
        {"name": "v4-32", "machineType": "ct4p-hightpu-4t", "topology": "2x2x4", "zone": "us-central2-b",
         "minSlices": 1}]})
    inputs = run_stack(PROJECT_DIR, config=config).resource(NODE_POOL, "v4-32").inputs
    assert inputs["nodeCount"] == 4
    assert inputs["placementPolicy"]["tpuTopology"] == "2x2x4"


def _gpu(**fields):
    return {"aipipe:gpuPools": [{"name": "gpu", **fields}]}


def _tpu(**fields):
    return {"aipipe:tpuPools": [{"name": "tpu", **fields}]}


# (id, config overrides, key the message must name, text that says what is allowed)
INVALID = [
    ("unknown-gpu-type", _gpu(gpuType="nvidia-tesla-k80"), "aipipe:gpuPools[0].gpuType", "allowed: nvidia-tesla-t4"),
    ("l4-on-n1", _gpu(gpuType="nvidia-l4", machineType="n1-standard-8"), "aipipe:gpuPools[0].machineType",
     "nvidia-l4 runs on G2 machine types (g2-standard-4"),
    ("a100-on-g2", _gpu(gpuType="nvidia-tesla-a100", machineType="g2-standard-8"), "aipipe:gpuPools[0].machineType",
     "g2-standard-8 is a G2 type carrying nvidia-l4"),
    ("t4-on-e2", _gpu(gpuType="nvidia-tesla-t4", machineType="e2-standard-8"), "aipipe:gpuPools[0].machineType",
     "runs on N1 machine types (n1-*"),
    ("count-not-carried", _gpu(gpuType="nvidia-tesla-a100", machineType="a2-highgpu-2g", gpuCount=1),
     "aipipe:gpuPools[0].gpuCount", "carries exactly 2"),
    ("h100-count", _gpu(gpuType="nvidia-h100-80gb", machineType="a3-highgpu-8g", gpuCount=4),
     "aipipe:gpuPools[0].gpuCount", "allowed: 8"),
    ("n1-count", _gpu(gpuType="nvidia-tesla-t4", gpuCount=3), "aipipe:gpuPools[0].gpuCount", "attaches 1, 2, 4"),
    ("driver", _gpu(gpuType="nvidia-l4", driverVersion="NEWEST"), "aipipe:gpuPools[0].driverVersion",
     "allowed: DEFAULT, LATEST, INSTALLATION_DISABLED"),
    ("gpu-min-above-max", _gpu(gpuType="nvidia-l4", minNodes=3, maxNodes=2), "aipipe:gpuPools[0].minNodes",
     "must be at most maxNodes"),
    ("gpu-zone-other-region", _gpu(gpuType="nvidia-l4", zones=["europe-west4-a"]), "aipipe:gpuPools[0].zones",
     "allowed: zones of us-central1"),
    ("unknown-tpu", _tpu(machineType="ct3-hightpu-4t", topology="2x2", zone="us-central1-a"),
     "aipipe:tpuPools[0].machineType", "allowed: ct4p-hightpu-4t"),
    ("impossible-topology", _tpu(machineType="ct5lp-hightpu-4t", topology="3x3", zone="us-central1-a"),
     "aipipe:tpuPools[0].topology", "allowed: 2x2 (single host) or 2x4, 4x4"),
    ("3d-topology-on-v5e", _tpu(machineType="ct5lp-hightpu-4t", topology="2x2x2", zone="us-central1-a"),
     "aipipe:tpuPools[0].topology", "cannot form 2x2x2"),
    ("1-chip-vm-topology", _tpu(machineType="ct5lp-hightpu-1t", topology="2x2", zone="us-central1-a"),
     "aipipe:tpuPools[0].topology", "ct5lp-hightpu-1t (1 chip per VM) cannot form 2x2"),
    ("8-chip-vm-multi-host", _tpu(machineType="ct5lp-hightpu-8t", topology="4x4", zone="us-central1-a"),
     "aipipe:tpuPools[0].topology", "allowed: 2x4 (single host)"),
    ("chips-disagree", _tpu(machineType="ct5lp-hightpu-4t", topology="4x4", chips=8, zone="us-central1-a"),
     "aipipe:tpuPools[0].chips", "topology 4x4 has 16 chips"),
    ("tpu-zone-not-offered", _tpu(machineType="ct5lp-hightpu-4t", topology="2x4", zone="us-central1-b"),
     "aipipe:tpuPools[0].zone", "(in us-central1: us-central1-a)"),
    ("v4-outside-us-central2", _tpu(machineType="ct4p-hightpu-4t", topology="2x2x1", zone="us-central1-a"),
     "aipipe:tpuPools[0].zone", "allowed: us-central2-b"),
    ("tpu-zone-other-region", _tpu(machineType="ct5lp-hightpu-4t", topology="2x4", zone="us-west4-a"),
     "aipipe:tpuPools[0].zone", "not in the cluster's region us-central1"),
    ("multi-host-two-slices", _tpu(machineType="ct5lp-hightpu-4t", topology="4x4", zone="us-central1-a",
                                   maxSlices=2), "aipipe:tpuPools[0].maxSlices", "allowed: 1"),
    ("tpu-min-above-max", _tpu(machineType="ct5lp-hightpu-4t", topology="2x2", zone="us-central1-a",
                               minSlices=3, maxSlices=1), "aipipe:tpuPools[0].minSlices", "must be at most maxSlices"),
    ("system-min-above-max", {"aipipe:systemPool": {"minNodes": 4, "maxNodes": 2}}, "aipipe:systemPool.minNodes",
     "must be at most maxNodes"),
    ("system-pool-on-gpu-machine", {"aipipe:systemPool": {"machineType": "g2-standard-8"}},
     "aipipe:systemPool.machineType", "CPU machine type such as e2-standard-4"),
    ("budget-without-account", {"aipipe:budgetAmount": "1000"}, "aipipe:billingAccount",
     "needs the billing account it watches"),
    ("duplicate-pool-names", {"aipipe:gpuPools": [{"name": "gpu", "gpuType": "nvidia-l4"},
                                                  {"name": "gpu", "gpuType": "nvidia-l4"}]},
     "aipipe:gpuPools[1].name", "must be unique"),
    ("misspelt-field", _gpu(gpuTyp="nvidia-l4"), "aipipe:gpuPools[0].gpuTyp", "allowed fields: name, gpuType"),
]


@pytest.mark.parametrize("overrides, key, allowed", [case[1:] for case in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_configuration_names_key_and_allowed_values(overrides, key, allowed):
    config = dict(BASE_CONFIG, **overrides)
    with pytest.raises(ConfigError) as error:
        load_config(raw_config(config), project=config["gcp:project"], stack="test")
    message = str(error.value)
    assert f"{key}: " in message
    assert allowed in message


@pytest.mark.parametrize("case", ["impossible-topology", "budget-without-account"])
def test_invalid_stack_fails_before_any_resource(case, monkeypatch):
    from aipipe_ops.pricing.plans import mock_cloud

    created = []
    original = mock_cloud.PlausibleCloud.new_resource
    monkeypatch.setattr(mock_cloud.PlausibleCloud, "new_resource",
                        lambda self, args: created.append(args.typ) or original(self, args))
    overrides, key, _ = next(c[1:] for c in INVALID if c[0] == case)
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        run_stack(PROJECT_DIR, config=dict(BASE_CONFIG, **overrides))
    assert created == []


def test_every_problem_is_reported_at_once():
    config = dict(BASE_CONFIG, **_gpu(gpuType="nvidia-l4", machineType="n1-standard-8", minNodes=5),
                  **{"aipipe:budgetAmount": "100"})
    with pytest.raises(ConfigError) as error:
        load_config(raw_config(config), project=config["gcp:project"], stack="test")
    message = str(error.value)
    assert message.startswith("3 configuration problems: ")
    for key in ("aipipe:gpuPools[0].machineType", "aipipe:gpuPools[0].minNodes", "aipipe:billingAccount"):
        assert key in message


def test_every_listed_topology_forms_whole_vms():
    for machine in tpus.TPU_MACHINE_TYPES.values():
        for topology in machine.single_host_topologies:
            assert tpus.topology_chips(topology) == machine.chips_per_vm, (machine.machine_type, topology)
        for topology in machine.multi_host_topologies:
            chips = tpus.topology_chips(topology)
            assert chips % machine.chips_per_vm == 0 and chips > machine.chips_per_vm, (machine.machine_type, topology)
