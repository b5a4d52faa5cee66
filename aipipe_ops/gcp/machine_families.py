"""Compute Engine machine types: how many vCPUs and GiB of memory a machine type bills, the machine series
its cores and RAM are billed under, and the Local SSD it bundles.

Facts, with their sources (see /work/shared/reference/prices.md sections 1-3, 5):
- Predefined N1/N2/E2 shapes, computed below: vCPUs from the type name, memory per vCPU by class (N1
  standard 3.75 GiB, highmem 6.5, highcpu 0.9; N2/E2 standard 4, highmem 8, highcpu 1), sizes per series.
  [CN] machine table (Cyclenerd/google-cloud-pricing-cost-calculator).
- data/machine_types.csv, one row per fixed shape with its source: E2 shared-core types (a fraction of a
  vCPU billed: e2-micro 0.25, e2-small 0.5, e2-medium 1; OpenCost `pkg/cloud/gcp`), accelerator-optimized
  shapes (G2, A2, A3) and their bundled Local SSD ([CN] `pricing.yml`, [CN-map] `build/gcp.yml`), TPU VM
  hosts ([CN-map] `tools/machinetypes.csv` 2026-07-01; informational, TPU VMs are billed per chip).

The GPUs an accelerator-optimized type carries are in accelerators.py, not restated here.

Limitations: custom machine types (`n2-custom-8-32768`) are recognised (vCPUs and memory from the name);
C2/C3/C4/N4/M-series/T2 series are not listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from aipipe_ops.gcp.tables import read_table


@dataclass(frozen=True)
class MachineShape:
    machine_type: str
    family: str | None  # the series its cores and RAM are billed under ("N2", "A3 High"); None: not per core/RAM
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


def _fixed_shapes() -> dict[str, MachineShape]:
    return {
        row["machine_type"]: MachineShape(
            machine_type=row["machine_type"], family=row["family"] or None, vcpus=Decimal(row["vcpus"]),
            memory_gib=Decimal(row["memory_gib"]),
            bundled_local_ssd_gib=Decimal(row["bundled_local_ssd_gib"]) if row["bundled_local_ssd_gib"] else None,
            tpu_host=row["tpu_host"] == "yes")
        for row in read_table("machine_types.csv")
    }


FIXED_SHAPES: dict[str, MachineShape] = _fixed_shapes()


def machine_shape(machine_type: str) -> MachineShape | None:
    """The shape of a machine type, or None when aipipe does not know it."""
    if machine_type in FIXED_SHAPES:
        return FIXED_SHAPES[machine_type]
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
