"""The SKUs the sample fleet bills, at the list prices of aipipe's shipped price book (us-central1, USD).

Prices are integers in USD nano-units per pricing unit, so every cost is computed exactly and rounded once.
A SKU the shipped price book holds takes its unit price from there (by SKU id, or by description where the
sample's id is a placeholder), never restated here; the few the book does not hold (inter-zone egress,
commitments, tax) carry their price and its source below. `source` says where the id, description and price
come from; ids marked "placeholder" were not found in a citable source (TPU v5e, pd-balanced, inter-zone
egress, zonal cluster fee, commitments, tax) and are derived from the description, in the same
XXXX-XXXX-XXXX shape, so that they are stable from run to run.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from decimal import Decimal

from aipipe_ops.pricing.price_book import SHIPPED_PRICE_BOOK, PriceBook, SkuPrice

COMPUTE_ENGINE = ("6F81-5844-456A", "Compute Engine")
KUBERNETES_ENGINE = ("CCD8-9BF1-090E", "Kubernetes Engine")
BIGQUERY = ("24E6-581D-38E5", "BigQuery")
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
    "bigquery_scan": 1 << 40,
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
    "bigquery_scan": 1.0,
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
    "bigquery_scan": "bytes",
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
    "bigquery_scan": "tebibyte",
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


# The Catalog usage unit each pricing unit above is priced in.
CATALOG_UNIT = {"hour": "h", "gibibyte hour": "GiBy.h", "gibibyte month": "GiBy.mo", "gibibyte": "GiBy"}


@functools.cache
def shipped_price_book() -> PriceBook:
    """The price book shipped with aipipe (never a refreshed one: the sample is the same on every machine)."""
    return PriceBook.load(SHIPPED_PRICE_BOOK)


def _booked_price(sku_id: str | None, description: str, resource: str) -> SkuPrice:
    book = shipped_price_book()
    price = (book.price(sku_id) if sku_id else None) or book.price_described(description)
    if price is None:
        raise LookupError(f"the shipped price book has no SKU {sku_id or ''} {description!r} for the sample fleet")
    wanted = CATALOG_UNIT[PRICING_UNIT[resource]]
    if price.usage_unit != wanted or price.currency != "USD":
        raise LookupError(f"the shipped price book prices {description!r} per {price.usage_unit} in "
                          f"{price.currency}; the sample bills it per {wanted} in USD")
    return price


def _nanos(price: Decimal, what: str) -> int:
    nanos = price * 1_000_000_000
    if nanos != nanos.to_integral_value():
        raise ValueError(f"{what}: {price} USD is not a whole number of nanos")
    return int(nanos)


def _sku(key, service, description, resource, price=None, sku_id=None, source="") -> Sku:
    """A SKU priced from the shipped price book, or at `price` (USD) when the book does not hold it."""
    if price is None:
        booked = _booked_price(sku_id, description, resource)
        nanos = _nanos(booked.unit_price, description)
        source = f"price: shipped price book, SKU {booked.sku_id} ({booked.source_date}); {source}".rstrip("; ")
    else:
        nanos = round(price * 1_000_000_000)
    return Sku(key, service, description, resource, nanos, sku_id or placeholder_sku_id(description),
               source if sku_id else f"placeholder id; {source}")


SKUS: dict[str, Sku] = {
    s.key: s
    for s in [
        _sku("n2_core", COMPUTE_ENGINE, "N2 Instance Core running in Americas", "cpu",
             sku_id="BB77-5FDA-69D9", source="id prices.md §10"),
        _sku("n2_ram", COMPUTE_ENGINE, "N2 Instance Ram running in Americas", "ram",
             sku_id="5B01-D157-A097", source="id prices.md §10"),
        # Spot G2 core/RAM: the book splits the spot block price (0.082536 per 4 vCPU + 16 GiB, prices.md §2)
        # in the on-demand core/RAM ratio; with the spot L4 this reproduces g2-standard-8 spot 0.47987 $/h (§3).
        _sku("g2_spot_core", COMPUTE_ENGINE, "Spot Preemptible G2 Instance Core running in Iowa", "cpu",
             sku_id="59A6-9C49-BDDB", source="id prices.md §10"),
        _sku("g2_spot_ram", COMPUTE_ENGINE, "Spot Preemptible G2 Instance Ram running in Iowa", "ram",
             sku_id="BF80-650A-78E6", source="id prices.md §10"),
        _sku("l4_spot", COMPUTE_ENGINE, "Nvidia L4 GPU attached to Spot Preemptible VMs running in Iowa", "gpu",
             sku_id="AEC2-3D5C-61BF", source="id prices.md §10"),
        _sku("a2_core", COMPUTE_ENGINE, "A2 Instance Core running in Americas", "cpu",
             sku_id="2922-40C5-B19F", source="id prices.md §10"),
        _sku("a2_ram", COMPUTE_ENGINE, "A2 Instance Ram running in Americas", "ram",
             sku_id="2390-DCAF-DA38", source="id prices.md §10"),
        _sku("a100", COMPUTE_ENGINE, "Nvidia Tesla A100 GPU running in Americas", "gpu",
             sku_id="039F-D0DA-4055", source="id prices.md §10"),
        _sku("tpu_v5e", COMPUTE_ENGINE, "TpuV5e chip running in Americas", "tpu"),
        _sku("pd_balanced", COMPUTE_ENGINE, "Balanced PD Capacity", "disk"),
        _sku("inter_zone_egress", COMPUTE_ENGINE, "Network Inter Zone Egress", "network", 0.01, None,
             "price prices.md §8 (inter-zone 0.01 $/GiB, unverified there; not in the price book)"),
        _sku("regional_cluster", KUBERNETES_ENGINE, "Regional Kubernetes Clusters", "cluster_fee",
             sku_id="B561-BFBD-1264", source="id prices.md §7"),
        _sku("zonal_cluster", KUBERNETES_ENGINE, "Zonal Kubernetes Clusters", "cluster_fee"),
        _sku("cud_a2_core", COMPUTE_ENGINE, "Commitment v1: A2 Cpu in Americas for 1 Year", "commitment_cpu",
             0.019915, None, "1-year price of N1/N2/A2 cores, prices.md §2 (not in the price book)"),
        _sku("cud_a2_ram", COMPUTE_ENGINE, "Commitment v1: A2 Ram in Americas for 1 Year", "commitment_ram",
             0.002669, None, "1-year price of N1/N2/A2 RAM, prices.md §2 (not in the price book)"),
        _sku("cud_a100", COMPUTE_ENGINE, "Commitment v1: Nvidia Tesla A100 GPU in Americas for 1 Year",
             "commitment_gpu", 1.848365, None,
             "a2-highgpu-1g 1-year 2.31421 $/h (prices.md §3) minus its 1-year host cores and RAM "
             "(not in the price book)"),
        # A step's BigQuery job (sample/step_labels.py): on-demand analysis, 6.25 $/TiB scanned in the US
        # multi-region (cloud.google.com/bigquery/pricing, 2026-12; not in the price book).
        _sku("bigquery_analysis", BIGQUERY, "Analysis", "bigquery_scan", 6.25, None,
             "price BigQuery on-demand analysis, 6.25 $/TiB (not in the price book)"),
        _sku("tax", INVOICE, "Tax", "tax", 0.0, "", "shape assumed"),
    ]
}
