"""Build the shipped price book from its facts: `python tools/build_price_book.py [--out DIR]`.

Reads price_book_facts.csv (one row per SKU and region: id, description, Catalog category, unit, price, and the
source, date and derivation of that price) and price_book_sources.csv (what each source key cites), both beside
this file, and writes the Cloud Billing Catalog JSON `price_book.json` plus `sources.json` (source, date and
derivation per skuId) into aipipe_ops/pricing/data/ (or DIR). A test runs it and compares the output with the
shipped files byte for byte.

Every price in the facts is copied from /work/shared/reference/prices.md (the section is named in `derivation`)
or derived from numbers there by the formula written in `derivation`, rounded to nanos (the Catalog's
precision). SKU ids: where a public source gives the real id it is used (`source` says which); otherwise the id
is a placeholder starting `AIPIPE-`, never mistaken for a real one. `aipipe prices refresh` replaces the whole
book with the Catalog's own SKUs.

Known gaps (no price in a citable source; an estimate that needs one says so on the line):
- T4 in us-east5; spot A2 hosts and A100 GPUs in us-east5 and europe-west4; H200 / A3 Ultra outside
  us-central1; A3 Mega; Hyperdisk Balanced; TPU v4 and CUD prices.
- Spot prices are those of the sources' dates: Google changes them up to once a day.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from aipipe_ops.atomic import write_text_atomic
from aipipe_ops.pricing.catalog_skus import COMPUTE_ENGINE, KUBERNETES_ENGINE, SERVICE_NAMES
from aipipe_ops.pricing.price_book import SHIPPED_PRICE_BOOK, SHIPPED_SOURCES
from aipipe_ops.pricing.price_book_scope import PRICE_BOOK_REGIONS

HERE = Path(__file__).resolve().parent
FACTS_CSV = HERE / "price_book_facts.csv"
SOURCES_CSV = HERE / "price_book_sources.csv"

BOOK_DATE = "2026-07-30"  # the date of the newest dated machine prices ([CN] pricing.yml)
REFERENCE = "/work/shared/reference/prices.md"
NANO = Decimal("0.000000001")
PLACEHOLDER_PREFIX = "AIPIPE-"

UNITS = {
    # usageUnit: (usageUnitDescription, baseUnit, baseUnitDescription, baseUnitConversionFactor)
    "h": ("hour", "s", "second", 3600),
    "GiBy.h": ("gibibyte hour", "By.s", "byte second", 3865470566400),
    # The Catalog's month is 31 days (2^30 bytes x 2,678,400 s); estimates use Google's 730-hour month.
    "GiBy.mo": ("gibibyte month", "By.s", "byte second", 2.8759101014016e15),
}


@dataclass(frozen=True)
class SkuFact:
    """One row of price_book_facts.csv."""

    sku_id: str
    description: str
    service_id: str
    resource_family: str
    resource_group: str
    usage_type: str
    region: str            # a region, or `global`
    usage_unit: str
    price: Decimal
    date: str              # the price's date, or `undated`
    source: str            # keys of price_book_sources.csv joined by "+", the price's origin first
    derivation: str        # how the number was obtained (prices.md section, formula)


def read_sources(path: Path = SOURCES_CSV) -> dict[str, str]:
    """Source key -> citation."""
    with path.open(newline="") as f:
        return {row["key"]: row["citation"] for row in csv.DictReader(f)}


def read_facts(path: Path = FACTS_CSV, sources: dict[str, str] | None = None) -> list[SkuFact]:
    sources = read_sources() if sources is None else sources
    facts = []
    with path.open(newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            where = f"{path.name}:{line}"
            price = Decimal(row["price"])
            if price != price.quantize(NANO, rounding=ROUND_HALF_EVEN):
                raise ValueError(f"{where}: price {row['price']} is finer than nanos (the Catalog's precision)")
            unknown = [k for k in row["source"].split("+") if k not in sources]
            if unknown:
                raise ValueError(f"{where}: source keys {unknown} are not in {SOURCES_CSV.name}")
            if row["usage_unit"] not in UNITS or row["service_id"] not in SERVICE_NAMES:
                raise ValueError(f"{where}: unknown usage unit or service id")
            if not (row["date"] == "undated" or row["date"][:2] == "20"):
                raise ValueError(f"{where}: date {row['date']!r} is neither YYYY-MM-DD nor `undated`")
            facts.append(SkuFact(
                sku_id=row["sku_id"], description=row["description"], service_id=row["service_id"],
                resource_family=row["resource_family"], resource_group=row["resource_group"],
                usage_type=row["usage_type"], region=row["region"], usage_unit=row["usage_unit"],
                price=price.quantize(NANO), date=row["date"], source=row["source"], derivation=row["derivation"]))
    ids = [fact.sku_id for fact in facts]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate SKU ids in {path.name}: {sorted(duplicates)}")
    return facts


def _money(price: Decimal, currency: str = "USD") -> dict:
    units = int(price)
    return {"currencyCode": currency, "units": str(units), "nanos": int((price - units) * 1_000_000_000)}


def _effective_time(date: str) -> str:
    return f"{date if date[:2] == '20' else BOOK_DATE}T00:00:00Z"


def sku_json(fact: SkuFact) -> dict:
    description, base_unit, base_description, factor = UNITS[fact.usage_unit]
    geo = {"type": "GLOBAL"} if fact.region == "global" else {"type": "REGIONAL", "regions": [fact.region]}
    return {
        "name": f"services/{fact.service_id}/skus/{fact.sku_id}",
        "skuId": fact.sku_id,
        "description": fact.description,
        "category": {"serviceDisplayName": SERVICE_NAMES[fact.service_id], "resourceFamily": fact.resource_family,
                     "resourceGroup": fact.resource_group, "usageType": fact.usage_type},
        "serviceRegions": [fact.region],
        "pricingInfo": [{
            "summary": "",
            "pricingExpression": {
                "usageUnit": fact.usage_unit, "displayQuantity": 1,
                "tieredRates": [{"startUsageAmount": 0, "unitPrice": _money(fact.price)}],
                "usageUnitDescription": description, "baseUnit": base_unit,
                "baseUnitDescription": base_description, "baseUnitConversionFactor": factor,
            },
            "currencyConversionRate": 1,
            "effectiveTime": _effective_time(fact.date),
        }],
        "serviceProviderName": "Google",
        "geoTaxonomy": geo,
    }


def build(facts: list[SkuFact], sources: dict[str, str]) -> tuple[dict, dict]:
    """(price book, sources) as JSON-ready dicts."""
    services = [{"name": f"services/{sid}", "serviceId": sid, "displayName": SERVICE_NAMES[sid],
                 "businessEntityName": "businessEntities/GCP"} for sid in (COMPUTE_ENGINE, KUBERNETES_ENGINE)]
    book = {
        "kind": "aipipe#priceBook",
        "version": 1,
        "currency": "USD",
        # The header key and origin are what price_book.py reads to find sources.json beside the book.
        "header": {
            "origin": "shipped snapshot",
            "date": BOOK_DATE,
            "regions": list(PRICE_BOOK_REGIONS),
            "source": f"public sources listed per SKU in sources.json (fact sheet: {REFERENCE})",
        },
        "services": [
            {**service, "skus": [sku_json(f) for f in facts if f.service_id == service["serviceId"]]}
            for service in services
        ],
    }
    annotations = {
        fact.sku_id: {
            "source": "; ".join(f"[{key}] {sources[key]}" for key in fact.source.split("+")),
            "date": fact.date,
            "derivation": fact.derivation,
            **({"placeholderId": True} if fact.sku_id.startswith(PLACEHOLDER_PREFIX) else {}),
        }
        for fact in facts
    }
    return book, annotations


def render() -> tuple[str, str]:
    """The text of price_book.json and sources.json."""
    sources = read_sources()
    book, annotations = build(read_facts(sources=sources), sources)
    return json.dumps(book, indent=1) + "\n", json.dumps(annotations, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SHIPPED_PRICE_BOOK.parent,
                        help="folder to write price_book.json and sources.json into (default: the package's "
                             "aipipe_ops/pricing/data/)")
    args = parser.parse_args(argv)
    book_text, sources_text = render()
    book_path, sources_path = args.out / SHIPPED_PRICE_BOOK.name, args.out / SHIPPED_SOURCES.name
    write_text_atomic(book_path, book_text)
    write_text_atomic(sources_path, sources_text)
    sku_count = sum(len(service["skus"]) for service in json.loads(book_text)["services"])
    print(f"wrote {book_path} ({sku_count} SKUs) and {sources_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
