"""`aipipe prices refresh` with the real CloudCatalogClient (REST transport) against a local server serving
recorded pages of the Cloud Billing Catalog API (catalog_server.py), paging included."""

from __future__ import annotations

import json
from decimal import Decimal

import duckdb
import pytest
from catalog_server import CatalogServer

from aipipe_ops.errors import SourceError
from aipipe_ops.pricing import catalog_skus as skus
from aipipe_ops.pricing.catalog_refresh import catalog_client, refresh_price_book
from aipipe_ops.pricing.price_book import PriceBook

D = Decimal


@pytest.fixture
def server():
    with CatalogServer() as running:
        yield running


def test_refresh_pages_through_every_service_and_keeps_only_what_the_estimate_uses(server, tmp_path):
    target = tmp_path / "book.json"
    result = refresh_price_book(catalog_client(server.endpoint, anonymous=True), target)
    # 2 pages of services, 4 of Compute Engine SKUs, 1 of Kubernetes Engine SKUs.
    assert result.pages == 5
    sku_requests = [q.get("pageToken", "") for path, q in server.requests if path.endswith("/skus")]
    assert sku_requests == ["", "compute-2", "compute-3", "compute-4", ""]
    assert [q.get("pageToken", "") for path, q in server.requests if path == "/v1/services"] == ["", "services-2"]
    assert result.services == ["Compute Engine", "Kubernetes Engine"]
    book = result.book
    ids = {price.sku_id for price in book.iter_prices()}
    assert not ids & {"1111-AAAA-0001", "1111-AAAA-0002", "1111-AAAA-0003", "1111-AAAA-0004", "1111-AAAA-0005",
                      "1111-AAAA-0006", "1111-AAAA-0007", "CA45-51A5-8C74"}
    assert result.sku_count == len(ids) == 149
    # The live N2 core price, not the snapshot's 0.031611.
    assert book.find(skus.core_selector("N2"), "us-central1").unit_price == D("0.0333")
    assert book.header["origin"] == "Cloud Billing Catalog API" and book.currency == "USD"
    assert book.price("BB77-5FDA-69D9").effective_time == "2026-11-01T08:00:00.123Z"
    assert "NVIDIA T4 GPUs, on-demand, us-east5" in result.gaps


def test_currency_is_asked_of_the_api(server, tmp_path):
    result = refresh_price_book(catalog_client(server.endpoint, anonymous=True), tmp_path / "eur.json",
                                currency="EUR")
    assert {q.get("currencyCode") for path, q in server.requests if path.endswith("/skus")} == {"EUR"}
    book = result.book
    assert book.currency == "EUR"
    assert book.find(skus.gpu_selector("nvidia-l4"), "us-central1").unit_price == \
        (D("0.560040239") * D("0.92")).quantize(D("1e-9"))
    document = json.loads((tmp_path / "eur.json").read_text())
    info = document["services"][0]["skus"][0]["pricingInfo"][0]
    assert info["currencyConversionRate"] == pytest.approx(0.92)


def test_a_failure_half_way_leaves_the_previous_book(server, tmp_path):
    target = tmp_path / "book.json"
    refresh_price_book(catalog_client(server.endpoint, anonymous=True), target)
    before = target.read_bytes()
    server.fail_on.add("compute-3")
    with pytest.raises(SourceError, match="Cloud Billing Catalog API"):
        refresh_price_book(catalog_client(server.endpoint, anonymous=True), target, currency="EUR")
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["book.json"]  # no temporary file left behind


def test_cli_refresh_writes_beside_the_workspace_and_loads_the_prices_table(server, run_cli, tmp_path):
    code, out, err = run_cli("prices", "refresh", "--endpoint", server.endpoint, "--anonymous", "--currency", "eur")
    assert code == 0, err
    written = tmp_path / "price_book.json"  # beside $AIPIPE_WORKSPACE
    assert f"Wrote {written}: 149 SKUs from 5 pages of 2 services, EUR" in out
    assert "no price: NVIDIA T4 GPUs, on-demand, us-east5" in err
    # The refreshed book is now the default one.
    code, out, err = run_cli("prices", "show", "--filter", "N2 Instance Core running in Americas", "--format", "json")
    rows = json.loads(out)
    assert [(r["sku_id"], r["unit_price"], r["currency"]) for r in rows if r["purchase"] == "on-demand"] == \
        [("BB77-5FDA-69D9", "0.030636000", "EUR")]
    with duckdb.connect(str(tmp_path / "workspace.duckdb"), read_only=True) as con:
        count, currencies = con.execute("SELECT count(*), list(DISTINCT currency) FROM prices").fetchone()
        kinds = {row[0] for row in con.execute("SELECT DISTINCT resource_kind FROM prices").fetchall()}
    assert count == 149 and currencies == ["EUR"]  # one row per SKU and region (each has one here)
    assert kinds == {"cpu", "ram", "gpu", "tpu", "disk", "cluster_fee"}


def test_cli_refresh_without_a_server_is_one_clear_line(run_cli):
    code, out, err = run_cli("prices", "refresh", "--endpoint", "http://127.0.0.1:9", "--anonymous")
    assert code == 2 and err.startswith("aipipe: error: Cloud Billing Catalog API") and "Traceback" not in err


def test_page_size_is_passed_to_the_api(server, tmp_path):
    refresh_price_book(catalog_client(server.endpoint, anonymous=True), tmp_path / "b.json", page_size=40)
    assert {q.get("pageSize") for path, q in server.requests if path.endswith("/skus")} == {"40"}


def test_refreshed_book_prices_the_dev_stack(server, tmp_path, plans):
    from aipipe_ops.pricing.estimate import estimate_resources

    result = refresh_price_book(catalog_client(server.endpoint, anonymous=True), tmp_path / "book.json")
    estimate = estimate_resources(plans["dev"].resources, PriceBook.load(tmp_path / "book.json"))
    assert estimate.totals.unpriced == 0
    assert result.book.label.startswith("Cloud Billing Catalog API")
