"""TPU chips of a TPU slice node pool, per chip-hour: chips = chips per VM (from the machine type,
aipipe_ops/gcp/tpus.py) x VMs. A multi-host slice (placement_policy.tpu_topology spanning several VMs)
is atomic: its node count is the slice's VM count, so at the maximum every chip of the topology runs.

Line: "TPU chips (<on-demand|spot>, <version> <topology> slice)", quantity in chips. Example: a v5e 2x4
slice on ct5lp-hightpu-4t is 2 VMs x 4 chips = 8 chips x $1.20 = $9.60/h on-demand in us-central1.

Limitations:
- The chip price is taken as the whole TPU VM price: the host's vCPUs and memory are not priced
  separately (SkyPilot's reading of Google's TPU pricing; UNVERIFIED for GKE, see prices.md s5).
- TPU v4 (Cloud TPU service), TPU7x and committed-use or reserved TPU prices are not in the price book.
- Spot TPUs are matched by "Preemptible" in the SKU description (their usageType is OnDemand).
"""

from __future__ import annotations

from decimal import Decimal

from aipipe_ops.gcp.tpus import TPU_MACHINE_TYPES, topology_chips
from aipipe_ops.output import plural
from aipipe_ops.pricing.catalog_skus import tpu_selector
from aipipe_ops.pricing.lines import CostLine
from aipipe_ops.pricing.priced.context import PricingContext
from aipipe_ops.pricing.priced.pool_spec import NodePoolSpec


def lines(spec: NodePoolSpec, ctx: PricingContext) -> list[CostLine]:
    machine = TPU_MACHINE_TYPES.get(spec.machine_type)
    if machine is None:
        return []
    chips_per_vm = Decimal(machine.chips_per_vm)
    notes = []
    shape = f"{machine.version} {spec.tpu_topology} slice" if spec.tpu_topology else \
        f"{machine.version}, {spec.machine_type}"
    if spec.tpu_topology:
        chips = topology_chips(spec.tpu_topology)
        vms = max(chips // machine.chips_per_vm, 1)
        notes.append(f"{plural(vms, 'VM')} x {plural(machine.chips_per_vm, 'chip')} = {plural(chips, 'chip')} "
                     "per slice")
        if spec.nodes_max % vms:
            notes.append(f"maximum {plural(spec.nodes_max, 'node')} is not a whole number of {vms}-VM slices")
    quantity_min, quantity_max = spec.times(chips_per_vm)
    return [ctx.line(spec.resource, component=f"TPU chips ({spec.purchase}, {shape})", kind="tpu",
                     selector=tpu_selector(machine.version), region=spec.region, purchase=spec.purchase,
                     quantity_min=quantity_min, quantity_max=quantity_max, unit="chips",
                     note="; ".join(notes) or None,
                     missing=f"TPU {machine.version} is not in the price book (v5e, v5p, v6e are)")]
