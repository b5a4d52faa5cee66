"""`aipipe prices refresh`: live prices from the Cloud Billing Catalog API into a new price book.

Uses google-cloud-billing's `CloudCatalogClient` (REST transport): `list_services` finds Compute Engine and
Kubernetes Engine, `list_skus(parent, currency_code, page_size)` pages through each service's SKUs (the
pager follows `nextPageToken`). Only SKUs some selector of catalog_skus.py uses, in the requested regions
(or global), are kept, in the Catalog's own JSON. The file is written atomically after the last page: a
failure half-way leaves the previous book as it was.

Credentials: `--anonymous` (a local server), else $AIPIPE_CATALOG_API_KEY (the Catalog API accepts API
keys), else Application Default Credentials. The Catalog API is free and needs no billing permission.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from aipipe_ops.atomic import write_text_atomic
from aipipe_ops.errors import ConfigError, SourceError
from aipipe_ops.pricing import catalog_skus as skus
from aipipe_ops.pricing.price_book import PriceBook
from aipipe_ops.pricing.price_book_scope import PRICE_BOOK_REGIONS

API_KEY_ENV = "AIPIPE_CATALOG_API_KEY"

# google-api-core warns at import about the Python version's end of life; not actionable for a user here.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.api_core\._python_version_support")


def catalog_client(endpoint: str | None = None, anonymous: bool = False):
    """A CloudCatalogClient on the REST transport, for `endpoint` (default: Google's)."""
    from google.api_core.client_options import ClientOptions
    from google.cloud import billing_v1

    options: dict = {}
    if endpoint:
        options["api_endpoint"] = endpoint
    credentials = None
    api_key = os.environ.get(API_KEY_ENV)
    if anonymous:
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()
    elif api_key:
        options["api_key"] = api_key
    else:
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError

        try:
            credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-billing.readonly"])
        except DefaultCredentialsError as exc:
            raise ConfigError(f"no Google credentials for the Cloud Billing Catalog API: run `gcloud auth "
                              f"application-default login`, or set {API_KEY_ENV} to an API key") from exc
    return billing_v1.CloudCatalogClient(transport="rest", credentials=credentials,
                                         client_options=ClientOptions(**options))


@dataclass
class RefreshResult:
    book: PriceBook
    sku_count: int
    pages: int
    services: list[str]
    gaps: list[str] = field(default_factory=list)


def _to_json(message) -> dict:
    return type(message).to_dict(message, preserving_proto_field_name=False, use_integers_for_enums=False)


def _wanted_services(client) -> list[dict]:
    found: dict[str, dict] = {}
    for service in client.list_services(request={"page_size": 5000}):
        data = _to_json(service)
        service_id = data.get("serviceId") or data.get("name", "").rpartition("/")[2]
        display = data.get("displayName", "")
        for wanted_id, wanted_name in skus.SERVICE_NAMES.items():
            if service_id == wanted_id or display == wanted_name:
                found.setdefault(wanted_name, {**data, "serviceId": service_id})
    missing = [name for name in skus.SERVICE_NAMES.values() if name not in found]
    if missing:
        raise SourceError(f"the Cloud Billing Catalog lists no service {', '.join(missing)}")
    return [found[name] for name in skus.SERVICE_NAMES.values()]


def _keep(sku: dict, service_id: str, regions: set[str]) -> bool:
    sku_regions = set(sku.get("serviceRegions") or ())
    if not (sku_regions & regions or "global" in sku_regions
            or (sku.get("geoTaxonomy") or {}).get("type") == "GLOBAL"):
        return False
    return skus.selector_for_sku(sku, service_id) is not None


def fetch_catalog(client, *, currency: str, regions: Iterable[str], page_size: int = 5000) -> tuple[list[dict], int]:
    """(services with their kept SKUs, pages read)."""
    import requests
    from google.api_core import exceptions as api_exceptions

    regions = set(regions)
    pages = 0
    services = []
    try:
        for service in _wanted_services(client):
            kept = []
            pager = client.list_skus(request={"parent": service["name"], "currency_code": currency,
                                              "page_size": page_size})
            for page in pager.pages:
                pages += 1
                for sku in page.skus:
                    data = _to_json(sku)
                    if _keep(data, service["serviceId"], regions):
                        kept.append(data)
            services.append({**service, "skus": kept})
    except api_exceptions.GoogleAPICallError as exc:
        raise SourceError(f"Cloud Billing Catalog API: {exc.message or exc}") from exc
    except api_exceptions.GoogleAPIError as exc:
        raise SourceError(f"Cloud Billing Catalog API: {exc}") from exc
    except (requests.exceptions.RequestException, OSError) as exc:
        raise SourceError(f"Cloud Billing Catalog API at {_endpoint_of(client)} is not reachable: {exc}") from exc
    return services, pages


def _endpoint_of(client) -> str:
    try:
        return client.api_endpoint
    except AttributeError:
        return "the Catalog endpoint"


def coverage_gaps(book: PriceBook, regions: Iterable[str]) -> list[str]:
    """What the estimate may need and the book cannot price (per selector, region, purchase option)."""
    selectors = [skus.core_selector(f) for f in ("N1", "N2", "E2", "G2", "A2", "A3 High")]
    selectors += [skus.ram_selector(f) for f in ("N1", "N2", "E2", "G2", "A2", "A3 High")]
    selectors += [skus.gpu_selector(g) for g in ("nvidia-tesla-t4", "nvidia-l4", "nvidia-tesla-a100",
                                                 "nvidia-a100-80gb", "nvidia-h100-80gb", "nvidia-h200-141gb")]
    selectors += [skus.tpu_selector(v) for v in skus.TPU_GENERATIONS]
    selectors += [skus.disk_selector(d) for d in ("pd-standard", "pd-balanced", "pd-ssd")] + [skus.LOCAL_SSD]
    gaps = []
    for selector in selectors:
        for region in regions:
            for purchase in (skus.PURCHASE_OPTIONS if selector.has_spot else (skus.ON_DEMAND,)):
                if book.find(selector, region, purchase) is None:
                    gaps.append(f"{selector.label}, {purchase}, {region}")
    for mode in skus.CLUSTER_MODES:
        if book.find(skus.cluster_fee_selector(mode), "global") is None:
            gaps.append(f"{mode} cluster management fee")
    return gaps


def refresh_price_book(client, target: Path, *, currency: str = "USD",
                       regions: Iterable[str] = PRICE_BOOK_REGIONS,
                       page_size: int = 5000, now: dt.datetime | None = None) -> RefreshResult:
    regions = list(regions)
    if len(currency) != 3 or not currency.isalpha():
        raise ConfigError(f"--currency {currency!r}: expected an ISO 4217 code such as USD or EUR")
    services, pages = fetch_catalog(client, currency=currency, regions=regions, page_size=page_size)
    for service in services:
        for sku in service["skus"]:
            for info in sku.get("pricingInfo") or []:
                for rate in (info.get("pricingExpression") or {}).get("tieredRates") or []:
                    got = (rate.get("unitPrice") or {}).get("currencyCode") or currency
                    if got != currency:
                        raise SourceError(f"the Catalog answered SKU {sku.get('skuId')} in {got}, not {currency}")
    fetched = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    document = {
        "kind": "aipipe#priceBook",
        "version": 1,
        "currency": currency,
        "header": {
            "origin": "Cloud Billing Catalog API",
            "date": fetched.date().isoformat(),
            "fetchedAt": fetched.isoformat().replace("+00:00", "Z"),
            "regions": regions,
            "source": f"Cloud Billing Catalog API v1 services.skus.list, fetched {fetched.isoformat()}",
        },
        "services": services,
    }
    target = Path(target)
    write_text_atomic(target, json.dumps(document, indent=1) + "\n")
    book = PriceBook.load(target)
    return RefreshResult(book=book, sku_count=sum(len(s["skus"]) for s in services), pages=pages,
                         services=[s.get("displayName", s["serviceId"]) for s in services],
                         gaps=coverage_gaps(book, regions))
