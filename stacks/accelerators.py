"""Accelerator facts the stack validates against before any resource exists.

GPU type <-> machine family <-> GPUs per machine, and TPU machine type <-> chips per VM <-> topologies
<-> zones. These are facts about Google Cloud, not choices: change them only with a source.

Sources (see /work/shared/reference/provisioning.md sections 1.5 and 1.7):
- GPU families and per-machine counts: GCE accelerator-optimized machine docs, xpk
  `src/xpk/core/system_characteristics.py` (l4-1/2/4/8 -> g2-standard-12/24/48/96, a100-40gb-N ->
  a2-highgpu-Ng, h100/h200/b200 -> a3/a4 types). N1 attachable counts: GCE GPU docs.
- TPU topologies: xpk system_characteristics (v4, v5e, v5p, v6e lists) and GKE "Plan TPUs";
  single-host shapes (2x2 on a 4-chip VM, 2x4 on an 8-chip VM, 1x1 on a 1-chip VM) from GKE docs.
- TPU zones: Cloud TPU "regions and zones" page, US zones as of 2026 (single-tenant-only zones
  included), plus europe-west4-a for v6e.

Limitations (deliberate, listed so nobody mistakes them for checks):
- N1 vCPU limits per GPU count (e.g. 1 V100 on at most 12 vCPUs) are not checked.
- GPU zone availability is not checked (only TPU zones are); GKE reports it at create time.
- TPU7x (Ironwood), GB200 (a4x) and the ct5l serving types are not listed: their GKE node-pool
  shape (workload policies, ARM hosts) differs from the COMPACT + tpu_topology form used here.
- Zone lists are a snapshot; a zone Google adds later is one edit to TPU_ZONES below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# GPU types ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GpuType:
    """One GKE accelerator type string and the machines that can carry it."""

    name: str  # the guest_accelerators `type` string, e.g. "nvidia-l4"
    family: str  # machine family as Google names it, e.g. "G2"
    # Accelerator-optimized families: machine type -> the fixed number of GPUs it carries.
    machine_gpus: dict[str, int] = field(default_factory=dict)
    # N1: the machine family prefix and the GPU counts that may be attached.
    attachable_prefix: str | None = None
    attachable_counts: tuple[int, ...] = ()
    default_machine_type: str = ""

    @property
    def accelerator_optimized(self) -> bool:
        return bool(self.machine_gpus)

    def fits(self, machine_type: str) -> bool:
        if self.accelerator_optimized:
            return machine_type in self.machine_gpus
        return bool(self.attachable_prefix) and machine_type.startswith(self.attachable_prefix)

    def machine_types_text(self) -> str:
        if self.accelerator_optimized:
            return ", ".join(self.machine_gpus)
        return f"{self.attachable_prefix}* (n1-standard-*, n1-highmem-*, n1-highcpu-*)"


def _n1(name: str, counts: tuple[int, ...], default_machine: str) -> GpuType:
    return GpuType(name=name, family="N1", attachable_prefix="n1-", attachable_counts=counts,
                   default_machine_type=default_machine)


GPU_TYPES: dict[str, GpuType] = {
    gpu.name: gpu
    for gpu in (
        _n1("nvidia-tesla-t4", (1, 2, 4), "n1-standard-8"),
        _n1("nvidia-tesla-p4", (1, 2, 4), "n1-standard-8"),
        _n1("nvidia-tesla-p100", (1, 2, 4), "n1-standard-8"),
        _n1("nvidia-tesla-v100", (1, 2, 4, 8), "n1-standard-8"),
        GpuType("nvidia-l4", "G2", {
            "g2-standard-4": 1, "g2-standard-8": 1, "g2-standard-12": 1, "g2-standard-16": 1,
            "g2-standard-24": 2, "g2-standard-32": 1, "g2-standard-48": 4, "g2-standard-96": 8,
        }, default_machine_type="g2-standard-8"),
        GpuType("nvidia-tesla-a100", "A2 Standard", {
            "a2-highgpu-1g": 1, "a2-highgpu-2g": 2, "a2-highgpu-4g": 4, "a2-highgpu-8g": 8,
            "a2-megagpu-16g": 16,
        }, default_machine_type="a2-highgpu-1g"),
        GpuType("nvidia-a100-80gb", "A2 Ultra", {
            "a2-ultragpu-1g": 1, "a2-ultragpu-2g": 2, "a2-ultragpu-4g": 4, "a2-ultragpu-8g": 8,
        }, default_machine_type="a2-ultragpu-1g"),
        # a3-highgpu-1g/2g/4g exist in GCE; on GKE they are offered for Spot and flex-start capacity.
        GpuType("nvidia-h100-80gb", "A3 High", {
            "a3-highgpu-1g": 1, "a3-highgpu-2g": 2, "a3-highgpu-4g": 4, "a3-highgpu-8g": 8,
        }, default_machine_type="a3-highgpu-8g"),
        GpuType("nvidia-h100-mega-80gb", "A3 Mega", {"a3-megagpu-8g": 8},
                default_machine_type="a3-megagpu-8g"),
        GpuType("nvidia-h200-141gb", "A3 Ultra", {"a3-ultragpu-8g": 8},
                default_machine_type="a3-ultragpu-8g"),
        GpuType("nvidia-b200", "A4", {"a4-highgpu-8g": 8}, default_machine_type="a4-highgpu-8g"),
    )
}

GPU_DRIVER_VERSIONS = ("DEFAULT", "LATEST", "INSTALLATION_DISABLED")


def gpu_family_of_machine(machine_type: str) -> GpuType | None:
    """The GPU type an accelerator-optimized machine type always carries (None for other types)."""
    for gpu in GPU_TYPES.values():
        if machine_type in gpu.machine_gpus:
            return gpu
    return None


# TPU machine types -------------------------------------------------------------------------------

# Zones that offer each TPU generation (GKE node pools are created in one of these).
TPU_ZONES: dict[str, tuple[str, ...]] = {
    "v4": ("us-central2-b",),
    "v5e": ("us-central1-a", "us-south1-a", "us-west1-c", "us-west4-a",
            "us-east5-a", "us-east5-b", "us-east5-c"),
    "v5p": ("us-central1-a", "us-east5-a", "us-east5-b", "us-east5-c", "us-south1-a"),
    "v6e": ("us-central1-b", "us-east1-d", "us-east5-a", "us-east5-b", "us-east5-c",
            "us-east4-a", "us-east4-b", "us-west1-c", "europe-west4-a"),
}

_V4_MULTI_HOST = ("2x2x2", "2x2x4", "2x4x4", "4x4x4", "4x4x8", "4x8x8", "8x8x8", "8x8x12",
                  "8x8x16", "8x16x16")
_V5P_MULTI_HOST = (
    "2x2x2", "2x2x4", "2x4x4", "4x4x4", "4x4x8", "4x4x12", "4x8x8", "4x4x20", "4x8x12", "4x4x28",
    "8x8x8", "4x12x12", "4x8x20", "4x4x44", "8x8x12", "4x4x52", "4x8x28", "4x12x20", "8x8x16",
    "4x4x68", "8x12x12", "4x4x76", "8x8x20", "4x12x28", "4x8x44", "4x4x92", "8x12x16", "4x20x20",
    "4x8x52", "12x12x12", "8x8x28", "4x4x116", "8x12x20", "4x4x124", "8x16x16", "4x12x44",
    "4x8x68", "4x20x28", "12x12x16", "4x4x148", "4x8x76", "4x12x52", "8x16x20", "4x4x164",
    "8x12x28", "4x4x172", "8x8x44", "12x12x20", "4x8x92", "4x4x188", "12x16x16", "4x28x28",
    "8x20x20", "4x12x68", "8x8x52", "4x4x212", "12x12x24", "4x20x44", "8x16x28", "4x12x76",
    "4x8x116", "4x4x236", "12x16x20", "4x4x244", "4x8x124", "12x12x28", "16x16x16", "4x20x52",
    "8x12x44", "8x8x68", "4x12x92", "8x20x28", "12x16x24", "4x8x148", "12x20x20", "8x8x76",
    "4x28x44", "8x12x52", "16x16x20", "12x12x36", "4x8x164", "12x16x28", "4x20x68", "4x8x172",
    "4x12x116", "8x16x44", "12x20x24", "4x28x52", "8x8x92", "4x12x124", "4x8x188", "4x20x76",
    "16x16x24", "12x24x24", "16x20x28",
)
_2D_MULTI_HOST = ("2x4", "4x4", "4x8", "8x8", "8x16", "16x16")


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


TPU_MACHINE_TYPES: dict[str, TpuMachineType] = {
    tpu.machine_type: tpu
    for tpu in (
        TpuMachineType("ct4p-hightpu-4t", "v4", "tpu-v4-podslice", 4, ("2x2x1",), _V4_MULTI_HOST),
        TpuMachineType("ct5lp-hightpu-1t", "v5e", "tpu-v5-lite-podslice", 1, ("1x1",)),
        TpuMachineType("ct5lp-hightpu-4t", "v5e", "tpu-v5-lite-podslice", 4, ("2x2",), _2D_MULTI_HOST),
        TpuMachineType("ct5lp-hightpu-8t", "v5e", "tpu-v5-lite-podslice", 8, ("2x4",)),
        TpuMachineType("ct5p-hightpu-4t", "v5p", "tpu-v5p-slice", 4, ("2x2x1",), _V5P_MULTI_HOST),
        TpuMachineType("ct6e-standard-1t", "v6e", "tpu-v6e-slice", 1, ("1x1",)),
        TpuMachineType("ct6e-standard-4t", "v6e", "tpu-v6e-slice", 4, ("2x2",), _2D_MULTI_HOST),
        TpuMachineType("ct6e-standard-8t", "v6e", "tpu-v6e-slice", 8, ("2x4",)),
    )
}


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


def accelerator_machine_type(machine_type: str) -> bool:
    """True for machine types that always carry a GPU or TPU (never a plain CPU pool)."""
    return gpu_family_of_machine(machine_type) is not None or machine_type in TPU_MACHINE_TYPES or \
        machine_type.startswith(("ct", "tpu", "a2-", "a3-", "a4", "g2-"))
