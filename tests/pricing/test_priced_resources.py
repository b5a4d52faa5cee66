"""Each priced thing on hand-written plans: node counts, zones, spot, attached and bundled GPUs, TPU slices,
disks, cluster fees and the free tier, and the lines that cannot be priced (which say which and why)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aipipe_ops.pricing.estimate import estimate_resources
from aipipe_ops.pricing.plans.resource import PlannedResource, make_urn
from aipipe_ops.pricing.priced import classify
from aipipe_ops.pricing.priced.inputs import UNKNOWN

D = Decimal
CLUSTER = "gcp:container/cluster:Cluster"
POOL = "gcp:container/nodePool:NodePool"


def resource(type_: str, logical_name: str, **inputs) -> PlannedResource:
    return PlannedResource(urn=make_urn("test", "aipipe", None, type_, logical_name), type=type_, name=logical_name,
                           inputs=inputs, parent=None, custom=True)


def cluster(location="us-central1", name="gke", **inputs):
    return resource(CLUSTER, name, name=name, location=location, removeDefaultNodePool=True, initialNodeCount=1,
                    **inputs)


def pool(name="pool", machine="n2-standard-8", location="us-central1", node_config=None, **inputs):
    return resource(POOL, name, name=name, cluster="projects/p/locations/l/clusters/gke", location=location,
                    nodeConfig={"machineType": machine, **(node_config or {})}, **inputs)


def lines_of(book, *resources, **options):
    estimate = estimate_resources(list(resources), book, **options)
    return estimate, {line.component: line for line in estimate.lines}


def test_per_zone_autoscaling_counts_times_node_locations(book):
    _, lines = lines_of(book, cluster(), pool(autoscaling={"minNodeCount": 1, "maxNodeCount": 3},
                                              nodeLocations=["us-central1-a", "us-central1-b"]))
    vcpus = lines["Instance vCPUs (on-demand, n2-standard-8)"]
    assert (vcpus.quantity_min, vcpus.quantity_max) == (D(8 * 2), D(8 * 6))


def test_regional_pool_without_node_locations_assumes_three_zones_and_says_so(book):
    _, lines = lines_of(book, cluster(), pool(nodeCount=2))
    vcpus = lines["Instance vCPUs (on-demand, n2-standard-8)"]
    assert vcpus.quantity_min == vcpus.quantity_max == D(8 * 2 * 3)
    assert "3 zones" in vcpus.note


def test_total_counts_ignore_zones(book):
    _, lines = lines_of(book, cluster(), pool(autoscaling={"totalMinNodeCount": 0, "totalMaxNodeCount": 5}))
    vcpus = lines["Instance vCPUs (on-demand, n2-standard-8)"]
    assert (vcpus.quantity_min, vcpus.quantity_max) == (D(0), D(40)) and vcpus.note is None


def test_zonal_cluster_pool_inherits_the_zone(book):
    _, lines = lines_of(book, cluster("us-east5-a"), pool(location=None, nodeCount=1))
    assert lines["Instance vCPUs (on-demand, n2-standard-8)"].price.description == "N2 Instance Core running in Columbus"


def test_preemptible_is_priced_as_spot(book):
    _, lines = lines_of(book, cluster(), pool(nodeCount=1, node_config={"preemptible": True}))
    line = lines["Instance vCPUs (spot, n2-standard-8)"]
    assert line.price.usage_type == "Preemptible" and line.unit_price == D("0.014990")
    assert line.alternative.unit_price == D("0.031611")


def test_attached_gpus_on_n1_are_priced_per_gpu(book):
    _, lines = lines_of(book, cluster(), pool(machine="n1-standard-8", nodeCount=1, node_config={
        "guestAccelerators": [{"type": "nvidia-tesla-t4", "count": 2}]}), )
    gpu = lines["GPUs (on-demand, NVIDIA T4)"]
    # 3 zones (regional pool) x 1 node x 2 T4 x $0.35
    assert gpu.quantity_max == 6 and gpu.hourly_max == 6 * D("0.35") and "3 zones" in gpu.note


def test_gpu_without_a_price_in_the_region_is_unpriced_with_the_reason(book):
    estimate, lines = lines_of(book, cluster("us-east5-a"), pool(machine="n1-standard-4", location="us-east5-a",
                                                                nodeCount=1, node_config={
        "guestAccelerators": [{"type": "nvidia-tesla-t4", "count": 1}]}))
    gpu = lines["GPUs (on-demand, NVIDIA T4)"]
    assert not gpu.priced and gpu.hourly_max is None and gpu.monthly_max is None
    assert gpu.unpriced_reason.startswith("no on-demand price for NVIDIA T4 GPUs in us-east5 in the price book")
    assert estimate.totals.unpriced == 1
    # The totals add the priced lines only: never a silent $0 for the missing one.
    assert estimate.totals.monthly_max == sum(line.monthly_max for line in estimate.lines if line.priced)


def test_gpu_on_the_wrong_family_is_priced_with_a_note(book):
    _, lines = lines_of(book, cluster(), pool(machine="e2-standard-4", nodeCount=1, node_config={
        "guestAccelerators": [{"type": "nvidia-tesla-t4", "count": 1}]}))
    assert "only on N1" in lines["GPUs (on-demand, NVIDIA T4)"].note


def test_guest_accelerator_count_that_contradicts_the_machine_is_noted_not_added(book):
    _, lines = lines_of(book, cluster(), pool(machine="g2-standard-24", nodeCount=1, nodeLocations=["us-central1-a"],
                                              node_config={"guestAccelerators": [{"type": "nvidia-l4", "count": 1}]}))
    gpu_lines = [line for line in lines.values() if line.kind == "gpu"]
    assert len(gpu_lines) == 1 and gpu_lines[0].quantity_max == 2  # g2-standard-24 carries 2 L4
    assert "guest_accelerators says 1" in gpu_lines[0].note


def test_unknown_gpu_type_is_unpriced(book):
    _, lines = lines_of(book, cluster(), pool(machine="n1-standard-4", nodeCount=1, node_config={
        "guestAccelerators": [{"type": "nvidia-rtx-9000", "count": 1}]}))
    line = lines["GPUs (on-demand, nvidia-rtx-9000)"]
    assert "not one aipipe prices" in line.unpriced_reason


def test_single_host_tpu_pool_scales_by_slices(book):
    _, lines = lines_of(book, cluster(), pool(machine="ct6e-standard-4t", location="us-central1",
                                              nodeLocations=["us-central1-b"],
                                              autoscaling={"minNodeCount": 0, "maxNodeCount": 3}))
    tpu = lines["TPU chips (on-demand, v6e, ct6e-standard-4t)"]
    assert tpu.quantity_max == 12 and tpu.hourly_max == 12 * D("2.70")
    assert not any(line.kind in ("cpu", "ram") for line in lines.values())  # the chip price is the VM's


def test_bundled_local_ssd_of_unknown_size_and_hyperdisk_boot_disks_are_unpriced(book):
    estimate, lines = lines_of(book, cluster(), pool(machine="a3-ultragpu-8g", nodeCount=1,
                                                     nodeLocations=["us-central1-a"]))
    assert "bundles Local SSD of a size" in lines["Local SSD (on-demand, bundled with a3-ultragpu-8g)"].unpriced_reason
    boot = lines["Boot disk (hyperdisk-balanced, 100 GiB)"]
    assert boot.unpriced_reason.startswith("no on-demand price for hyperdisk-balanced capacity in us-central1")
    assert lines["GPUs (on-demand, NVIDIA H200 141GB)"].unit_price == D("9.31174")
    assert estimate.totals.unpriced == 2


def test_local_ssd_count_on_other_machines(book):
    _, lines = lines_of(book, cluster(), pool(machine="n2-standard-8", nodeCount=1, nodeLocations=["us-central1-a"],
                                              node_config={"localSsdCount": 2}))
    line = lines["Local SSD (on-demand, 2 x 375 GiB)"]
    assert line.quantity_max == 750 and line.monthly_max == 750 * D("0.08")


@pytest.mark.parametrize("machine,reason", [
    ("n2-custom-8-32768", "custom machine type"),
    ("c3-standard-8", "not one aipipe knows"),
])
def test_machine_types_aipipe_cannot_price(book, machine, reason):
    _, lines = lines_of(book, cluster(), pool(machine=machine, nodeCount=1))
    line = lines[f"Instance (on-demand, {machine})"]
    assert reason in line.unpriced_reason and line.monthly_max is None


def test_a_machine_type_unknown_until_apply_makes_the_pool_unpriced(book):
    estimate, lines = lines_of(book, cluster(), pool(machine=UNKNOWN, nodeCount=1))
    (line,) = estimate.lines[1:]
    assert line.component == "Node pool VMs" and "nodeConfig.machineType is not known" in line.unpriced_reason


def test_default_machine_and_disk(book):
    _, lines = lines_of(book, cluster(), resource(POOL, "bare", cluster="gke", nodeCount=1,
                                                  nodeLocations=["us-central1-f"]))
    assert lines["Instance vCPUs (on-demand, e2-medium)"].quantity_max == 1  # e2-medium bills 1 vCPU
    assert "GKE's default e2-medium" in lines["Instance vCPUs (on-demand, e2-medium)"].note
    assert lines["Boot disk (pd-balanced, 100 GiB)"].monthly_max == D("10.0")


def test_boot_disk_block_wins_over_the_legacy_fields(book):
    _, lines = lines_of(book, cluster(), pool(nodeCount=1, nodeLocations=["us-central1-a"], node_config={
        "diskType": "pd-standard", "diskSizeGb": 50, "bootDisk": {"diskType": "pd-ssd", "sizeGb": 64}}))
    assert lines["Boot disk (pd-ssd, 64 GiB)"].monthly_max == 64 * D("0.17")


def test_cluster_default_pool_is_priced_unless_removed(book):
    kept = resource(CLUSTER, "gke", name="gke", location="europe-west4-a", initialNodeCount=2,
                    nodeConfig={"machineType": "e2-standard-8"})
    estimate, lines = lines_of(book, kept)
    assert lines["Instance vCPUs (on-demand, e2-standard-8)"].quantity_max == 16
    assert {line.resource for line in estimate.lines} == {"gke", "gke/default-pool"}
    estimate, _ = lines_of(book, cluster("europe-west4-a"))
    assert [line.component for line in estimate.lines] == [
        "Cluster management fee (zonal)", "GKE free tier credit (one zonal cluster per billing account)"]


def test_inline_node_pools_are_priced(book):
    inline = resource(CLUSTER, "gke", name="gke", location="us-central1-a", nodePools=[
        {"name": "cpu", "nodeCount": 2, "nodeConfig": {"machineType": "n1-standard-4"}}])
    _, lines = lines_of(book, inline)
    assert lines["Instance vCPUs (on-demand, n1-standard-4)"].resource == "gke/cpu"
    assert lines["Instance vCPUs (on-demand, n1-standard-4)"].quantity_max == 8


def test_free_tier_once_per_billing_account_and_only_when_asked(book):
    two = [cluster("us-central1-a", name="a"), cluster("us-central1-b", name="b")]
    estimate, _ = lines_of(book, *two)
    assert [line.resource for line in estimate.lines if line.credit] == ["a"]
    assert estimate.totals.monthly_max == D("73.0")
    estimate, _ = lines_of(book, *two, free_tier=False)
    assert not any(line.credit for line in estimate.lines) and estimate.totals.monthly_max == D("146.0")


def test_autopilot_is_its_fee_plus_a_usage_based_note(book):
    estimate, lines = lines_of(book, resource(CLUSTER, "ap", name="ap", location="us-central1", enableAutopilot=True))
    assert "Cluster management fee (autopilot)" in lines
    assert any(note.status == "usage-based" and "Autopilot Pods" in note.reason for note in estimate.notes)


def test_resources_without_a_pricer_are_classified():
    assert classify("gcp:projects/iAMMember:IAMMember", True)[0] == "free"
    assert classify("gcp:storage/bucket:Bucket", True)[0] == "usage-based"
    assert classify("aipipe:gke:Cluster", False)[0] == "component"
    assert classify("kubernetes:apps/v1:Deployment", True)[0] == "free"
    assert classify("pulumi:providers:gcp", True)[0] == "free"
    status, reason = classify("gcp:sql/databaseInstance:DatabaseInstance", True)
    assert status == "unsupported" and "it may cost money" in reason
    assert classify(CLUSTER, True) is None


def claim(name, storage, storage_class=None):
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    return resource("kubernetes:core/v1:PersistentVolumeClaim", name, metadata={"name": name}, spec=spec)


def test_persistent_volume_claims_are_disks_of_their_storage_class(book):
    _, lines = lines_of(book, cluster("europe-west4"), claim("data", "50Gi"), claim("fast", "1Ti", "premium-rwo"),
                        claim("odd", "10Gi", "filestore-rwx"))
    assert lines["Persistent volume (pd-balanced, data)"].monthly_max == 50 * D("0.11")
    assert lines["Persistent volume (pd-ssd, fast)"].monthly_max == 1024 * D("0.187")
    assert "StorageClass filestore-rwx" in lines["Persistent volume (filestore-rwx, odd)"].unpriced_reason


def test_storage_quantities():
    from aipipe_ops.pricing.priced.persistent_volume import gib

    assert gib("500M") == D(500 * 10**6) / 2**30 and gib("2Gi") == 2 and gib("1.5Ti") == D("1536")


def test_kfp_manifests_of_an_unknown_version_give_an_unpriced_line(book):
    kustomize = "kubernetes:kustomize/v2:Directory"
    other = PlannedResource(urn=make_urn("test", "aipipe", None, kustomize, "kfp"), type=kustomize, name="kfp",
                            inputs={"directory": "github.com/kubeflow/pipelines/manifests/kustomize/"
                                                 "env/platform-agnostic?ref=2.16.1"}, parent=None, custom=False)
    crds = PlannedResource(urn=make_urn("test", "aipipe", None, kustomize, "crds"), type=kustomize, name="crds",
                           inputs={"directory": "github.com/kubeflow/pipelines/manifests/kustomize/"
                                                "cluster-scoped-resources?ref=2.16.1"}, parent=None, custom=False)
    mine = PlannedResource(urn=make_urn("test", "aipipe", None, kustomize, "mine"), type=kustomize, name="mine",
                           inputs={"directory": "./k8s"}, parent=None, custom=False)
    estimate, lines = lines_of(book, cluster(), other, crds, mine)
    assert "KFP 2.16.1 env/platform-agnostic are not in aipipe's facts" in \
        lines["Persistent volumes (KFP 2.16.1 env/platform-agnostic)"].unpriced_reason
    notes = {note.resource: note.status for note in estimate.notes}
    assert notes == {"crds": "free", "mine": "unsupported"}
