"""Boot disks of a node pool's VMs, per GiB-month: one disk of `disk_size_gb` per node, of `disk_type`
(or `boot_disk.{disk_type,size_gb}`, which win when set).

GKE defaults: 100 GiB; pd-balanced, or hyperdisk-balanced for machine types that cannot boot from
pd-balanced (A3 Ultra and A4 here). A boot disk costs the same on spot and on-demand VMs.

Line: "Boot disk (<type>, <size> GiB)", quantity in GiB across the pool.

Limitations: Hyperdisk Balanced has no public price in the shipped snapshot (its line is unpriced until
`aipipe prices refresh`); provisioned IOPS/throughput of pd-extreme and Hyperdisk, snapshots and
secondary boot disks are not priced.
"""

from __future__ import annotations

from decimal import Decimal

from aipipe_ops.pricing.catalog_skus import disk_selector
from aipipe_ops.pricing.lines import MONTHLY, CostLine
from aipipe_ops.pricing.priced.context import PricingContext
from aipipe_ops.pricing.priced.inputs import get, number
from aipipe_ops.pricing.priced.pool_spec import NodePoolSpec

DEFAULT_SIZE_GB = Decimal(100)
DEFAULT_TYPE = "pd-balanced"
HYPERDISK_ONLY_PREFIXES = ("a3-ultragpu-", "a4-", "a4x-")


def disk_of(spec: NodePoolSpec) -> tuple[str, Decimal, bool]:
    """(disk type, size in GiB, whether the type is GKE's default)."""
    disk_type = get(spec.node_config, "bootDisk.diskType") or get(spec.node_config, "diskType")
    size = number(spec.node_config, "bootDisk.sizeGb") or number(spec.node_config, "diskSizeGb") or DEFAULT_SIZE_GB
    if disk_type:
        return str(disk_type), size, False
    if spec.machine_type.startswith(HYPERDISK_ONLY_PREFIXES):
        return "hyperdisk-balanced", size, True
    return DEFAULT_TYPE, size, True


def lines(spec: NodePoolSpec, ctx: PricingContext) -> list[CostLine]:
    disk_type, size, defaulted = disk_of(spec)
    quantity_min, quantity_max = spec.times(size)
    return [ctx.line(spec.resource, component=f"Boot disk ({disk_type}, {size.normalize():f} GiB)", kind="disk",
                     selector=disk_selector(disk_type), region=spec.region, purchase=None,
                     quantity_min=quantity_min, quantity_max=quantity_max, unit="GiB", per=MONTHLY,
                     note="Hyperdisk Balanced: GKE's default boot disk for this machine type" if (
                         defaulted and disk_type == "hyperdisk-balanced") else None,
                     missing=f"disk type {disk_type} is not one aipipe prices")]
