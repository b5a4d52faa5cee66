"""Billing export files: Parquet, JSONL and CSV read the same; old schemas load; a missing column is refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from aipipe_ops.billing.load import load_billing
from aipipe_ops.errors import InputError
from conftest import utc
from export_rows import GKE, WRITERS, gke_labels, net_by_currency, row


def sample_rows() -> list[dict]:
    h = utc(2026, 3, 2, 10)
    return [
        row(start=h, sku="N2 Instance Core running in Americas", cost=1.234567, credits=[-0.1, -0.02],
            labels=gke_labels(pool="cpu", namespace="team", run="r1")),
        row(start=h, sku="N2 Instance Ram running in Americas", cost=0.5,
            labels=gke_labels(pool="cpu", namespace="team", run="r1")),
        row(start=h + dt.timedelta(hours=1), sku="N2 Instance Core running in Americas", cost=2.0,
            labels=gke_labels(pool="cpu", namespace="kube:unallocated")),
        row(start=h, sku="Regional Kubernetes Clusters", cost=0.1, credits=[-0.1], service=GKE,
            labels=gke_labels()),
        row(start=h, sku="Balanced PD Capacity", cost=0.75),  # no labels at all
        row(start=h, sku="N2 Instance Core running in Americas", cost=3.0, currency="EUR",
            labels=gke_labels(pool="cpu", namespace="team", run="r2")),
    ]


def cost_lines(ws) -> list[tuple]:
    return ws.con.execute("""
        SELECT usage_start, usage_day, invoice_month, project, service, sku_id, sku, resource_kind, cluster,
               node_pool, namespace, run_label, workflow, currency, cost_type, cost, credits, net_cost, export_rows
        FROM cost_lines ORDER BY ALL""").fetchall()


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_every_format_gives_the_same_cost_lines(workspace, tmp_path, fmt):
    rows = sample_rows()
    path = WRITERS[fmt](rows, tmp_path / f"export.{fmt}")
    summary = load_billing(workspace, str(path))
    assert {t["currency"]: t["net_cost"] for t in summary.totals} == net_by_currency(rows)
    assert summary.export_rows == len(rows)
    lines = cost_lines(workspace)
    # The Parquet reading is the reference: every format must match it line for line.
    from aipipe_ops.workspace import Workspace
    with Workspace.open(tmp_path / "reference.duckdb") as ref:
        load_billing(ref, str(WRITERS["parquet"](rows, tmp_path / "reference.parquet")))
        assert lines == cost_lines(ref)


def test_glob_of_files_with_an_older_schema(workspace, tmp_path):
    """An old export table lacks cost_type, export_time, invoice and project: it loads beside a new one."""
    rows = sample_rows()
    WRITERS["parquet"](rows[:3], tmp_path / "part-000.parquet")
    WRITERS["parquet"](rows[3:], tmp_path / "part-001.parquet",
                       drop=("cost_type", "export_time", "invoice", "project", "resource"))
    summary = load_billing(workspace, str(tmp_path / "part-*.parquet"))
    assert {t["currency"]: t["net_cost"] for t in summary.totals} == net_by_currency(rows)
    old = workspace.con.execute("SELECT DISTINCT cost_type, invoice_month, project FROM cost_lines "
                                "WHERE source LIKE '%part-*%' AND export_time IS NULL").fetchall()
    assert old == [("regular", None, None)]


@pytest.mark.parametrize("fmt", sorted(WRITERS))
@pytest.mark.parametrize("dropped,column", [("credits", "credits.amount"), ("labels", "labels.key"),
                                            ("usage_start_time", "usage_start_time"), ("currency", "currency")])
def test_a_file_without_a_needed_column_is_refused_by_name(workspace, tmp_path, fmt, dropped, column):
    good = WRITERS[fmt](sample_rows(), tmp_path / f"a-good.{fmt}")
    bad = WRITERS[fmt](sample_rows(), tmp_path / f"b-old.{fmt}", drop=(dropped,))
    with pytest.raises(InputError) as err:
        load_billing(workspace, str(tmp_path / f"*.{fmt}"))
    assert str(bad) in str(err.value) and column in str(err.value)
    assert str(good) not in str(err.value)
    assert workspace.count("cost_lines") == 0


def test_the_cli_refusal_is_one_line_naming_file_and_column(run_cli, tmp_path):
    bad = WRITERS["parquet"](sample_rows(), tmp_path / "old.parquet", drop=("credits",))
    code, out, err = run_cli("billing", "load", "--billing", str(bad))
    assert code == 2
    assert err.count("\n") == 1 and str(bad) in err and "credits.amount" in err


def test_a_directory_mixing_formats_is_refused(workspace, tmp_path):
    WRITERS["parquet"](sample_rows(), tmp_path / "part-0.parquet")
    WRITERS["jsonl"](sample_rows(), tmp_path / "part-0.jsonl")
    with pytest.raises(InputError, match="mixes jsonl and parquet"):
        load_billing(workspace, str(tmp_path))


def test_reloading_a_source_counts_nothing_twice(workspace, tmp_path):
    """Reloading an unchanged file skips it (no rescan) and records no new load: the attribution stays current."""
    rows = sample_rows()
    path = WRITERS["parquet"](rows, tmp_path / "export.parquet")
    load_billing(workspace, str(path))
    again = load_billing(workspace, str(path))
    assert again.files_skipped == 1 and again.cost_lines == 0
    got = dict(workspace.con.execute("SELECT currency, sum(net_cost) FROM cost_lines GROUP BY 1").fetchall())
    assert got == net_by_currency(rows)
    assert workspace.con.execute("SELECT count(*) FROM loads WHERE kind = 'billing'").fetchone()[0] == 1


def test_usage_window_selects_pacific_days(workspace, tmp_path):
    from aipipe_ops.billing.normalise import UsageWindow

    # 2026-03-02 07:30 UTC is still 2026-03-01 in US/Pacific.
    rows = [row(start=utc(2026, 3, 2, 7), sku="N2 Instance Core running in Americas", cost=1.0),
            row(start=utc(2026, 3, 2, 8), sku="N2 Instance Core running in Americas", cost=2.0)]
    path = WRITERS["parquet"](rows, tmp_path / "export.parquet")
    load_billing(workspace, str(path), UsageWindow(dt.date(2026, 3, 2), dt.date(2026, 3, 2)))
    assert workspace.con.execute("SELECT usage_day, sum(net_cost) FROM cost_lines GROUP BY 1").fetchall() == [
        (dt.date(2026, 3, 2), Decimal("2.000000000"))]
