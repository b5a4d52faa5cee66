"""The price book: Cloud Billing Catalog SKUs (the Catalog API's own JSON), loaded and queried.

Which book: `--price-book PATH`, else $AIPIPE_PRICE_BOOK, else the book `aipipe prices refresh` wrote next
to the workspace (`.aipipe/price_book.json`), else the snapshot shipped in `data/` (dated, every SKU's
public source in `data/sources.json`).

Prices are exact: a Catalog price is `units` + `nanos` x 1e-9 of a `google.type.Money`, read as Decimal.
A SKU's `pricingInfo` is a timeline: the entry in force is the latest one whose `effectiveTime` has
passed (a scheduled future price is ignored). Tiered rates are kept: `SkuPrice.rate(usage)` gives the rate
of the tier a usage amount falls in. `SkuPrice.per(unit)` converts a price between usage units through
the SKU's base unit and `baseUnitConversionFactor` (e.g. $/GiB-month to $/byte-second and back).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Iterable, Iterator

from aipipe_ops.errors import InputError
from aipipe_ops.pricing.catalog_skus import ON_DEMAND, SERVICE_NAMES, SPOT, SkuSelector, selector_for_sku
from aipipe_ops.workspace_path import resolve_workspace_path

DATA_DIR = Path(__file__).resolve().parent / "data"
SHIPPED_PRICE_BOOK = DATA_DIR / "price_book.json"
SHIPPED_SOURCES = DATA_DIR / "sources.json"
PRICE_BOOK_ENV = "AIPIPE_PRICE_BOOK"
REFRESHED_NAME = "price_book.json"

# Base-unit factors of usage units, for converting a price to a unit other than the SKU's own.
# (GiBy.mo is not listed: its length is whatever the SKU's own factor says.)
KNOWN_UNIT_FACTORS = {
    "s": ("s", Decimal(1)), "min": ("s", Decimal(60)), "h": ("s", Decimal(3600)), "d": ("s", Decimal(86400)),
    "By.s": ("By.s", Decimal(1)), "GiBy.s": ("By.s", Decimal(2**30)), "GiBy.h": ("By.s", Decimal(2**30 * 3600)),
    "By": ("By", Decimal(1)), "GiBy": ("By", Decimal(2**30)),
}


def resolve_price_book_path(option: str | os.PathLike | None = None) -> Path:
    """--price-book beats $AIPIPE_PRICE_BOOK beats a refreshed book beside the workspace beats the snapshot."""
    if option:
        return Path(option)
    env = os.environ.get(PRICE_BOOK_ENV)
    if env:
        return Path(env)
    refreshed = default_refresh_path()
    if refreshed.exists():
        return refreshed
    return SHIPPED_PRICE_BOOK


def default_refresh_path() -> Path:
    """Where `aipipe prices refresh` writes: beside the workspace (.aipipe/price_book.json by default)."""
    return resolve_workspace_path(None).parent / REFRESHED_NAME


def money(value: dict, where: str) -> Decimal:
    """A google.type.Money (JSON: units as a string, nanos as a number) as an exact Decimal."""
    try:
        units = Decimal(str(value.get("units", "0") or "0"))
        nano_part = Decimal(int(value.get("nanos", 0) or 0)).scaleb(-9)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise InputError(f"{where}: unitPrice {value!r} is not a Money (units, nanos)") from exc
    return units + nano_part


def _parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True)
class Tier:
    start: Decimal  # in usage units
    rate: Decimal  # per usage unit


@dataclass(frozen=True)
class SkuPrice:
    """The price in force of one SKU, with where it came from."""

    sku_id: str
    description: str
    service_id: str
    regions: tuple[str, ...]
    resource_family: str
    resource_group: str
    usage_type: str
    usage_unit: str
    base_unit: str
    base_unit_factor: Decimal
    tiers: tuple[Tier, ...]
    currency: str
    effective_time: str
    source: str
    source_date: str
    placeholder_id: bool = False
    unverified: str | None = None  # why the book doubts this price (its source note says UNVERIFIED), else None

    @property
    def unit_price(self) -> Decimal:
        """The first tier's rate: what one usage unit costs from zero usage."""
        return self.tiers[0].rate

    @property
    def service(self) -> str:
        return SERVICE_NAMES.get(self.service_id, self.service_id)

    def rate(self, usage: Decimal = Decimal(0)) -> Decimal:
        """The rate of the tier `usage` (in usage units, over the SKU's aggregation period) falls in."""
        chosen = self.tiers[0]
        for tier in self.tiers:
            if tier.start <= usage:
                chosen = tier
        return chosen.rate

    def per(self, unit: str) -> Decimal:
        """The first-tier price per `unit` (converted through the base unit when it is not the SKU's)."""
        if unit == self.usage_unit:
            return self.unit_price
        known = KNOWN_UNIT_FACTORS.get(unit)
        if known is None or known[0] != self.base_unit or not self.base_unit_factor:
            raise ValueError(f"SKU {self.sku_id} is priced per {self.usage_unit} (base {self.base_unit}); "
                             f"cannot convert to {unit}")
        return self.unit_price / self.base_unit_factor * known[1]


class AmbiguousSkuError(InputError):
    """More than one SKU prices the same thing in the same region."""


@dataclass
class PriceBook:
    path: Path
    currency: str
    header: dict
    services: dict[str, dict]  # serviceId -> Service JSON
    skus: list[dict]  # Sku JSON, each with "_serviceId"
    sources: dict[str, dict] = field(default_factory=dict)
    _index: dict[tuple[str, str], list[dict]] = field(default_factory=dict, repr=False)
    _prices: dict[str, SkuPrice] = field(default_factory=dict, repr=False)

    # -- loading ---------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike | None = None, *, now: dt.datetime | None = None) -> "PriceBook":
        path = resolve_price_book_path(path)
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise InputError(f"price book {path} does not exist (run `aipipe prices refresh`, or drop "
                             f"--price-book / ${PRICE_BOOK_ENV} to use the shipped snapshot)") from exc
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"price book {path} is not readable JSON: {exc}") from exc
        if not isinstance(data, dict) or data.get("kind") != "aipipe#priceBook" or not isinstance(data.get("services"), list):
            raise InputError(f"price book {path}: expected an object with kind 'aipipe#priceBook' and a "
                             "`services` list of Catalog services with their `skus`")
        # A snapshot annotates each SKU with its public source in a sibling sources.json; a book fetched
        # from the Catalog has one source for all (its header).
        sources: dict[str, dict] = {}
        sources_path = Path(path).with_name("sources.json")
        # The header was called "snapshot" before 2027-01; books refreshed by earlier versions still load.
        header = data.get("header") or data.get("snapshot") or {}
        if header.get("origin") == "shipped snapshot" and sources_path.exists():
            sources = json.loads(sources_path.read_text(encoding="utf-8"))
        book = cls(path=Path(path), currency=str(data.get("currency") or "USD"), header=header,
                   services={}, skus=[], sources=sources)
        for service in data["services"]:
            service_id = service.get("serviceId") or str(service.get("name", "")).rpartition("/")[2]
            book.services[service_id] = {k: v for k, v in service.items() if k != "skus"}
            for sku in service.get("skus") or []:
                book.skus.append({**sku, "_serviceId": service_id})
        book._build_index(now or dt.datetime.now(dt.timezone.utc))
        return book

    def _build_index(self, now: dt.datetime) -> None:
        for sku in self.skus:
            price = self._price_of(sku, now)
            if price is None:
                continue
            if price.currency != self.currency:
                raise InputError(f"price book {self.path}: SKU {price.sku_id} is priced in {price.currency}, "
                                 f"the book in {self.currency}: currencies are never mixed")
            self._prices[price.sku_id] = price
            for region in price.regions:
                self._index.setdefault((sku["_serviceId"], region), []).append(sku)

    def _price_of(self, sku: dict, now: dt.datetime) -> SkuPrice | None:
        sku_id = sku.get("skuId") or str(sku.get("name", "")).rpartition("/")[2]
        where = f"price book {self.path}, SKU {sku_id}"
        timeline = [info for info in sku.get("pricingInfo") or [] if info.get("pricingExpression")]
        if not timeline:
            return None
        timeline.sort(key=lambda info: _parse_time(info.get("effectiveTime")) or dt.datetime.min.replace(tzinfo=dt.timezone.utc))
        in_force = [info for info in timeline if (_parse_time(info.get("effectiveTime")) or now) <= now]
        info = in_force[-1] if in_force else timeline[0]
        expression = info["pricingExpression"]
        rates = expression.get("tieredRates") or []
        if not rates:
            return None
        tiers = tuple(sorted((Tier(Decimal(str(rate.get("startUsageAmount", 0) or 0)),
                                   money(rate.get("unitPrice") or {}, where)) for rate in rates),
                             key=lambda tier: tier.start))
        currency = (rates[0].get("unitPrice") or {}).get("currencyCode") or self.currency
        category = sku.get("category") or {}
        regions = tuple(sku.get("serviceRegions") or ())
        if not regions and (sku.get("geoTaxonomy") or {}).get("type") == "GLOBAL":
            regions = ("global",)
        note = self.sources.get(sku_id, {})
        return SkuPrice(
            sku_id=sku_id, description=sku.get("description", ""), service_id=sku["_serviceId"], regions=regions,
            resource_family=category.get("resourceFamily", ""), resource_group=category.get("resourceGroup", ""),
            usage_type=category.get("usageType", ""), usage_unit=expression.get("usageUnit", ""),
            base_unit=expression.get("baseUnit", ""),
            base_unit_factor=Decimal(str(expression.get("baseUnitConversionFactor") or 0)),
            tiers=tiers, currency=currency, effective_time=info.get("effectiveTime", ""),
            source=note.get("source") or self.header.get("source") or str(self.path),
            source_date=note.get("date") or (info.get("effectiveTime", "") or "")[:10],
            placeholder_id=bool(note.get("placeholderId")),
            unverified=_unverified(note),
        )

    # -- queries ---------------------------------------------------------------------------------
    @property
    def label(self) -> str:
        """One line saying which book this is: origin, date, currency."""
        origin = self.header.get("origin", "price book")
        date = self.header.get("date") or self.header.get("fetchedAt", "")[:10]
        shipped = " (shipped)" if self.path.resolve() == SHIPPED_PRICE_BOOK.resolve() else f" ({self.path})"
        return f"{origin} {date}{shipped}, {self.currency}".strip()

    @property
    def regions(self) -> list[str]:
        return sorted({region for (_, region) in self._index if region != "global"})

    def price(self, sku_id: str) -> SkuPrice | None:
        return self._prices.get(sku_id)

    def price_described(self, description: str) -> SkuPrice | None:
        """The one SKU with this exact description, or None when none or several have it. For export rows whose
        SKU id the book lacks: the shipped snapshot carries placeholder ids where no public source gave the real
        one (prices.md), while Google's SKU descriptions are stable and name the region."""
        found = [p for p in self._prices.values() if p.description == description]
        return found[0] if len(found) == 1 else None

    def find(self, selector: SkuSelector, region: str, purchase: str = ON_DEMAND) -> SkuPrice | None:
        """The SKU pricing `selector` in `region` for `purchase` (on-demand or spot), or None."""
        region_key = "global" if selector.global_sku else region
        candidates = [sku for sku in self._index.get((selector.service_id, region_key), ())
                      if selector.matches(sku, purchase)]
        if not candidates:
            return None
        if len(candidates) > 1:
            # The narrowest SKU wins (a region's own SKU over a multi-region one); a true tie is an error.
            candidates.sort(key=lambda sku: len(sku.get("serviceRegions") or ()))
            narrowest = len(candidates[0].get("serviceRegions") or ())
            tied = [sku for sku in candidates if len(sku.get("serviceRegions") or ()) == narrowest]
            if len(tied) > 1:
                names = ", ".join(f"{s.get('skuId')} ({s.get('description')})" for s in tied)
                raise AmbiguousSkuError(f"price book {self.path}: {len(tied)} SKUs price {selector.label} "
                                        f"({purchase}) in {region}: {names}")
        sku = candidates[0]
        return self._prices[sku.get("skuId") or str(sku.get("name", "")).rpartition("/")[2]]

    def iter_prices(self) -> Iterator[SkuPrice]:
        return iter(self._prices.values())

    def rows(self, text_filter: str | None = None, regions: Iterable[str] = (), kinds: Iterable[str] = ()) -> list[dict]:
        """Rows for `aipipe prices show` (and the workspace `prices` table)."""
        pattern = re.compile(re.escape(text_filter), re.IGNORECASE) if text_filter else None
        regions, kinds = set(regions), set(kinds)
        rows = []
        for price in self._prices.values():
            selector = selector_for_sku({"description": price.description,
                                         "category": {"usageType": price.usage_type}}, price.service_id)
            kind = selector.resource_kind if selector else "other"
            purchase = purchase_of(price)
            for region in price.regions:
                row = {
                    "sku_id": price.sku_id, "service": price.service, "description": price.description,
                    "region": region, "resource_kind": kind, "family": price.resource_group,
                    "usage_type": price.usage_type, "purchase": purchase, "unit": price.usage_unit,
                    "unit_price": price.unit_price, "currency": price.currency,
                    "effective_time": price.effective_time, "source_date": price.source_date, "source": price.source,
                    "unverified": "UNVERIFIED" if price.unverified else "",
                }
                if regions and region not in regions:
                    continue
                if kinds and kind not in kinds:
                    continue
                if pattern and not any(pattern.search(str(row[c])) for c in
                                       ("sku_id", "description", "region", "resource_kind", "family", "purchase")):
                    continue
                rows.append(row)
        rows.sort(key=lambda r: (r["resource_kind"], r["region"], r["description"]))
        return rows


def _unverified(note: dict) -> str | None:
    """A price the book itself doubts: an explicit `unverified` note, or a derivation marked UNVERIFIED (a value
    that looks anomalous, or of unknown recency). Source citations alone do not count (cross-checked values
    cite unverified sources too), nor does a doubt about the SKU id only."""
    if note.get("unverified"):
        return str(note["unverified"]) if isinstance(note["unverified"], str) else "marked unverified"
    derivation = str(note.get("derivation") or "")
    if "UNVERIFIED" not in derivation:
        return None
    sentences = [part.strip() for part in re.split(r"(?<=[.;])\s+", derivation) if "UNVERIFIED" in part]
    # A doubt about the SKU id only ("id per [UNATTR] (UNVERIFIED)") leaves the price itself sourced.
    doubts = [sentence for sentence in sentences if not re.search(r"\bids?\b", sentence)]
    return doubts[0] if doubts else None


def purchase_of(price: SkuPrice) -> str:
    return SPOT if (price.usage_type == "Preemptible" or "Preemptible" in price.description) else ON_DEMAND
