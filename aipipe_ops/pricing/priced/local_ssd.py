"""Local SSD of a node pool's VMs, per GiB-month: the Local SSD an A2 Ultra or A3 machine type bundles
(375 GiB per A100 80GB, 750 GiB per H100; sizes from aipipe_ops/gcp/machine_families.py), or `local_ssd_count` x 375 GiB
attached to other types. Spot VMs pay the spot Local SSD price.

Line: "Local SSD (<on-demand|spot>, bundled with <machine type>)" or "Local SSD (<on-demand|spot>, <n> x
375 GiB)", quantity in GiB.

Limitations: a bundled Local SSD of unknown size (a3-ultragpu-8g) is an unpriced line; for machine
types that bundle Local SSD, `local_ssd_count` is taken to describe the same disks (not added).
"""

from __future__ import annotations

from decimal import Decimal

from aipipe_ops.gcp.machine_families import machine_shape
from aipipe_ops.pricing.catalog_skus import LOCAL_SSD
from aipipe_ops.pricing.lines import MONTHLY, CostLine
from aipipe_ops.pricing.priced.context import PricingContext
from aipipe_ops.pricing.priced.inputs import number
from aipipe_ops.pricing.priced.pool_spec import NodePoolSpec, unreadable_pool_line

LOCAL_SSD_GIB = Decimal(375)


def lines(spec: NodePoolSpec, ctx: PricingContext) -> list[CostLine]:
    shape = machine_shape(spec.machine_type)
    count = (number(spec.node_config, "localSsdCount")
             or number(spec.node_config, "ephemeralStorageLocalSsdConfig.localSsdCount")
             or number(spec.node_config, "localNvmeSsdBlockConfig.localSsdCount") or Decimal(0))
    if shape is not None and shape.bundled_local_ssd_gib is None:
        return [unreadable_pool_line(spec.resource, f"{spec.machine_type} bundles Local SSD of a size aipipe does "
                                                    "not know", component=f"Local SSD ({spec.purchase}, bundled "
                                                                          f"with {spec.machine_type})")]
    if shape is not None and shape.bundled_local_ssd_gib:
        per_node, label = shape.bundled_local_ssd_gib, f"bundled with {spec.machine_type}"
    elif count:
        per_node, label = count * LOCAL_SSD_GIB, f"{count} x 375 GiB"
    else:
        return []
    quantity_min, quantity_max = spec.times(per_node)
    return [ctx.line(spec.resource, component=f"Local SSD ({spec.purchase}, {label})", kind="disk",
                     selector=LOCAL_SSD, region=spec.region, purchase=spec.purchase, quantity_min=quantity_min,
                     quantity_max=quantity_max, unit="GiB", per=MONTHLY)]
