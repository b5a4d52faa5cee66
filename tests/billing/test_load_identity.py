"""What a load covers (docs/billing.md "What a load covers"): the same rows never count twice, whatever path,
format or source they arrive through; late rows are added; a conflicting reload is refused and changes nothing; the
lines are checked against control totals taken from the raw rows; sources can be listed and forgotten."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest

from aipipe_ops.billing import runs
from aipipe_ops.billing.attribution.attribute import attribute
from aipipe_ops.billing.attribution.policies import Policy
from aipipe_ops.billing.holdings import forget, held_sources
from aipipe_ops.billing.load import load_billing
from aipipe_ops.errors import InputError, ReconciliationError
from conftest import bq_table_with_rows, insert_runs, utc
from export_rows import gke_labels, net_by_currency, row, write_jsonl, write_parquet

TABLES = ("cost_lines", "export_cells", "billing_export_totals", "loaded_files", "loads")


def export(days=3, start=utc(2026, 10, 1, 12), batch_hours=0) -> list[dict]:
    """A few days of rows in two currencies, exported in batches (one export_time per usage hour)."""
    out = []
    for d in range(days):
        for h in range(4):
            t = start + dt.timedelta(days=d, hours=h)
            exported = t + dt.timedelta(hours=4 + batch_hours)
            out.append(row(start=t, sku="N2 Instance Core running in Americas", cost=1.25 + d + h / 8,
                           credits=[-0.125], labels=gke_labels(pool="cpu", namespace="ns", run="r1"),
                           export_time=exported))
            out.append(row(start=t, sku="Nvidia L4 GPU running in Americas", cost=3.5 + h, currency="EUR",
                           labels=gke_labels(pool="gpu", namespace="kube:unallocated"), export_time=exported))
    return out


def net(ws) -> dict:
    return dict(ws.con.execute("SELECT currency, sum(net_cost) FROM cost_lines GROUP BY 1").fetchall())


def snapshot(ws) -> dict:
    return {t: ws.con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}


def test_the_twin_formats_and_the_table_give_the_same_fingerprint(workspace, tmp_path, bq_client):
    rows = export()
    sources = [str(write_parquet(rows, tmp_path / "a.parquet")), str(write_jsonl(rows, tmp_path / "a.jsonl")),
               bq_table_with_rows(bq_client, rows)]
    first = load_billing(workspace, sources[0])
    assert first.rows_new == len(rows)
    for spec in sources[1:]:
        again = load_billing(workspace, spec)
        assert (again.rows_new, again.rows_held, again.cost_lines) == (0, len(rows), 0), spec
    assert net(workspace) == net_by_currency(rows)
    assert workspace.con.execute("SELECT count(DISTINCT source) FROM export_cells").fetchone()[0] == 1


@pytest.mark.parametrize("spelling", ["other-spelling", "glob", "directory", "same-file"])
def test_another_spelling_of_the_same_files_counts_once(workspace, tmp_path, spelling, monkeypatch):
    rows = export()
    (tmp_path / "x").mkdir()
    path = write_parquet(rows, tmp_path / "x" / "part-00000.parquet")
    load_billing(workspace, str(path))
    monkeypatch.chdir(tmp_path)
    spec = {"other-spelling": "./x/../x/part-00000.parquet", "glob": str(tmp_path / "x" / "*.parquet"),
            "directory": str(tmp_path / "x"), "same-file": str(path)}[spelling]
    again = load_billing(workspace, spec)
    assert again.files_skipped == 1 and again.cost_lines == 0
    assert net(workspace) == net_by_currency(rows)


def test_a_copy_of_a_file_is_recognised_without_reading_it(workspace, tmp_path):
    rows = export()
    path = write_parquet(rows, tmp_path / "a.parquet")
    load_billing(workspace, str(path))
    (tmp_path / "copy").mkdir()
    shutil.copy(path, tmp_path / "copy" / "a.parquet")
    again = load_billing(workspace, str(tmp_path / "copy"))
    assert again.files_skipped == 1 and "already loaded" in again.notes[0]
    assert net(workspace) == net_by_currency(rows)


def test_twins_inside_one_load_are_read_once(workspace, tmp_path):
    rows = export(days=4)
    day1, rest = rows[:8], rows[8:]
    write_parquet(day1, tmp_path / "part-00000.parquet")
    write_parquet(rest, tmp_path / "part-00001.parquet")
    # the same rows as part-00000, written again in another order (another file, other bytes)
    write_parquet(list(reversed(day1)), tmp_path / "part-00000-copy.parquet")
    summary = load_billing(workspace, str(tmp_path))
    assert any("part-00000.parquet: holds the same rows as" in n or "part-00000-copy.parquet: holds the same rows as"
               in n for n in summary.notes), summary.notes
    assert net(workspace) == net_by_currency(rows)
    assert summary.rows_new == len(rows)


def test_late_rows_are_added_and_a_partial_reload_is_refused(workspace, tmp_path):
    rows = export(days=2)
    load_billing(workspace, str(write_parquet(rows, tmp_path / "a.parquet")))
    # late rows and a correction for day 1: a later export_time, so new batches
    late = [row(start=utc(2026, 10, 1, 13), sku="N2 Instance Core running in Americas", cost=-0.5,
                labels=gke_labels(pool="cpu", namespace="ns", run="r1"), export_time=utc(2026, 10, 5, 1)),
            row(start=utc(2026, 10, 1, 14), sku="N2 Instance Core running in Americas", cost=0.75,
                labels=gke_labels(pool="cpu", namespace="ns", run="r1"), export_time=utc(2026, 10, 5, 1))]
    added = load_billing(workspace, str(write_parquet(rows + late, tmp_path / "b.parquet")))
    assert (added.rows_new, added.rows_held) == (2, len(rows))
    assert net(workspace) == net_by_currency(rows + late)
    # a file holding only part of a batch already loaded: refused, nothing changes
    before = snapshot(workspace)
    partial = [r for r in rows if not (r["currency"] == "USD" and r["usage_start_time"] == utc(2026, 10, 1, 12))]
    partial.append(dict(rows[0], cost=9.0))
    with pytest.raises(InputError) as err:
        load_billing(workspace, str(write_parquet(partial, tmp_path / "c.parquet")))
    message = str(err.value)
    assert "refused, nothing was loaded" in message and "2026-10-01" in message and "--replace" in message
    assert str(tmp_path / "a.parquet") in message and "2026-10-01 16:00:00" in message
    assert snapshot(workspace) == before
    # on purpose: the batch is replaced
    replaced = load_billing(workspace, str(tmp_path / "c.parquet"), replace=True)
    assert replaced.rows_replaced == 1
    assert net(workspace) == net_by_currency([partial[-1]] + [r for r in rows if r is not rows[0]] + late)


@pytest.mark.parametrize("fault", ["duplicate", "drop"])
def test_a_join_that_loses_or_multiplies_lines_fails_naming_the_day(workspace, tmp_path, monkeypatch, fault):
    rows = export()
    original = runs.resolved_lines_sql

    def faulty(lines, columns):
        sql = original(lines, columns)
        if fault == "duplicate":  # a fan-out: the lines of one day twice
            return f"{sql} UNION ALL SELECT * FROM ({sql}) WHERE usage_day = DATE '2026-10-02' AND currency = 'USD'"
        return f"SELECT * FROM ({sql}) WHERE NOT (usage_day = DATE '2026-10-03' AND currency = 'EUR')"

    monkeypatch.setattr(runs, "resolved_lines_sql", faulty)
    before = snapshot(workspace)
    with pytest.raises(ReconciliationError) as err:
        load_billing(workspace, str(write_parquet(rows, tmp_path / "a.parquet")))
    day = "2026-10-02 USD" if fault == "duplicate" else "2026-10-03 EUR"
    assert day in str(err.value) and "difference" in str(err.value)
    expected = sum(r["cost"] + sum(c["amount"] for c in r["credits"]) for r in rows
                   if r["usage_start_time"].date().isoformat() == day[:10] and r["currency"] == day[-3:])
    sign = "" if fault == "duplicate" else "-"
    assert f"difference {sign}{expected:.9f}" in str(err.value)
    assert snapshot(workspace) == before


def test_the_attribution_reconciles_with_the_cells(workspace, tmp_path, monkeypatch):
    """With the load's own check switched off, the fault reaches the attribution, whose reconciliation (against
    billing_export_totals, now filled from the cells, not from the lines) fails."""
    from aipipe_ops.billing import control_totals

    rows = export()
    original = runs.resolved_lines_sql
    monkeypatch.setattr(runs, "resolved_lines_sql", lambda lines, columns: (
        f"SELECT * FROM ({original(lines, columns)}) WHERE usage_day <> DATE '2026-10-02'"))
    monkeypatch.setattr(control_totals, "check_load", lambda con, load_id: None)
    insert_runs(workspace, [{"run_id": "r1", "pipeline": "p1"}])
    load_billing(workspace, str(write_parquet(rows, tmp_path / "a.parquet")))
    with pytest.raises(ReconciliationError, match="does not reconcile") as err:
        attribute(workspace, Policy())
    assert "2026-10-02 USD -9.25" in str(err.value)  # the attribution names the day and the difference
    with pytest.raises(ReconciliationError, match="2026-10-02 USD"):
        control_totals.check_days(workspace.con)


def test_sources_and_forget(workspace, tmp_path, run_cli):
    rows = export()
    a = write_parquet(rows[:8], tmp_path / "a.parquet")
    b = write_parquet(rows[8:], tmp_path / "b.parquet")
    code, out, err = run_cli("billing", "load", "--billing", str(a), "--billing", str(b), "--format", "json")
    assert code == 0, err
    code, out, err = run_cli("billing", "sources", "--format", "json")
    assert code == 0, err
    held = json.loads(out)
    assert {(h["source"], h["currency"]) for h in held} == {(str(p), c) for p in (a, b) for c in ("USD", "EUR")}
    assert sum(h["rows"] for h in held) == len(rows)
    code, out, err = run_cli("billing", "forget", str(a), "--format", "csv")
    assert code == 0, err
    assert "export_batches" in out
    code, out, err = run_cli("billing", "sources", "--format", "csv")
    assert str(a) not in out and str(b) in out
    code, out, err = run_cli("billing", "load", "--billing", str(a))   # loads again: nothing is remembered
    assert code == 0, err
    code, _, err = run_cli("billing", "forget", "nope")
    assert code != 0 and "no billing source 'nope'" in err


def test_bigquery_loads_incrementally_past_the_watermark(workspace, bq_client):
    from aipipe_ops.billing.sources import open_source

    rows = export(days=6)
    spec = bq_table_with_rows(bq_client, rows)
    first = load_billing(workspace, spec)
    assert first.rows_new == len(rows) and "incremental" not in first.description
    # a day of new rows arrives, with a later export_time
    later = export(days=1, start=utc(2026, 10, 7, 12))
    bq_client.insert_rows_json(spec.removeprefix("bq://"), __import__("export_rows").bigquery_json(later))
    second = load_billing(workspace, spec)
    assert "incremental" in second.description
    assert second.rows_new == len(later)
    assert second.export_rows < len(rows)  # only the batches within the margin of the watermark were read again
    assert net(workspace) == net_by_currency(rows + later)
    third = load_billing(workspace, spec)
    assert third.rows_new == 0 and third.export_rows <= len(later)
    source = open_source(spec)
    source.incremental_since = utc(2026, 10, 8, 0)
    sql = source.lines_sql(__import__("aipipe_ops.billing.normalise", fromlist=["UsageWindow"]).UsageWindow())
    assert "`export_time` > TIMESTAMP '2026-10-07 23:00:00+00'" in sql
    assert "_PARTITIONTIME >= TIMESTAMP '2026-10-05 00:00:00+00'" in sql


def test_held_sources_lists_each_source(workspace, tmp_path):
    rows = export()
    load_billing(workspace, str(write_parquet(rows, tmp_path / "a.parquet")))
    [usd] = [h for h in held_sources(workspace.con) if h["currency"] == "USD"]
    assert usd["first_usage_day"] == dt.date(2026, 10, 1) and usd["last_usage_day"] == dt.date(2026, 10, 3)
    assert usd["billing_account"] == "012345-6789AB-CDEF01" and usd["rows"] == len(rows) // 2
    assert forget(workspace, str(tmp_path / "a.parquet"))["rows"] == len(rows)
    assert held_sources(workspace.con) == [] and workspace.count("cost_lines") == 0


# The version 1 fingerprint form, as workspaces before schema version 11 stored it: every dimension's text in every
# line (frozen here: it is what those workspaces hold).
_V1_PARTS = ("billing_account", "invoice_month", "project", "service_id", "service", "sku_id", "sku", "cluster",
             "node_pool", "namespace", "run_label", "workflow", "vertex_run", "currency", "cost_type", "step_label",
             "workload_label", "region", "kept_labels")
V1_FINGERPRINT = ("CAST(md5_number(concat_ws(chr(31), "
                  + ", ".join(f"coalesce(CAST({c} AS VARCHAR), chr(30))" for c in _V1_PARTS)
                  + ", coalesce(CAST(epoch_us(usage_start) AS VARCHAR), chr(30)), "
                    "coalesce(CAST(epoch_us(export_time) AS VARCHAR), chr(30)), CAST(CAST(cost AS DECIMAL(38, 9)) "
                    "AS VARCHAR), CAST(CAST(credits AS DECIMAL(38, 9)) AS VARCHAR), CAST(export_rows AS VARCHAR)))"
                    " >> 64 AS UBIGINT)")


def test_cells_fingerprinted_by_an_older_aipipe_are_still_held(workspace, tmp_path):
    rows = export()
    load_billing(workspace, str(write_parquet(rows, tmp_path / "a.parquet")))
    current = workspace.con.execute("SELECT * FROM export_cells ORDER BY ALL").fetchall()
    assert {r[0] for r in workspace.con.execute("SELECT fingerprint_version FROM export_cells").fetchall()} == {2}
    # What a workspace from before version 11 holds: the version 1 fingerprints, no form recorded.
    workspace.con.execute(f"""
        UPDATE export_cells e SET fingerprint = f.fp, fingerprint_version = NULL
        FROM (SELECT load_id, billing_account, invoice_month, usage_day, currency, export_time,
                     sum({V1_FINGERPRINT}) AS fp FROM cost_lines GROUP BY ALL) f
        WHERE e.load_id = f.load_id AND e.invoice_month = f.invoice_month AND e.usage_day = f.usage_day
          AND e.currency = f.currency AND e.export_time = f.export_time""")
    assert workspace.con.execute("SELECT * FROM export_cells ORDER BY ALL").fetchall() != current
    lines = snapshot(workspace)["cost_lines"]
    again = load_billing(workspace, str(write_jsonl(rows, tmp_path / "a.jsonl")))  # the twin: read, not skipped
    assert (again.rows_new, again.rows_held, again.cost_lines) == (0, len(rows), 0)
    assert workspace.con.execute("SELECT * FROM export_cells ORDER BY ALL").fetchall() == current
    assert snapshot(workspace)["cost_lines"] == lines
