"""Node pools: a CPU system pool, GPU pools and TPU slice pools, all on the least-privilege node account.

Every pool: COS with containerd, secure boot + integrity monitoring, the GKE metadata server (Workload
Identity), image streaming, auto-repair/upgrade, and the cost labels on the VMs (`resource_labels`)
so their billing rows carry them. Accelerator pools scale from zero and carry an explicit taint:
GKE taints GPU nodes only when a non-GPU pool already exists, which is not guaranteed while pools are
created in parallel right after the default pool is removed.
"""

from __future__ import annotations

from typing import Sequence

import pulumi
import pulumi_gcp as gcp

from stacks.config import GpuPool, StackConfig, SystemPool, TpuPool

POOL_ROLE_LABEL = "aipipe.dev/pool-role"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}
TPU_TAINT = {"key": "google.com/tpu", "value": "present", "effect": "NO_SCHEDULE"}
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


def node_config(*, machine_type: str, service_account: pulumi.Input[str], labels: dict[str, str], role: str,
                disk_size_gb: int, disk_type: str | None = None, spot: bool = False,
                taints: list[dict] | None = None, guest_accelerators: list[dict] | None = None) -> dict:
    config = {
        "machine_type": machine_type,
        "image_type": "COS_CONTAINERD",
        "disk_size_gb": disk_size_gb,
        # The node account's IAM roles are the limit; the scope only avoids a second, coarser gate.
        "service_account": service_account,
        "oauth_scopes": [CLOUD_PLATFORM_SCOPE],
        "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
        "workload_metadata_config": {"mode": "GKE_METADATA"},
        # Image streaming: a node starts containers before the whole image is downloaded.
        "gcfs_config": {"enabled": True},
        "metadata": {"disable-legacy-endpoints": "true"},
        "resource_labels": labels,
        "labels": {POOL_ROLE_LABEL: role},
        "spot": spot,
        "taints": taints or [],
    }
    if disk_type:
        config["disk_type"] = disk_type
    if guest_accelerators:
        config["guest_accelerators"] = guest_accelerators
    return config


def system_pool_args(cfg: StackConfig, pool: SystemPool, cluster_id: pulumi.Input[str],
                     service_account: pulumi.Input[str], labels: dict[str, str]) -> dict:
    return dict(
        name=pool.name, project=cfg.project, cluster=cluster_id, location=cfg.location,
        node_locations=list(pool.zones) or None,
        initial_node_count=1,
        autoscaling={"total_min_node_count": pool.min_nodes, "total_max_node_count": pool.max_nodes,
                     "location_policy": "BALANCED"},
        management={"auto_repair": True, "auto_upgrade": True},
        upgrade_settings={"max_surge": 1, "max_unavailable": 0},
        node_config=node_config(machine_type=pool.machine_type, service_account=service_account, labels=labels,
                                role="system", disk_size_gb=pool.disk_size_gb, disk_type=pool.disk_type),
    )


def gpu_pool_args(cfg: StackConfig, pool: GpuPool, cluster_id: pulumi.Input[str],
                  service_account: pulumi.Input[str], labels: dict[str, str]) -> dict:
    accelerator = {"type": pool.gpu_type, "count": pool.gpu_count,
                   "gpu_driver_installation_config": {"gpu_driver_version": pool.driver_version}}
    return dict(
        name=pool.name, project=cfg.project, cluster=cluster_id, location=cfg.location,
        node_locations=list(pool.zones) or None,
        initial_node_count=pool.min_nodes,
        autoscaling={"total_min_node_count": pool.min_nodes, "total_max_node_count": pool.max_nodes,
                     # ANY takes capacity wherever it is (spot and scarce GPUs); BALANCED spreads evenly.
                     "location_policy": "ANY" if pool.spot else "BALANCED"},
        management={"auto_repair": True, "auto_upgrade": True},
        # Upgrade in place: a surge node would be one more GPU to find quota and capacity for.
        upgrade_settings={"max_surge": 0, "max_unavailable": 1},
        node_config=node_config(machine_type=pool.machine_type, service_account=service_account, labels=labels,
                                role="gpu", disk_size_gb=pool.disk_size_gb, disk_type=pool.disk_type,
                                spot=pool.spot, taints=[GPU_TAINT], guest_accelerators=[accelerator]),
    )


def tpu_pool_args(cfg: StackConfig, pool: TpuPool, cluster_id: pulumi.Input[str],
                  service_account: pulumi.Input[str], labels: dict[str, str]) -> dict:
    tpu = pool.slice
    args = dict(
        name=pool.name, project=cfg.project, cluster=cluster_id, location=cfg.location,
        node_locations=[pool.zone],
        management={"auto_repair": True, "auto_upgrade": True},
        node_config=node_config(machine_type=tpu.machine.machine_type, service_account=service_account,
                                labels=labels, role="tpu", disk_size_gb=pool.disk_size_gb, spot=pool.spot,
                                taints=[TPU_TAINT]),
    )
    if tpu.multi_host:
        # A multi-host slice is atomic: all its VMs exist or none, in one zone, placed compactly.
        args["placement_policy"] = {"type": "COMPACT", "tpu_topology": tpu.topology}
        if pool.min_slices == 1:
            args["node_count"] = tpu.vms
        else:
            args["initial_node_count"] = 0
            args["autoscaling"] = {"min_node_count": 0, "max_node_count": tpu.vms}
    else:
        # Each node is a whole single-host slice; the autoscaler adds and removes slices.
        args["initial_node_count"] = pool.min_slices
        args["autoscaling"] = {"min_node_count": pool.min_slices, "max_node_count": pool.max_slices}
    return args


class NodePools(pulumi.ComponentResource):
    system: gcp.container.NodePool
    pools: dict[str, gcp.container.NodePool]

    def __init__(self, name: str, cfg: StackConfig, cluster: gcp.container.Cluster,
                 service_account: pulumi.Input[str], labels: dict[str, str],
                 after: Sequence[pulumi.Resource] = (), opts: pulumi.ResourceOptions | None = None):
        """`after`: what nodes need first (the node account's roles); children do not inherit depends_on."""
        super().__init__("aipipe:gke:NodePools", name, None, opts)
        # The autoscaler and manual resizes move initialNodeCount; changing it would replace the pool.
        child = pulumi.ResourceOptions(parent=self, depends_on=list(after), ignore_changes=["initialNodeCount"])
        self.pools = {}
        self.system = gcp.container.NodePool(
            cfg.system_pool.name, **system_pool_args(cfg, cfg.system_pool, cluster.id, service_account, labels),
            opts=child)
        self.pools[cfg.system_pool.name] = self.system
        for pool in cfg.gpu_pools:
            self.pools[pool.name] = gcp.container.NodePool(
                pool.name, **gpu_pool_args(cfg, pool, cluster.id, service_account, labels), opts=child)
        for pool in cfg.tpu_pools:
            self.pools[pool.name] = gcp.container.NodePool(
                pool.name, **tpu_pool_args(cfg, pool, cluster.id, service_account, labels), opts=child)
        self.register_outputs({"pools": list(self.pools)})
