"""A local HTTP server speaking the Cloud Billing Catalog API v1 over REST, serving recorded pages.

Pages live in tests/pricing/catalog_pages/ in the API's JSON shape (ListServicesResponse,
ListSkusResponse): `services-<n>.json`, `compute-<n>.json` (Compute Engine), `gke-<n>.json` (Kubernetes
Engine). They hold the shipped snapshot's SKUs with an N2 core price that differs (so a refreshed book is
told apart from the snapshot), plus SKUs a refresh must skip (other regions, commitments, DWS, sole
tenancy, other families). Each page names the next in `nextPageToken`, as the API does.

`currencyCode` is honoured as the API does: unit prices are converted at a fixed rate and the rate is
reported in `currencyConversionRate`. Every request is recorded; `fail_on` makes a page answer HTTP 500.
"""

from __future__ import annotations

import json
import threading
from decimal import ROUND_HALF_EVEN, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

PAGES = Path(__file__).resolve().parent / "catalog_pages"
RATES = {"USD": Decimal(1), "EUR": Decimal("0.92")}
SERVICE_PAGES = {"6F81-5844-456A": "compute", "CCD8-9BF1-090E": "gke", "95FF-2EF5-5EA1": None}


def _page_name(prefix: str, token: str) -> str:
    return f"{prefix}-1" if not token else token


def convert(document: dict, currency: str) -> dict:
    rate = RATES[currency]
    if rate == 1:
        return document
    for sku in document.get("skus", []):
        for info in sku["pricingInfo"]:
            info["currencyConversionRate"] = float(rate)
            for tier in info["pricingExpression"]["tieredRates"]:
                price = tier["unitPrice"]
                usd = Decimal(price["units"]) + Decimal(price["nanos"]).scaleb(-9)
                converted = (usd * rate).quantize(Decimal("0.000000001"), rounding=ROUND_HALF_EVEN)
                units = int(converted)
                tier["unitPrice"] = {"currencyCode": currency, "units": str(units),
                                     "nanos": int((converted - units) * 1_000_000_000)}
    return document


class CatalogServer:
    def __init__(self):
        self.requests: list[tuple[str, dict]] = []
        self.fail_on: set[str] = set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                server.requests.append((url.path, query))
                token = query.get("pageToken", "")
                parts = url.path.strip("/").split("/")
                if parts == ["v1", "services"]:
                    name = _page_name("services", token)
                elif len(parts) == 4 and parts[:2] == ["v1", "services"] and parts[3] == "skus":
                    prefix = SERVICE_PAGES.get(parts[2])
                    if prefix is None:
                        return self._send(404, {"error": {"code": 404, "message": f"service {parts[2]} not found",
                                                          "status": "NOT_FOUND"}})
                    name = _page_name(prefix, token)
                else:
                    return self._send(404, {"error": {"code": 404, "message": "no such method", "status": "NOT_FOUND"}})
                if name in server.fail_on:
                    return self._send(500, {"error": {"code": 500, "message": f"backend error on {name}",
                                                      "status": "INTERNAL"}})
                path = PAGES / f"{name}.json"
                if not path.exists():
                    return self._send(400, {"error": {"code": 400, "message": f"bad page token {token!r}",
                                                      "status": "INVALID_ARGUMENT"}})
                document = json.loads(path.read_text())
                currency = query.get("currencyCode") or "USD"
                if currency not in RATES:
                    return self._send(400, {"error": {"code": 400, "message": f"unsupported currency {currency}",
                                                      "status": "INVALID_ARGUMENT"}})
                return self._send(200, convert(document, currency))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> "CatalogServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
