"""GPUs of a node pool's VMs, per GPU-hour: attached ones (N1 + `guest_accelerators`) and the ones an
accelerator-optimized machine type always carries (G2: L4, A2: A100, A3: H100/H200; counts from
aipipe_ops/gcp/accelerators.py).

Counted once: for G2/A2/A3 the GPU count comes from the machine type; a `guest_accelerators` entry of the
same model (where GKE reads driver and sharing settings) adds nothing. Google bills these GPUs as their own
SKU ("Nvidia L4 GPU running in ..."), separate from the machine's cores and RAM; a published G2/A2/A3
machine price is cores + RAM + GPUs (+ bundled Local SSD), so this line plus the instance lines equal it.

Line: "GPUs (<on-demand|spot>, <model>)", quantity in GPUs.

Limitations: time-sharing, MPS and MIG partitions do not change the price (whole GPUs are billed);
sustained-use and committed-use discounts on GPUs are not applied; GPU zone availability is not checked.
"""

from __future__ import annotations

from decimal import Decimal

from aipipe_ops.gcp.accelerators import GPU_TYPES, gpu_family_of_machine
from aipipe_ops.pricing.catalog_skus import GPU_MODELS, gpu_selector
from aipipe_ops.pricing.lines import CostLine
from aipipe_ops.pricing.priced.context import PricingContext
from aipipe_ops.pricing.priced.inputs import get, number
from aipipe_ops.pricing.priced.pool_spec import NodePoolSpec


def gpus_per_node(spec: NodePoolSpec, ctx: PricingContext) -> list[tuple[str, Decimal, str | None]]:
    """(accelerator type, GPUs per node, note) for each GPU model the pool's VMs carry."""
    carried = gpu_family_of_machine(spec.machine_type)
    attached: dict[str, Decimal] = {}
    for index, accelerator in enumerate(get(spec.node_config, "guestAccelerators") or []):
        kind = get(accelerator, "type")
        count = number(accelerator, "count", Decimal(1))
        if kind:
            attached[kind] = attached.get(kind, Decimal(0)) + count
    result: list[tuple[str, Decimal, str | None]] = []
    if carried is not None:
        bundled = Decimal(carried.machine_gpus[spec.machine_type])
        note = f"bundled with {spec.machine_type}"
        declared = attached.pop(carried.name, None)
        if declared is not None and declared != bundled:
            note += f"; guest_accelerators says {declared}, the machine carries {bundled} (priced {bundled})"
        result.append((carried.name, bundled, note))
    for kind, count in attached.items():
        note = None
        gpu = GPU_TYPES.get(kind)
        if gpu is not None and not gpu.fits(spec.machine_type):
            note = f"GKE runs {kind} only on {gpu.family} machine types, not {spec.machine_type}"
        result.append((kind, count, note))
    return result


def lines(spec: NodePoolSpec, ctx: PricingContext) -> list[CostLine]:
    result = []
    for kind, per_node, note in gpus_per_node(spec, ctx):
        model = GPU_MODELS.get(kind)
        name = model.display if model else kind
        quantity_min, quantity_max = spec.times(per_node)
        result.append(ctx.line(
            spec.resource, component=f"GPUs ({spec.purchase}, {name})", kind="gpu", selector=gpu_selector(kind),
            region=spec.region, purchase=spec.purchase, quantity_min=quantity_min, quantity_max=quantity_max,
            unit="GPUs", note=note, missing=f"GPU type {kind} is not one aipipe prices "
                                            f"({', '.join(GPU_MODELS)})"))
    return result
