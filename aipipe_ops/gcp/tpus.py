"""TPU machine types on GKE: chips per VM, the slice topologies each can form, and the zones of each TPU
generation.

Facts, read from data/ (each row names its source; see /work/shared/reference/provisioning.md s1.7):
- tpu_machine_types.csv: machine type, generation, GKE node label, chips per VM, single-host shapes
  (2x2 on a 4-chip VM, 2x4 on an 8-chip VM, 1x1 on a 1-chip VM: GKE "Plan TPUs") and which multi-host
  topology list it forms.
- tpu_topologies.csv: the multi-host topology lists of xpk `src/xpk/core/system_characteristics.py`
  (v4, v5p, and the 2-D list of v5e/v6e) and GKE "Plan TPUs".
- tpu_zones.csv: Cloud TPU "regions and zones", US zones as of 2026 (single-tenant-only zones included),
  plus europe-west4-a for v6e.

Limitations (deliberate, listed so nobody mistakes them for checks):
- TPU7x (Ironwood) and the ct5l serving types are not listed: their GKE node-pool shape (workload
  policies) differs from the COMPACT + tpu_topology form used here.
- Zone lists are a snapshot; a zone Google adds later is one row of tpu_zones.csv.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aipipe_ops.gcp.tables import read_table, words


def _zones() -> dict[str, tuple[str, ...]]:
    zones: dict[str, list[str]] = {}
    for row in read_table("tpu_zones.csv"):
        zones.setdefault(row["version"], []).append(row["zone"])
    return {version: tuple(listed) for version, listed in zones.items()}


def _topology_sets() -> dict[str, tuple[str, ...]]:
    sets: dict[str, list[str]] = {}
    for row in read_table("tpu_topologies.csv"):
        sets.setdefault(row["topology_set"], []).append(row["topology"])
    return {name: tuple(listed) for name, listed in sets.items()}


# Zones that offer each TPU generation (GKE node pools are created in one of these).
TPU_ZONES: dict[str, tuple[str, ...]] = _zones()


@dataclass(frozen=True)
class TpuMachineType:
    """A TPU VM machine type: how many chips one VM holds and the slices it can form."""

    machine_type: str
    version: str  # "v5e", keys TPU_ZONES
    accelerator_label: str  # node label cloud.google.com/gke-tpu-accelerator
    chips_per_vm: int
    single_host_topologies: tuple[str, ...]
    multi_host_topologies: tuple[str, ...] = ()

    @property
    def topologies(self) -> tuple[str, ...]:
        return self.single_host_topologies + self.multi_host_topologies

    @property
    def zones(self) -> tuple[str, ...]:
        return TPU_ZONES[self.version]

    def topologies_text(self, limit: int = 12) -> str:
        parts = [f"{t} (single host)" for t in self.single_host_topologies]
        multi = list(self.multi_host_topologies)
        if multi:
            shown = ", ".join(multi[:limit])
            more = f" and {len(multi) - limit} more" if len(multi) > limit else ""
            parts.append(f"{shown}{more} (multi-host)")
        return " or ".join(parts)


def _machine_types() -> dict[str, TpuMachineType]:
    sets = _topology_sets()
    return {
        row["machine_type"]: TpuMachineType(
            machine_type=row["machine_type"], version=row["version"], accelerator_label=row["accelerator_label"],
            chips_per_vm=int(row["chips_per_vm"]), single_host_topologies=words(row["single_host_topologies"]),
            multi_host_topologies=sets[row["multi_host_topologies"]] if row["multi_host_topologies"] else ())
        for row in read_table("tpu_machine_types.csv")
    }


TPU_MACHINE_TYPES: dict[str, TpuMachineType] = _machine_types()


@dataclass(frozen=True)
class TpuSlice:
    """A validated slice shape: what the node pool needs to know."""

    machine: TpuMachineType
    topology: str
    chips: int
    vms: int

    @property
    def multi_host(self) -> bool:
        return self.vms > 1


def topology_chips(topology: str) -> int:
    return math.prod(int(part) for part in topology.split("x"))


def tpu_slice(machine_type: str, topology: str) -> TpuSlice:
    """The slice a machine type forms with a topology; call only with a topology it supports."""
    machine = TPU_MACHINE_TYPES[machine_type]
    if topology not in machine.topologies:
        raise ValueError(f"{machine_type} cannot form {topology}")
    chips = topology_chips(topology)
    return TpuSlice(machine=machine, topology=topology, chips=chips, vms=chips // machine.chips_per_vm)


def tpu_machine_type(machine_type: str) -> bool:
    """True for TPU VM machine types, listed or not (ct* and tpu* names)."""
    return machine_type in TPU_MACHINE_TYPES or machine_type.startswith(("ct", "tpu"))
