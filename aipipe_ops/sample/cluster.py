"""The GCP project, GKE clusters, node pools and always-on system workloads of the sample fleet.

Allocatable capacity follows GKE's documented node reservations (CPU: 6% of the first core, 1% of the next,
0.5% of the next 2, 0.25% above 4; memory: 25% of the first 4 GiB, 20% of the next 4, 10% of the next 8, 6% of
the next 112, 2% above 128, plus a 100 MiB eviction threshold). capacity - allocatable is what the detailed
export shows as `kube:system-overhead`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BILLING_ACCOUNT = "01A2B3-C4D5E6-F7A8B9"
CURRENCY = "USD"
PROJECT_ID = "acme-ml-prod"
PROJECT_NUMBER = "418604213337"
PROJECT_LABELS = (("env", "prod"), ("team", "ml-platform"))
ORGANIZATION = ("organizations/433637338589", "acme.example")
FOLDER = ("folders/275093581247", "ml-platform")
PROJECT_ANCESTRY = f"/{ORGANIZATION[0].split('/')[1]}/{FOLDER[0].split('/')[1]}/"
# One inherited resource-manager tag, so the `tags` column is exercised.
PROJECT_TAGS = (("cost_center", "ml-research", True, ORGANIZATION[0].split("/")[1]),)
REGION = "us-central1"
ZONES = ("us-central1-a", "us-central1-b", "us-central1-c")

CLUSTER = "aipipe-prod"  # regional: node pools span three zones
CLUSTER_LOCATION = REGION
# A zonal dev cluster whose node pools stay scaled to zero in the window: only its management fee shows,
# offset by the billing account's GKE free tier (which covers zonal and Autopilot clusters only).
DEV_CLUSTER = "aipipe-dev"
DEV_CLUSTER_LOCATION = "us-central1-a"
FREE_TIER_MONTHLY_MICROS = 74_400_000

KFP_NAMESPACE = "kubeflow"
TEAM_NAMESPACES = ("team-a", "team-b")


def _cpu_reserved_m(vcpus: int) -> int:
    cores = vcpus
    reserved = 60 * min(cores, 1) + 10 * min(max(cores - 1, 0), 1) + 5 * min(max(cores - 2, 0), 2)
    return reserved + (max(cores - 4, 0) * 25 + 5) // 10  # 0.25% of each core above 4, in millicores


def _memory_reserved_mib(mib: int) -> int:
    gib = 1024
    tiers = [(4 * gib, 0.25), (4 * gib, 0.20), (8 * gib, 0.10), (112 * gib, 0.06), (10 ** 9, 0.02)]
    reserved, rest = 0.0, mib
    for size, rate in tiers:
        part = min(rest, size)
        reserved += part * rate
        rest -= part
        if rest <= 0:
            break
    return int(round(reserved)) + 100  # + eviction threshold


@dataclass(frozen=True)
class MachineType:
    name: str
    vcpus: int
    memory_mib: int
    gpus: int = 0
    tpu_chips: int = 0
    # The host vCPU and RAM of TPU VMs are not billed separately here: prices.md §5 could not confirm it,
    # and the chip price is treated as the whole TPU VM price (as SkyPilot's catalogue does).
    bills_host: bool = True

    @property
    def cpu_m(self) -> int:
        return self.vcpus * 1000

    @property
    def allocatable_cpu_m(self) -> int:
        return self.cpu_m - _cpu_reserved_m(self.vcpus)

    @property
    def allocatable_memory_mib(self) -> int:
        return self.memory_mib - _memory_reserved_mib(self.memory_mib)


@dataclass(frozen=True)
class NodePool:
    name: str
    machine: MachineType
    spot: bool
    min_nodes: int
    core_sku: str | None
    ram_sku: str | None
    accelerator_sku: str | None
    accelerator: str | None  # "gpu" | "tpu"
    disk_gib: int = 100
    provisioning: str = "on-demand"
    sustained_use: bool = False  # N2 earns sustained-use discounts; E2/G2/A2/TPU and spot do not
    committed: bool = False  # a resource-based 1-year commitment covers part of this pool's usage


N2_STANDARD_8 = MachineType("n2-standard-8", 8, 32 * 1024)
G2_STANDARD_8 = MachineType("g2-standard-8", 8, 32 * 1024, gpus=1)
A2_HIGHGPU_1G = MachineType("a2-highgpu-1g", 12, 85 * 1024, gpus=1)
CT5LP_HIGHTPU_4T = MachineType("ct5lp-hightpu-4t", 112, 192 * 1024, tpu_chips=4, bills_host=False)

NODE_POOLS: dict[str, NodePool] = {
    p.name: p
    for p in [
        NodePool("cpu-pool", N2_STANDARD_8, False, 3, "n2_core", "n2_ram", None, None, sustained_use=True),
        NodePool("gpu-l4-spot", G2_STANDARD_8, True, 0, "g2_spot_core", "g2_spot_ram", "l4_spot", "gpu",
                 provisioning="spot"),
        NodePool("gpu-a100", A2_HIGHGPU_1G, False, 1, "a2_core", "a2_ram", "a100", "gpu", committed=True),
        NodePool("tpu-v5e", CT5LP_HIGHTPU_4T, False, 0, None, None, "tpu_v5e", "tpu"),
    ]
}

# The 1-year resource-based commitment: one a2-highgpu-1g worth of A2 RAM and one A100, and 16 A2 cores -- four more
# than the pool's one node uses most hours, so part of the core commitment goes unused (the `unused_commitment`
# bucket, docs/cost-model.md §13).
COMMITMENT = {"cud_a2_core": 16, "cud_a2_ram": 85, "cud_a100": 1}
COMMITMENT_ID = "projects/acme-ml-prod/regions/us-central1/commitments/a100-1y"

SCALE_DOWN_AFTER_S = 600  # cluster autoscaler: a node unneeded for 10 minutes is removed
NODE_BOOT_S = 75  # a new node is billed from creation; the pod waits for it


@dataclass(frozen=True)
class SystemWorkload:
    """A kube-system DaemonSet (one pod per node) or a long-lived Deployment replica."""

    namespace: str
    app: str
    label_key: str
    cpu_m: int
    memory_mib: int
    accelerators_only: bool = False  # e.g. the NVIDIA device plugin runs on GPU nodes only


DAEMONSETS = (
    SystemWorkload("kube-system", "fluentbit-gke", "k8s-app", 50, 100),
    SystemWorkload("kube-system", "gke-metrics-agent", "k8s-app", 8, 60),
    SystemWorkload("kube-system", "kube-proxy", "component", 100, 0),
    SystemWorkload("kube-system", "pdcsi-node", "k8s-app", 10, 20),
    SystemWorkload("kube-system", "nvidia-gpu-device-plugin", "k8s-app", 50, 50, accelerators_only=True),
)

# Long-lived replicas pinned to the cpu-pool's permanent nodes: the KFP control plane (shared cost, no run
# label) and cluster add-ons.
DEPLOYMENTS = (
    SystemWorkload("kube-system", "kube-dns", "k8s-app", 260, 110),
    SystemWorkload("kube-system", "kube-dns", "k8s-app", 260, 110),
    SystemWorkload("kube-system", "metrics-server", "k8s-app", 48, 105),
    SystemWorkload("kube-system", "konnectivity-agent", "k8s-app", 10, 30),
    SystemWorkload(KFP_NAMESPACE, "ml-pipeline", "app", 250, 500),
    SystemWorkload(KFP_NAMESPACE, "ml-pipeline-ui", "app", 10, 70),
    SystemWorkload(KFP_NAMESPACE, "ml-pipeline-persistenceagent", "app", 120, 500),
    SystemWorkload(KFP_NAMESPACE, "ml-pipeline-scheduledworkflow", "app", 120, 100),
    SystemWorkload(KFP_NAMESPACE, "ml-pipeline-viewer-crd", "app", 120, 100),
    SystemWorkload(KFP_NAMESPACE, "ml-pipeline-visualizationserver", "app", 30, 500),
    SystemWorkload(KFP_NAMESPACE, "metadata-grpc-deployment", "component", 100, 300),
    SystemWorkload(KFP_NAMESPACE, "metadata-envoy-deployment", "component", 10, 50),
    SystemWorkload(KFP_NAMESPACE, "metadata-writer", "app", 50, 200),
    SystemWorkload(KFP_NAMESPACE, "mysql", "app", 100, 800),
    SystemWorkload(KFP_NAMESPACE, "minio", "app", 20, 100),
    SystemWorkload(KFP_NAMESPACE, "workflow-controller", "app", 100, 256),
    SystemWorkload(KFP_NAMESPACE, "cache-server", "app", 100, 200),
)


def daemonsets_for(pool: NodePool) -> list[SystemWorkload]:
    return [d for d in DAEMONSETS if not d.accelerators_only or pool.accelerator == "gpu"]


@dataclass
class NodeVM:
    """One GKE node (a Compute Engine VM) with its billed lifetime [created, deleted)."""

    index: int
    pool: str
    name: str
    zone: str
    created: int
    deleted: int
    permanent: bool = False
    deployments: list[int] = field(default_factory=list)  # indexes into DEPLOYMENTS pinned here
