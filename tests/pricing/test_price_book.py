"""The price book: the shipped book is what tools/build_price_book.py builds from its facts, every SKU has a
source and a date, the Catalog JSON is read exactly (units + nanos, tiers, timelines, base-unit conversion), and
the prices add up to the published machine prices of the fact sheet ([CN] pricing.yml 2026-07-30,
reference/prices.md s3)."""

from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from aipipe_ops.errors import InputError
from aipipe_ops.pricing import catalog_skus as skus
from aipipe_ops.pricing.price_book import SHIPPED_PRICE_BOOK, SHIPPED_SOURCES, AmbiguousSkuError, PriceBook, money
from aipipe_ops.pricing.price_book_scope import PRICE_BOOK_REGIONS

REGIONS = ("us-central1", "us-east5", "europe-west4")
D = Decimal


TOOLS = Path(__file__).resolve().parents[2] / "tools"


def _build_price_book_tool():
    """tools/ is not a package (nothing installed imports it): load the tool from its file."""
    if "build_price_book" not in sys.modules:
        spec = importlib.util.spec_from_file_location("build_price_book", TOOLS / "build_price_book.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules["build_price_book"]


def test_shipped_files_are_what_the_tool_builds_from_the_facts(tmp_path):
    done = subprocess.run([sys.executable, str(TOOLS / "build_price_book.py"), "--out", str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "(149 SKUs)" in done.stdout
    fix = "run `python tools/build_price_book.py`"
    assert (tmp_path / SHIPPED_PRICE_BOOK.name).read_bytes() == SHIPPED_PRICE_BOOK.read_bytes(), fix
    assert (tmp_path / SHIPPED_SOURCES.name).read_bytes() == SHIPPED_SOURCES.read_bytes(), fix


def test_every_fact_names_known_sources_and_a_derivation():
    tool = _build_price_book_tool()
    sources = tool.read_sources()
    with tool.FACTS_CSV.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(tool.read_facts(sources=sources)) == 149
    for row in rows:
        assert set(row["source"].split("+")) <= set(sources), row["sku_id"]
        assert "prices.md" in row["derivation"], row["sku_id"]


def test_a_bad_fact_is_refused_with_its_line(tmp_path):
    tool = _build_price_book_tool()
    lines = tool.FACTS_CSV.read_text().splitlines(keepends=True)
    bad = tmp_path / "facts.csv"
    bad.write_text(lines[0] + lines[1].replace(",CN,", ",NOPE,", 1))
    with pytest.raises(ValueError, match=r"facts.csv:2: source keys \['NOPE'\]"):
        tool.read_facts(bad)
    bad.write_text(lines[0] + lines[1] + lines[1])
    with pytest.raises(ValueError, match="duplicate SKU ids"):
        tool.read_facts(bad)


def test_every_sku_has_a_public_source_a_date_and_a_derivation(book):
    sources = json.loads(SHIPPED_SOURCES.read_text())
    assert set(sources) == {price.sku_id for price in book.iter_prices()}
    for sku_id, entry in sources.items():
        assert entry["source"].startswith("["), sku_id
        assert entry["date"] == "undated" or entry["date"][:2] == "20", sku_id
        assert "prices.md" in entry["derivation"], sku_id
        assert entry.get("placeholderId", False) == sku_id.startswith("AIPIPE-")


def test_the_shipped_book_is_catalog_json(book):
    data = json.loads(SHIPPED_PRICE_BOOK.read_text())
    sku = data["services"][0]["skus"][0]
    assert set(sku) >= {"name", "skuId", "description", "category", "serviceRegions", "pricingInfo", "geoTaxonomy"}
    expression = sku["pricingInfo"][0]["pricingExpression"]
    assert set(expression) >= {"usageUnit", "tieredRates", "baseUnit", "baseUnitConversionFactor"}
    assert sku["name"] == f"services/{data['services'][0]['serviceId']}/skus/{sku['skuId']}"
    assert book.currency == "USD" and book.header["date"] == _build_price_book_tool().BOOK_DATE
    assert book.header["regions"] == list(PRICE_BOOK_REGIONS)  # what a refresh fetches by default


@pytest.mark.parametrize("purchase", skus.PURCHASE_OPTIONS)
@pytest.mark.parametrize("region", REGIONS)
def test_every_family_the_stacks_use_is_priced_in_every_region(book, region, purchase):
    needed = [skus.core_selector(f) for f in ("N1", "N2", "E2", "G2", "A3 High")]
    needed += [skus.ram_selector(f) for f in ("N1", "N2", "E2", "G2", "A3 High")]
    needed += [skus.gpu_selector(g) for g in ("nvidia-l4", "nvidia-h100-80gb")]
    needed += [skus.tpu_selector(v) for v in ("v5e", "v5p", "v6e")] + [skus.LOCAL_SSD]
    missing = [s.label for s in needed if book.find(s, region, purchase) is None]
    assert missing == []


@pytest.mark.parametrize("region", REGIONS)
def test_on_demand_only_things_are_priced(book, region):
    for selector in [skus.core_selector("A2"), skus.gpu_selector("nvidia-tesla-a100"),
                     skus.gpu_selector("nvidia-a100-80gb")] + \
            [skus.disk_selector(d) for d in ("pd-standard", "pd-balanced", "pd-ssd", "pd-extreme")]:
        assert book.find(selector, region) is not None, selector.label
    for mode in skus.CLUSTER_MODES:
        assert book.find(skus.cluster_fee_selector(mode), region).unit_price == D("0.10")


def test_gaps_are_gaps_not_zeroes(book):
    """Where no public source gives a price, the book has none (the estimate then says so)."""
    assert book.find(skus.gpu_selector("nvidia-tesla-t4"), "us-east5") is None
    assert book.find(skus.disk_selector("hyperdisk-balanced"), "us-central1") is None
    assert book.find(skus.core_selector("A2"), "europe-west4", skus.SPOT) is None
    assert all(price.unit_price > 0 for price in book.iter_prices())


def _machine(book, region, purchase, family, vcpus, gib, gpu=None, gpus=0, lssd_gib=0):
    """$/h of a machine from the book's SKUs: cores + RAM + GPUs + bundled Local SSD (GiB-month / 730)."""
    total = vcpus * book.find(skus.core_selector(family), region, purchase).unit_price
    total += gib * book.find(skus.ram_selector(family), region, purchase).unit_price
    if gpu:
        total += gpus * book.find(skus.gpu_selector(gpu), region, purchase).unit_price
    if lssd_gib:
        total += lssd_gib * book.find(skus.LOCAL_SSD, region, purchase).unit_price / 730
    return total


# Published all-in machine prices, $/h, from reference/prices.md section 3 ([CN] pricing.yml, 2026-07-30),
# rounded there to 5 decimals. Most rows were not used to build the shipped book: they are an independent check.
MACHINES = [
    ("us-central1", "on-demand", "N1", 4, 15, None, 0, 0, "0.19000"),
    ("europe-west4", "spot", "N1", 8, 30, None, 0, 0, "0.24306"),
    ("us-east5", "spot", "N1", 16, 60, None, 0, 0, "0.12358"),
    ("us-central1", "on-demand", "N2", 8, 32, None, 0, 0, "0.38847"),
    ("europe-west4", "spot", "N2", 32, 128, None, 0, 0, "0.62189"),
    ("us-central1", "on-demand", "E2", 4, 16, None, 0, 0, "0.13402"),
    ("us-east5", "spot", "E2", 8, 32, None, 0, 0, "0.09301"),
    ("us-central1", "on-demand", "G2", 8, 32, "nvidia-l4", 1, 0, "0.85362"),
    ("us-central1", "spot", "G2", 96, 384, "nvidia-l4", 8, 0, "4.49926"),
    ("us-east5", "on-demand", "G2", 48, 192, "nvidia-l4", 4, 0, "4.50708"),
    ("europe-west4", "on-demand", "G2", 24, 96, "nvidia-l4", 2, 0, "2.10298"),
    ("europe-west4", "spot", "G2", 12, 48, "nvidia-l4", 1, 0, "0.55178"),
    ("us-central1", "on-demand", "A2", 96, 680, "nvidia-tesla-a100", 8, 0, "29.38708"),
    ("us-central1", "spot", "A2", 48, 340, "nvidia-tesla-a100", 4, 0, "7.71208"),
    ("us-east5", "on-demand", "A2", 24, 170, "nvidia-tesla-a100", 2, 0, "7.34677"),
    ("europe-west4", "on-demand", "A2", 96, 1360, "nvidia-tesla-a100", 16, 0, "56.62656"),
    ("us-central1", "on-demand", "A2", 96, 1360, "nvidia-a100-80gb", 8, 3000, "40.55038"),
    ("us-central1", "on-demand", "A3 High", 208, 1872, "nvidia-h100-80gb", 8, 6000, "88.49000"),
    ("us-central1", "on-demand", "A3 High", 26, 234, "nvidia-h100-80gb", 1, 750, "11.06125"),
    ("us-central1", "spot", "A3 High", 26, 234, "nvidia-h100-80gb", 1, 750, "6.32619"),
    ("us-east5", "on-demand", "A3 High", 208, 1872, "nvidia-h100-80gb", 8, 6000, "99.58320"),
    ("europe-west4", "spot", "A3 High", 208, 1872, "nvidia-h100-80gb", 8, 6000, "44.11878"),
    ("europe-west4", "on-demand", "A3 High", 26, 234, "nvidia-h100-80gb", 1, 750, "14.06756"),
]


@pytest.mark.parametrize("region,purchase,family,vcpus,gib,gpu,gpus,lssd,published", MACHINES)
def test_skus_add_up_to_published_machine_prices(book, region, purchase, family, vcpus, gib, gpu, gpus, lssd,
                                                 published):
    total = _machine(book, region, purchase, family, vcpus, gib, gpu, gpus, lssd)
    # The source rounds to 5 decimals; the split of A3/G2 hosts into core and RAM rounds to nanos.
    assert abs(total - D(published)) <= D("0.00002"), f"{total} vs {published}"


def test_tpu_chip_prices_are_per_chip_hour(book):
    # [SP] tpu-v6e-16 row: 16 chips x 2.70 = 43.20 $/h in us-central1 (prices.md s5).
    assert 16 * book.find(skus.tpu_selector("v6e"), "us-central1").unit_price == D("43.20")
    assert book.find(skus.tpu_selector("v5e"), "us-central1", skus.SPOT).unit_price == D("0.24493")


# -- Reading Catalog JSON ---------------------------------------------------------------------------

def _book_file(tmp_path, skus_, currency="USD", service_id=skus.COMPUTE_ENGINE):
    path = tmp_path / "book.json"
    path.write_text(json.dumps({"kind": "aipipe#priceBook", "version": 1, "currency": currency,
                                "header": {"origin": "test", "date": "2026-01-01"},
                                "services": [{"serviceId": service_id, "name": f"services/{service_id}",
                                              "skus": skus_}]}))
    return path


def _sku(sku_id, description, regions, rates, *, unit="h", usage_type="OnDemand", factor=3600, base="s",
         effective="2026-01-01T00:00:00Z", currency="USD", extra_info=()):
    info = {"effectiveTime": effective, "pricingExpression": {
        "usageUnit": unit, "baseUnit": base, "baseUnitConversionFactor": factor,
        "tieredRates": [{"startUsageAmount": start, "unitPrice": {"currencyCode": currency, "units": units,
                                                                  "nanos": nanos}} for start, units, nanos in rates]}}
    return {"skuId": sku_id, "description": description, "serviceRegions": list(regions),
            "category": {"resourceFamily": "Compute", "resourceGroup": "CPU", "usageType": usage_type},
            "pricingInfo": [info, *extra_info]}


def test_money_is_units_plus_nanos_exactly():
    assert money({"units": "11", "nanos": 33850000}, "x") == D("11.03385")
    assert money({"units": "0", "nanos": 1}, "x") == D("0.000000001")
    assert money({"nanos": 500000000}, "x") == D("0.5")
    with pytest.raises(InputError):
        money({"units": "ten"}, "x")


def test_tiered_rates_and_the_price_in_force(tmp_path):
    future = {"effectiveTime": "2999-01-01T00:00:00Z", "pricingExpression": {
        "usageUnit": "GiBy", "tieredRates": [{"startUsageAmount": 0, "unitPrice": {"units": "9", "nanos": 0}}]}}
    path = _book_file(tmp_path, [
        _sku("EGRESS", "Network Internet Egress from Americas to EMEA", ["us-central1"],
             [(0, "0", 120000000), (1024, "0", 110000000), (10240, "0", 80000000)], unit="GiBy", base="By",
             factor=1073741824, extra_info=[future])])
    price = PriceBook.load(path).price("EGRESS")
    assert price.unit_price == D("0.12")  # the scheduled 2999 price is not in force
    assert (price.rate(D(0)), price.rate(D(1024)), price.rate(D(5000)), price.rate(D(20000))) == \
        (D("0.12"), D("0.11"), D("0.11"), D("0.08"))


def test_per_converts_through_the_base_unit(book):
    disk = book.find(skus.disk_selector("pd-standard"), "us-central1")
    assert disk.usage_unit == "GiBy.mo" and disk.unit_price == D("0.04")
    # The Catalog's GiB-month is 2^30 bytes x 31 days of seconds: per GiB-hour that is 1/744 of the month price.
    assert disk.per("GiBy.h").quantize(D("1e-15")) == (D("0.04") / 744).quantize(D("1e-15"))
    core = book.find(skus.core_selector("N2"), "us-central1")
    assert core.per("s") == D("0.031611") / 3600 and core.per("h") == D("0.031611")
    with pytest.raises(ValueError):
        core.per("GiBy.h")


def test_narrowest_sku_wins_and_a_true_tie_is_an_error(tmp_path):
    wide = _sku("WIDE", "N2 Instance Core running in Americas", ["us-central1", "us-east1"], [(0, "0", 31611000)])
    narrow = _sku("NARROW", "N2 Instance Core running in Iowa", ["us-central1"], [(0, "0", 30000000)])
    book = PriceBook.load(_book_file(tmp_path, [wide, narrow]))
    assert book.find(skus.core_selector("N2"), "us-central1").sku_id == "NARROW"
    assert book.find(skus.core_selector("N2"), "us-east1").sku_id == "WIDE"
    twin = _sku("TWIN", "N2 Instance Core running in Iowa (2)", ["us-central1"], [(0, "0", 1)])
    with pytest.raises(AmbiguousSkuError, match="2 SKUs price N2 vCPUs"):
        PriceBook.load(_book_file(tmp_path, [narrow, twin])).find(skus.core_selector("N2"), "us-central1")


def test_commitment_dws_and_sole_tenancy_skus_never_match(tmp_path):
    book = PriceBook.load(_book_file(tmp_path, [
        _sku("CUD", "Commitment v1: N2 Cpu in Americas for 1 Year", ["us-central1"], [(0, "0", 1)],
             usage_type="Commit1Yr"),
        _sku("DWS", "Nvidia L4 GPU attached to DWS Defined Duration VMs running in Iowa", ["us-central1"],
             [(0, "0", 1)]),
        _sku("SOLE", "Nvidia L4 GPU attached to Sole Tenancy VMs running in Iowa", ["us-central1"], [(0, "0", 1)]),
    ]))
    assert book.find(skus.gpu_selector("nvidia-l4"), "us-central1") is None


def test_spot_is_read_from_usage_type_for_vms_and_from_the_description_for_tpus(book):
    assert book.find(skus.core_selector("E2"), "us-central1", skus.SPOT).usage_type == "Preemptible"
    spot_tpu = book.find(skus.tpu_selector("v5e"), "us-central1", skus.SPOT)
    assert spot_tpu.usage_type == "OnDemand" and "Preemptible" in spot_tpu.description


def test_a_book_never_mixes_currencies(tmp_path):
    path = _book_file(tmp_path, [_sku("EUR", "N2 Instance Core running in Iowa", ["us-central1"],
                                      [(0, "0", 1)], currency="EUR")])
    with pytest.raises(InputError, match="currencies are never mixed"):
        PriceBook.load(path)


def test_missing_and_malformed_books_name_the_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        PriceBook.load(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"skus": []}')
    with pytest.raises(InputError, match="aipipe#priceBook"):
        PriceBook.load(bad)


def test_price_book_resolution_order(tmp_path, monkeypatch):
    from aipipe_ops.pricing.price_book import resolve_price_book_path

    assert resolve_price_book_path(None) == SHIPPED_PRICE_BOOK  # fresh workspace dir: the shipped book
    refreshed = tmp_path / "price_book.json"  # beside $AIPIPE_WORKSPACE (conftest puts it in tmp_path)
    refreshed.write_text("{}")
    assert resolve_price_book_path(None) == refreshed
    monkeypatch.setenv("AIPIPE_PRICE_BOOK", str(tmp_path / "env.json"))
    assert resolve_price_book_path(None) == tmp_path / "env.json"
    assert resolve_price_book_path(tmp_path / "option.json") == tmp_path / "option.json"


def test_a_book_refreshed_before_the_header_was_renamed_still_loads(tmp_path):
    """The book's header was the key "snapshot" until 2027-01; a refreshed book of that time keeps its origin."""
    from aipipe_ops.pricing.price_book import PriceBook

    path = _book_file(tmp_path, [])
    data = json.loads(path.read_text())
    data["snapshot"] = data.pop("header") | {"origin": "Cloud Billing Catalog API", "date": "2026-12-01"}
    path.write_text(json.dumps(data))
    book = PriceBook.load(path)
    assert book.header["origin"] == "Cloud Billing Catalog API" and "2026-12-01" in book.label
