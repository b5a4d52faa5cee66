"""Instance vCPUs and memory of a node pool's VMs, priced with the machine family's core and RAM SKUs.

Lines: "Instance vCPUs (<on-demand|spot>, <machine type>)" in vCPUs and "Instance memory (<on-demand|spot>,
<machine type>)" in GiB, per hour. For G2, A2 and A3 these are the host only: their GPUs and bundled Local
SSD are separate lines (gpu.py, local_ssd.py), as on Google's bill, so nothing is counted twice.

Limitations:
- Sustained-use discounts (N1 up to 30 %, N2 up to 20 % for a whole month) and committed-use discounts
  are not applied: on-demand lines are list prices, an upper bound for long-running N1/N2 pools.
- Custom machine types and families other than N1, N2, E2, G2, A2, A3 are not priced (no SKUs in the book).
- TPU VM hosts are not priced here: a TPU slice is billed per chip (tpu_slice.py).
"""

from __future__ import annotations

from aipipe_ops.gcp.machine_families import machine_shape
from aipipe_ops.pricing.catalog_skus import core_selector, ram_selector
from aipipe_ops.pricing.lines import CostLine
from aipipe_ops.pricing.priced.context import PricingContext
from aipipe_ops.pricing.priced.pool_spec import NodePoolSpec, unreadable_pool_line


def lines(spec: NodePoolSpec, ctx: PricingContext) -> list[CostLine]:
    shape = machine_shape(spec.machine_type)
    label = f"({spec.purchase}, {spec.machine_type})"
    if shape is None:
        return [unreadable_pool_line(spec.resource, f"machine type {spec.machine_type} is not one aipipe knows "
                                                    "(N1, N2, E2 predefined, G2, A2, A3 or TPU types)",
                                     component=f"Instance {label}")]
    if shape.tpu_host:
        return []
    if shape.custom or shape.family is None:
        return [unreadable_pool_line(spec.resource, f"custom machine type {spec.machine_type}: its Custom "
                                                    "Instance Core/Ram SKUs are not in the price book",
                                     component=f"Instance {label}")]
    vcpus_min, vcpus_max = spec.times(shape.vcpus)
    gib_min, gib_max = spec.times(shape.memory_gib)
    return [
        ctx.line(spec.resource, component=f"Instance vCPUs {label}", kind="cpu",
                 selector=core_selector(shape.family), region=spec.region, purchase=spec.purchase,
                 quantity_min=vcpus_min, quantity_max=vcpus_max, unit="vCPUs"),
        ctx.line(spec.resource, component=f"Instance memory {label}", kind="ram",
                 selector=ram_selector(shape.family), region=spec.region, purchase=spec.purchase,
                 quantity_min=gib_min, quantity_max=gib_max, unit="GiB"),
    ]
