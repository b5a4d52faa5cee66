"""The SKUs the sample fleet bills, with the list prices of reference/prices.md (us-central1, USD).

Prices are integers in USD nano-units per pricing unit, so every cost is computed exactly and rounded once.
`source` says where the id, description and price come from; ids marked "placeholder" were not found in a
citable source (TPU v5e, pd-balanced, inter-zone egress, zonal cluster fee, commitments, tax) and are derived
from the description, in the same XXXX-XXXX-XXXX shape, so that they are stable from run to run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

COMPUTE_ENGINE = ("6F81-5844-456A", "Compute Engine")
KUBERNETES_ENGINE = ("CCD8-9BF1-090E", "Kubernetes Engine")
INVOICE = ("", "Invoice")  # tax rows: the shape of these rows is an assumption (see docs/sample-fleet.md)

# Integer usage is counted in these internal units; DIVISOR turns them into pricing units.
# cpu: millicore-seconds -> hours of one vCPU; ram: MiB-seconds -> GiB-hours; disk: GiB-seconds -> GiB-months
# (Google's 730-hour month); network: bytes -> GiB; gpu/tpu/fee: unit-seconds -> hours.
DIVISOR = {
    "cpu": 1000 * 3600,
    "ram": 1024 * 3600,
    "gpu": 3600,
    "tpu": 3600,
    "disk": 730 * 3600,
    "network": 1 << 30,
    "cluster_fee": 3600,
    "commitment_cpu": 3600,
    "commitment_ram": 3600,
    "commitment_gpu": 3600,
    "tax": 1,
}
# Internal unit -> the export's usage.amount base unit (seconds, byte-seconds, bytes).
BASE_FACTOR = {
    "cpu": 1 / 1000,
    "ram": float(1 << 20),
    "gpu": 1.0,
    "tpu": 1.0,
    "disk": float(1 << 30),
    "network": 1.0,
    "cluster_fee": 1.0,
    "commitment_cpu": 1.0,
    "commitment_ram": float(1 << 30),
    "commitment_gpu": 1.0,
    "tax": 1.0,
}
USAGE_UNIT = {
    "cpu": "seconds",
    "ram": "byte-seconds",
    "gpu": "seconds",
    "tpu": "seconds",
    "disk": "byte-seconds",
    "network": "bytes",
    "cluster_fee": "seconds",
    "commitment_cpu": "seconds",
    "commitment_ram": "byte-seconds",
    "commitment_gpu": "seconds",
}
PRICING_UNIT = {
    "cpu": "hour",
    "ram": "gibibyte hour",
    "gpu": "hour",
    "tpu": "hour",
    "disk": "gibibyte month",
    "network": "gibibyte",
    "cluster_fee": "hour",
    "commitment_cpu": "hour",
    "commitment_ram": "gibibyte hour",
    "commitment_gpu": "hour",
}


def placeholder_sku_id(description: str) -> str:
    digest = hashlib.sha256(description.encode()).hexdigest().upper()
    return f"{digest[0:4]}-{digest[4:8]}-{digest[8:12]}"


@dataclass(frozen=True)
class Sku:
    key: str
    service: tuple[str, str]
    description: str
    resource: str  # a DIVISOR key
    price_nanos: int  # USD nanos per pricing unit
    sku_id: str
    source: str

    @property
    def divisor(self) -> int:
        return DIVISOR[self.resource]


def _sku(key, service, description, resource, price, sku_id=None, source="") -> Sku:
    nanos = round(price * 1_000_000_000)
    return Sku(key, service, description, resource, nanos, sku_id or placeholder_sku_id(description),
               source if sku_id else f"placeholder id; {source}")


SKUS: dict[str, Sku] = {
    s.key: s
    for s in [
        _sku("n2_core", COMPUTE_ENGINE, "N2 Instance Core running in Americas", "cpu", 0.031611,
             "BB77-5FDA-69D9", "prices.md §2, §10"),
        _sku("n2_ram", COMPUTE_ENGINE, "N2 Instance Ram running in Americas", "ram", 0.004237,
             "5B01-D157-A097", "prices.md §2, §10"),
        # Spot G2 core/RAM: the spot block price (0.082536 per 4 vCPU + 16 GiB, prices.md §2) split in the
        # on-demand core/RAM ratio; with the spot L4 this reproduces g2-standard-8 spot 0.47987 $/h (§3).
        _sku("g2_spot_core", COMPUTE_ENGINE, "Spot Preemptible G2 Instance Core running in Iowa", "cpu", 0.014051,
             "59A6-9C49-BDDB", "prices.md §10 (id), price derived from §2"),
        _sku("g2_spot_ram", COMPUTE_ENGINE, "Spot Preemptible G2 Instance Ram running in Iowa", "ram", 0.001646,
             "BF80-650A-78E6", "prices.md §10 (id), price derived from §2"),
        _sku("l4_spot", COMPUTE_ENGINE, "Nvidia L4 GPU attached to Spot Preemptible VMs running in Iowa", "gpu",
             0.3148, "AEC2-3D5C-61BF", "prices.md §4, §10"),
        _sku("a2_core", COMPUTE_ENGINE, "A2 Instance Core running in Americas", "cpu", 0.031611,
             "2922-40C5-B19F", "prices.md §2, §10"),
        _sku("a2_ram", COMPUTE_ENGINE, "A2 Instance Ram running in Americas", "ram", 0.004237,
             "2390-DCAF-DA38", "prices.md §2, §10"),
        _sku("a100", COMPUTE_ENGINE, "Nvidia Tesla A100 GPU running in Americas", "gpu", 2.933908,
             "039F-D0DA-4055", "prices.md §4, §10"),
        _sku("tpu_v5e", COMPUTE_ENGINE, "TpuV5e chip running in Americas", "tpu", 1.20, None,
             "price prices.md §5 (v5e us-central1 per chip-hour)"),
        _sku("pd_balanced", COMPUTE_ENGINE, "Balanced PD Capacity", "disk", 0.10, None, "price prices.md §6"),
        _sku("inter_zone_egress", COMPUTE_ENGINE, "Network Inter Zone Egress", "network", 0.01, None,
             "price prices.md §8 (inter-zone 0.01 $/GiB, unverified there)"),
        _sku("regional_cluster", KUBERNETES_ENGINE, "Regional Kubernetes Clusters", "cluster_fee", 0.10,
             "B561-BFBD-1264", "prices.md §7"),
        _sku("zonal_cluster", KUBERNETES_ENGINE, "Zonal Kubernetes Clusters", "cluster_fee", 0.10, None,
             "price prices.md §7"),
        _sku("cud_a2_core", COMPUTE_ENGINE, "Commitment v1: A2 Cpu in Americas for 1 Year", "commitment_cpu",
             0.019915, None, "1-year price of N1/N2/A2 cores, prices.md §2"),
        _sku("cud_a2_ram", COMPUTE_ENGINE, "Commitment v1: A2 Ram in Americas for 1 Year", "commitment_ram",
             0.002669, None, "1-year price of N1/N2/A2 RAM, prices.md §2"),
        _sku("cud_a100", COMPUTE_ENGINE, "Commitment v1: Nvidia Tesla A100 GPU in Americas for 1 Year",
             "commitment_gpu", 1.848365, None,
             "a2-highgpu-1g 1-year 2.31421 $/h (prices.md §3) minus its 1-year host cores and RAM"),
        _sku("tax", INVOICE, "Tax", "tax", 0.0, "", "shape assumed"),
    ]
}

