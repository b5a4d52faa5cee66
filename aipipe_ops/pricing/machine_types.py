"""Machine shapes: how many vCPUs and GiB of memory a Compute Engine machine type bills, and which
Catalog SKU family prices them.

Facts about Google Cloud, with their sources (see /work/shared/reference/prices.md sections 1-3, 5):
- Predefined N1/N2/E2 shapes: vCPUs from the type name, memory per vCPU by class (N1 standard 3.75 GiB,
  highmem 6.5, highcpu 0.9; N2/E2 standard 4, highmem 8, highcpu 1). [CN] machine table.
- E2 shared-core types bill a fraction of a vCPU: e2-micro 0.25, e2-small 0.5, e2-medium 1 (OpenCost
  `pkg/cloud/gcp`, reference/billing.md 6.4), with 1, 2 and 4 GiB.
- Accelerator-optimized shapes (G2, A2, A3) and their bundled Local SSD: [CN] `pricing.yml`,
  [CN-map] `build/gcp.yml` (a2-ultragpu-1g..8g 375..3000 GiB; a3-highgpu-1g..8g 750..6000 GiB).
- TPU host shapes (informational; TPU VMs are priced per chip, see priced/tpu_slice.py): [CN-map]
  `tools/machinetypes.csv` 2026-07-01.

The GPUs an accelerator-optimized type carries are not restated here: they come from
stacks/accelerators.py (one source of truth for the stack and the estimate).

Limitations: custom machine types (`n2-custom-8-32768`) are recognised but not priced (their
"Custom Instance Core/Ram" SKUs are not in the price book); C2/C3/C4/N4/M-series/T2 families are not
in the price book.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class SkuFamily:
    """The Catalog description prefix of a family's core and RAM SKUs ("N2 Instance" -> "N2 Instance Core
    running in Americas")."""

    key: str  # short name used in line items and the price book ("N2", "A3 High")
    core_ram_prefix: str


SKU_FAMILIES: dict[str, SkuFamily] = {
    family.key: family
    for family in (
        SkuFamily("N1", "N1 Predefined Instance"),
        SkuFamily("N2", "N2 Instance"),
        SkuFamily("E2", "E2 Instance"),
        SkuFamily("G2", "G2 Instance"),
        SkuFamily("A2", "A2 Instance"),
        SkuFamily("A3 High", "A3 Instance"),
        SkuFamily("A3 Mega", "A3Plus Instance"),
        SkuFamily("A3 Ultra", "A3 Ultra Instance"),
    )
}


@dataclass(frozen=True)
class MachineShape:
    machine_type: str
    family: str | None  # key of SKU_FAMILIES; None when the family is not priced per core/RAM
    vcpus: Decimal  # billed vCPUs (fractional for E2 shared-core types)
    memory_gib: Decimal
    bundled_local_ssd_gib: Decimal | None = Decimal(0)  # None: the machine bundles Local SSD of unknown size
    custom: bool = False
    tpu_host: bool = False


# Memory per vCPU for predefined classes.
_CLASS_MEMORY = {
    ("n1", "standard"): Decimal("3.75"), ("n1", "highmem"): Decimal("6.5"), ("n1", "highcpu"): Decimal("0.9"),
    ("n2", "standard"): Decimal(4), ("n2", "highmem"): Decimal(8), ("n2", "highcpu"): Decimal(1),
    ("e2", "standard"): Decimal(4), ("e2", "highmem"): Decimal(8), ("e2", "highcpu"): Decimal(1),
}
_CLASS_SIZES = {
    "n1": {1, 2, 4, 8, 16, 32, 64, 96},
    "n2": {2, 4, 8, 16, 32, 48, 64, 80, 96, 128},
    "e2": {2, 4, 8, 16, 32},
}
_FAMILY_KEY = {"n1": "N1", "n2": "N2", "e2": "E2"}
_PREDEFINED = re.compile(r"^(n1|n2|e2)-(standard|highmem|highcpu)-(\d+)$")
_CUSTOM = re.compile(r"^(?:(n1|n2|n2d|e2)-)?custom-(\d+)-(\d+)(?:-ext)?$")


def _shape(machine_type: str, family: str | None, vcpus, memory, lssd=0, **kw) -> MachineShape:
    return MachineShape(machine_type, family, Decimal(str(vcpus)), Decimal(str(memory)),
                        None if lssd is None else Decimal(str(lssd)), **kw)


_FIXED: dict[str, MachineShape] = {
    shape.machine_type: shape
    for shape in (
        # E2 shared-core: a fraction of a vCPU is billed.
        _shape("e2-micro", "E2", "0.25", 1),
        _shape("e2-small", "E2", "0.5", 2),
        _shape("e2-medium", "E2", 1, 4),
        # G2: 4 GiB per vCPU, L4 GPUs per stacks/accelerators.py.
        *(_shape(f"g2-standard-{n}", "G2", n, 4 * n) for n in (4, 8, 12, 16, 24, 32, 48, 96)),
        # A2 Standard (A100 40GB) and A2 Ultra (A100 80GB, bundled Local SSD).
        *(_shape(f"a2-highgpu-{n}g", "A2", 12 * n, 85 * n) for n in (1, 2, 4, 8)),
        _shape("a2-megagpu-16g", "A2", 96, 1360),
        *(_shape(f"a2-ultragpu-{n}g", "A2", 12 * n, 170 * n, 375 * n) for n in (1, 2, 4, 8)),
        # A3 High (H100 80GB), A3 Mega (H100 Mega), A3 Ultra (H200): bundled Local SSD.
        *(_shape(f"a3-highgpu-{n}g", "A3 High", 26 * n, 234 * n, 750 * n) for n in (1, 2, 4, 8)),
        _shape("a3-megagpu-8g", "A3 Mega", 208, 1872, 6000),
        # A3 Ultra bundles Local SSD whose size is not in a source we hold: priced as "unknown".
        _shape("a3-ultragpu-8g", "A3 Ultra", 224, 2952, None),
        # TPU VM hosts: billed through the chips (priced/tpu_slice.py), never per core/RAM here.
        _shape("ct5lp-hightpu-1t", None, 24, 48, tpu_host=True),
        _shape("ct5lp-hightpu-4t", None, 112, 192, tpu_host=True),
        _shape("ct5lp-hightpu-8t", None, 224, 384, tpu_host=True),
        _shape("ct5p-hightpu-4t", None, 208, 448, tpu_host=True),
        _shape("ct6e-standard-1t", None, 44, 176, tpu_host=True),
        _shape("ct6e-standard-4t", None, 180, 720, tpu_host=True),
        _shape("ct6e-standard-8t", None, 360, 1440, tpu_host=True),
    )
}


def machine_shape(machine_type: str) -> MachineShape | None:
    """The shape of a machine type, or None when aipipe does not know it."""
    if machine_type in _FIXED:
        return _FIXED[machine_type]
    match = _PREDEFINED.match(machine_type)
    if match:
        prefix, klass, size = match.group(1), match.group(2), int(match.group(3))
        if size not in _CLASS_SIZES[prefix] or (prefix == "n1" and klass != "standard" and size == 1):
            return None
        return MachineShape(machine_type, _FAMILY_KEY[prefix], Decimal(size), size * _CLASS_MEMORY[(prefix, klass)])
    match = _CUSTOM.match(machine_type)
    if match:
        prefix = (match.group(1) or "n1")
        return MachineShape(machine_type, _FAMILY_KEY.get(prefix), Decimal(match.group(2)),
                            Decimal(match.group(3)) / 1024, custom=True)
    return None
