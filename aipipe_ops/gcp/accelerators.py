"""GPU types on Google Cloud: which machine family carries each GKE accelerator type, how many GPUs each
accelerator-optimized machine type carries, and how many may be attached to an N1 machine.

Facts, read from data/ (each row names its source; see /work/shared/reference/provisioning.md s1.5):
- gpu_types.csv: accelerator type string, machine family, default machine type, and for N1 the attachable
  counts (GCE GPU docs).
- gpu_machine_types.csv: accelerator-optimized machine type -> GPU type and count (GCE
  accelerator-optimized machine docs; xpk `src/xpk/core/system_characteristics.py`: l4-1/2/4/8 ->
  g2-standard-12/24/48/96, a100-40gb-N -> a2-highgpu-Ng, h100/h200/b200 -> a3/a4 types).

Limitations (deliberate, listed so nobody mistakes them for checks):
- N1 vCPU limits per GPU count (e.g. 1 V100 on at most 12 vCPUs) are not checked.
- GPU zone availability is not listed (TPU zones are, in tpus.py); GKE reports it at create time.
- GB200 (a4x) is not listed: its GKE node-pool shape (ARM hosts) differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aipipe_ops.gcp.tables import read_table, words
from aipipe_ops.gcp.tpus import tpu_machine_type


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


def _gpu_types() -> dict[str, GpuType]:
    machines: dict[str, dict[str, int]] = {}
    for row in read_table("gpu_machine_types.csv"):
        machines.setdefault(row["gpu_type"], {})[row["machine_type"]] = int(row["gpus"])
    return {
        row["gpu_type"]: GpuType(
            name=row["gpu_type"], family=row["family"], machine_gpus=machines.get(row["gpu_type"], {}),
            attachable_prefix=row["attachable_prefix"] or None,
            attachable_counts=tuple(int(n) for n in words(row["attachable_counts"])),
            default_machine_type=row["default_machine_type"])
        for row in read_table("gpu_types.csv")
    }


GPU_TYPES: dict[str, GpuType] = _gpu_types()

# GKE API NodePool GPUDriverInstallationConfig.gpuDriverVersion values (GKE "Install GPU drivers").
GPU_DRIVER_VERSIONS = ("DEFAULT", "LATEST", "INSTALLATION_DISABLED")


def gpu_family_of_machine(machine_type: str) -> GpuType | None:
    """The GPU type an accelerator-optimized machine type always carries (None for other types)."""
    for gpu in GPU_TYPES.values():
        if machine_type in gpu.machine_gpus:
            return gpu
    return None


def accelerator_machine_type(machine_type: str) -> bool:
    """True for machine types that always carry a GPU or TPU (never a plain CPU pool), listed or not."""
    return gpu_family_of_machine(machine_type) is not None or tpu_machine_type(machine_type) or \
        machine_type.startswith(("a2-", "a3-", "a4", "g2-"))
