"""Which Cloud Billing Catalog SKU prices what: one selector per priced thing, matched on the SKU's
description, its category and its service regions, never on a SKU id (ids differ per region, and a
refreshed price book must work without code changes).

Description wording, per reference/prices.md sections 4, 6, 7, 10 and real Catalog objects quoted there:
- cores and RAM: "<prefix> Core running in <location>", "<prefix> Ram running in <location>"; spot SKUs
  start "Spot Preemptible " (older ones "Preemptible ") and carry usageType "Preemptible".
- GPUs: "Nvidia Tesla T4 GPU running in Americas"; spot "... GPU attached to Spot Preemptible VMs running
  in ..."; newer names drop "Tesla" ("Nvidia L4 GPU", "Nvidia H100 80GB GPU") or "Nvidia" ("H200 141GB GPU").
- TPU v5e/v5p/v6e: Compute Engine SKUs whose description contains "TpuV5e" / "TpuV5p" / "TpuV6e", priced
  per chip-hour; spot TPU SKUs are tagged usageType "OnDemand" and say "Preemptible" in the description
  (SkyPilot's fetcher, [SP-code]).
- disks: "Storage PD Capacity", "Balanced PD Capacity", "SSD backed PD Capacity" (+ " in <city>"), per GiB-month.
- GKE: "Zonal Kubernetes Clusters", "Regional Kubernetes Clusters", "Autopilot Kubernetes Clusters" (region
  "global") in service "Kubernetes Engine".
SKUs for commitments, reservations, DWS / calendar mode, sole tenancy and custom machines never match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aipipe_ops.pricing.machine_types import SKU_FAMILIES

COMPUTE_ENGINE = "6F81-5844-456A"
KUBERNETES_ENGINE = "CCD8-9BF1-090E"
SERVICE_NAMES = {COMPUTE_ENGINE: "Compute Engine", KUBERNETES_ENGINE: "Kubernetes Engine"}

ON_DEMAND = "on-demand"
SPOT = "spot"
PURCHASE_OPTIONS = (ON_DEMAND, SPOT)

# Words of SKUs that price something else than on-demand or spot use of a plain VM.
_EXCLUDED = re.compile(r"Commitment|Reserved|Reservation|DWS|Calendar|Sole Tenancy|Custom|Flex|Extended Memory",
                       re.IGNORECASE)
_SPOT_WORDS = re.compile(r"Preemptible", re.IGNORECASE)


@dataclass(frozen=True)
class SkuSelector:
    """One priced thing: which SKUs can price it."""

    key: str  # stable id, e.g. "core:N2", "gpu:nvidia-l4", "disk:pd-balanced"
    label: str  # what it prices, in words ("N2 vCPUs")
    service_id: str
    pattern: re.Pattern
    resource_kind: str  # cpu | ram | gpu | tpu | disk | cluster_fee (DESIGN's resource_kind vocabulary)
    usage_unit: str  # the Catalog usage unit the estimate uses: h, GiBy.h, GiBy.mo
    spot_in_description: bool = False  # TPUs: spot is told by the description, not by usageType
    has_spot: bool = True  # disks and cluster fees have no spot variant
    global_sku: bool = False  # priced once for all regions (serviceRegions ["global"])

    def matches(self, sku: dict, purchase: str) -> bool:
        description = sku.get("description", "")
        if not self.pattern.search(description) or _EXCLUDED.search(description):
            return False
        usage_type = (sku.get("category") or {}).get("usageType", "")
        if usage_type.startswith("Commit"):
            return False
        if not self.has_spot:
            return purchase == ON_DEMAND and usage_type in ("OnDemand", "")
        if self.spot_in_description:
            return bool(_SPOT_WORDS.search(description)) == (purchase == SPOT)
        return usage_type == ("Preemptible" if purchase == SPOT else "OnDemand")


def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def core_selector(family: str) -> SkuSelector:
    prefix = re.escape(SKU_FAMILIES[family].core_ram_prefix)
    return SkuSelector(f"core:{family}", f"{family} vCPUs", COMPUTE_ENGINE,
                       _compiled(rf"^(?:Spot Preemptible |Preemptible )?{prefix} Core running in "), "cpu", "h")


def ram_selector(family: str) -> SkuSelector:
    prefix = re.escape(SKU_FAMILIES[family].core_ram_prefix)
    return SkuSelector(f"ram:{family}", f"{family} memory", COMPUTE_ENGINE,
                       _compiled(rf"^(?:Spot Preemptible |Preemptible )?{prefix} Ram running in "), "ram", "GiBy.h")


@dataclass(frozen=True)
class GpuModel:
    accelerator: str  # GKE guest_accelerators type string
    display: str  # line-item name
    description: str  # regex of the Catalog name before " GPU"


GPU_MODELS: dict[str, GpuModel] = {
    model.accelerator: model
    for model in (
        GpuModel("nvidia-tesla-t4", "NVIDIA T4", r"Nvidia Tesla T4"),
        GpuModel("nvidia-tesla-p4", "NVIDIA P4", r"Nvidia Tesla P4"),
        GpuModel("nvidia-tesla-p100", "NVIDIA P100", r"Nvidia Tesla P100"),
        GpuModel("nvidia-tesla-v100", "NVIDIA V100", r"Nvidia Tesla V100"),
        GpuModel("nvidia-l4", "NVIDIA L4", r"Nvidia L4"),
        GpuModel("nvidia-tesla-a100", "NVIDIA A100 40GB", r"Nvidia Tesla A100"),
        GpuModel("nvidia-a100-80gb", "NVIDIA A100 80GB", r"Nvidia Tesla A100 80GB"),
        GpuModel("nvidia-h100-80gb", "NVIDIA H100 80GB", r"Nvidia H100 80GB"),
        GpuModel("nvidia-h100-mega-80gb", "NVIDIA H100 Mega 80GB",
                 r"(?:Nvidia H100 80GB (?:Mega|Plus)|Nvidia H100 Mega 80GB)"),
        GpuModel("nvidia-h200-141gb", "NVIDIA H200 141GB", r"(?:Nvidia )?H200 141GB"),
        GpuModel("nvidia-b200", "NVIDIA B200", r"(?:A4 )?Nvidia B200 \(1 gpu slice\)"),
    )
}


def gpu_selector(accelerator: str) -> SkuSelector | None:
    model = GPU_MODELS.get(accelerator)
    if model is None:
        return None
    if accelerator == "nvidia-b200":
        pattern = rf"^(?:Spot Preemptible )?{model.description} running in "
    else:
        pattern = rf"^{model.description} GPU (?:attached to Spot Preemptible VMs )?running in "
    return SkuSelector(f"gpu:{accelerator}", f"{model.display} GPUs", COMPUTE_ENGINE, _compiled(pattern), "gpu", "h")


TPU_GENERATIONS = {"v5e": "TpuV5e", "v5p": "TpuV5p", "v6e": "TpuV6e"}


def tpu_selector(version: str) -> SkuSelector | None:
    token = TPU_GENERATIONS.get(version)
    if token is None:
        return None
    return SkuSelector(f"tpu:{version}", f"TPU {version} chips", COMPUTE_ENGINE, _compiled(token), "tpu", "h",
                       spot_in_description=True)


DISK_DESCRIPTIONS = {
    "pd-standard": "Storage PD Capacity",
    "pd-balanced": "Balanced PD Capacity",
    "pd-ssd": "SSD backed PD Capacity",
    "pd-extreme": "Extreme PD Capacity",
    "hyperdisk-extreme": "Hyperdisk Extreme Capacity",
    "hyperdisk-balanced": "Hyperdisk Balanced Capacity",
    "hyperdisk-throughput": "Hyperdisk Throughput Capacity",
}


def disk_selector(disk_type: str, regional: bool = False) -> SkuSelector | None:
    description = DISK_DESCRIPTIONS.get(disk_type)
    if description is None:
        return None
    prefix = "Regional " if regional else ""
    key = f"disk:{disk_type}{':regional' if regional else ''}"
    return SkuSelector(key, f"{'regional ' if regional else ''}{disk_type} capacity", COMPUTE_ENGINE,
                       _compiled(rf"^{prefix}{re.escape(description)}(?: in .+)?$"), "disk", "GiBy.mo",
                       has_spot=False)


LOCAL_SSD = SkuSelector("disk:local-ssd", "Local SSD capacity", COMPUTE_ENGINE,
                        _compiled(r"^SSD backed Local Storage(?: attached to Spot Preemptible VMs)?(?: in .+)?$"),
                        "disk", "GiBy.mo")

CLUSTER_MODES = ("zonal", "regional", "autopilot")


def cluster_fee_selector(mode: str) -> SkuSelector:
    return SkuSelector(f"cluster-fee:{mode}", f"{mode} cluster management fee", KUBERNETES_ENGINE,
                       _compiled(rf"^{mode.capitalize()} Kubernetes Clusters$"), "cluster_fee", "h", has_spot=False,
                       global_sku=True)


def all_selectors() -> list[SkuSelector]:
    """Every selector the estimate can use: what `prices refresh` keeps from the Catalog."""
    selectors: list[SkuSelector] = []
    for family in SKU_FAMILIES:
        selectors += [core_selector(family), ram_selector(family)]
    selectors += [gpu_selector(name) for name in GPU_MODELS]
    selectors += [tpu_selector(version) for version in TPU_GENERATIONS]
    for disk_type in DISK_DESCRIPTIONS:
        selectors += [disk_selector(disk_type), disk_selector(disk_type, regional=True)]
    selectors.append(LOCAL_SSD)
    selectors += [cluster_fee_selector(mode) for mode in CLUSTER_MODES]
    return [s for s in selectors if s is not None]


def selector_for_sku(sku: dict, service_id: str) -> SkuSelector | None:
    """The selector a Catalog SKU serves (None: the estimate never uses it)."""
    for selector in _selectors_by_service().get(service_id, ()):
        if any(selector.matches(sku, purchase) for purchase in PURCHASE_OPTIONS):
            return selector
    return None


_CACHE: dict[str, list[SkuSelector]] = {}


def _selectors_by_service() -> dict[str, list[SkuSelector]]:
    if not _CACHE:
        for selector in all_selectors():
            _CACHE.setdefault(selector.service_id, []).append(selector)
    return _CACHE
