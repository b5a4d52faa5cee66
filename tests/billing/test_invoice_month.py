"""`aipipe costs --invoice-month`: the rows of one invoice month -- late rows of the month before and tax
included, the month's own rows billed later excluded -- reconciled with that month's total (issue 13 item 6)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from conftest import utc
from export_rows import INVOICE, gke_labels, net_by_currency, row, write_parquet


def _rows() -> list[dict]:
    cpu = "N2 Instance Core running in Americas"
    return [
        # October usage billed in October.
        row(start=utc(2026, 10, 30, 18), sku=cpu, cost=4.0, labels=gke_labels(pool="cpu-pool", namespace="team-a")),
        # October 31 usage that arrived late: billed on the November invoice.
        row(start=utc(2026, 10, 31, 18), sku=cpu, cost=2.5, invoice_month="202611",
            labels=gke_labels(pool="cpu-pool", namespace="team-a"), export_time=utc(2026, 11, 3, 2)),
        # November usage, with a credit.
        row(start=utc(2026, 11, 2, 18), sku=cpu, cost=10.0, credits=(-1.25,),
            labels=gke_labels(pool="cpu-pool", namespace="team-b")),
        # The month's tax: no usage labels, its own cost type.
        row(start=utc(2026, 11, 1, 8), sku="Tax", cost=0.75, service=INVOICE, cost_type="tax"),
        # November 30 usage billed in December.
        row(start=utc(2026, 11, 30, 20), sku=cpu, cost=6.0, invoice_month="202612",
            labels=gke_labels(pool="cpu-pool", namespace="team-a")),
    ]


@pytest.fixture
def export(tmp_path):
    rows = _rows()
    return write_parquet(rows, tmp_path / "export.parquet"), rows


def _costs(run_cli, path, *options) -> dict:
    code, stdout, stderr = run_cli("costs", "--billing", str(path), "--by", "sku", "--format", "json", *options)
    assert code == 0, stderr
    return json.loads(stdout)


def test_the_invoice_month_holds_late_rows_and_tax_and_reconciles_with_its_total(run_cli, export):
    path, rows = export
    november = [r for r in rows if r["invoice"]["month"] == "202611"]
    data = _costs(run_cli, path, "--invoice-month", "2026-11")
    [rec] = data["reconciliation"]
    assert rec["status"] == "ok" and data["invoice_month"] == "2026-11"
    assert Decimal(rec["export_net_total"]) == net_by_currency(november)["USD"] == Decimal("12.00")
    assert sum(Decimal(r["total"]) for r in data["rows"]) == Decimal("12.00")
    # The same rows by usage day: the late October row is October's, the November 30 row November's.
    by_days = _costs(run_cli, path, "--since", "2026-11-01", "--until", "2026-11-30")
    assert Decimal(by_days["reconciliation"][0]["export_net_total"]) == Decimal("15.50")


def test_the_export_spelling_of_the_month_is_accepted(run_cli, export):
    path, _ = export
    assert _costs(run_cli, path, "--invoice-month", "202610")["reconciliation"][0]["export_net_total"] == "4.000000000"


@pytest.mark.parametrize("options, message", [
    (("--invoice-month", "2026-13"), "--invoice-month '2026-13': expected a month as YYYY-MM"),
    (("--invoice-month", "Nov"), "--invoice-month 'Nov': expected a month as YYYY-MM"),
    (("--invoice-month", "2026-11", "--since", "2026-11-01"), "give one or the other"),
])
def test_bad_months_are_one_line_errors(run_cli, export, options, message):
    path, _ = export
    code, _, stderr = run_cli("costs", "--billing", str(path), *options)
    assert code == 2 and message in stderr and len(stderr.strip().splitlines()) == 1


def test_a_month_without_rows_says_which_months_are_held(run_cli, export):
    path, _ = export
    code, _, stderr = run_cli("costs", "--billing", str(path), "--invoice-month", "2025-01")
    assert code == 0 and "no cost in invoice month 2025-01" in stderr and "2026-10, 2026-11, 2026-12" in stderr
