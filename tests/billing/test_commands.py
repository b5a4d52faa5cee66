"""`aipipe billing load` and `aipipe costs` through the CLI: every view adds up to the export's net total."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest

from test_cost_model_example import export_rows
from export_rows import write_parquet


@pytest.fixture
def export(tmp_path):
    return write_parquet(export_rows(), tmp_path / "export.parquet")


def test_billing_load_prints_the_export_totals(run_cli, export):
    code, out, err = run_cli("billing", "load", "--billing", export, "--format", "json")
    assert code == 0, err
    [summary] = json.loads(out)
    assert summary["net_cost"] == "27.500000000" and summary["export_rows"] == 9


@pytest.mark.parametrize("by", ["pipeline", "run", "step", "sku", "kind", "day"])
@pytest.mark.parametrize("idle,shared", [("separate", "separate"), ("share", "weighted"), ("share", "even")])
def test_every_view_adds_up_to_the_export(run_cli, export, by, idle, shared):
    code, out, err = run_cli("costs", "--billing", export, "--by", by, "--idle", idle, "--shared", shared,
                             "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert sum(Decimal(r["total"]) for r in data["rows"]) == Decimal("27.50")
    [rec] = data["reconciliation"]
    assert rec["status"] == "ok" and Decimal(rec["export_net_total"]) == Decimal("27.50")


def test_csv_rows_on_stdout_and_reconciliation_on_stderr(run_cli, export):
    code, out, err = run_cli("costs", "--billing", export, "--by", "kind", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["resource_kind"] for r in rows} == {"cpu", "gpu", "cluster_fee", "other"}
    assert "export_net_total" in err and "27.500000000" in err


def test_table_output_names_policy_and_reconciliation(run_cli, export):
    code, out, _ = run_cli("costs", "--billing", export, "--by", "run", "--idle", "share")
    assert code == 0
    assert "Costs by run (idle: share, shared: separate, commitments: amortize)" in out and "Reconciliation" in out and " ok" in out


def test_costs_without_billing_data_is_a_clear_error(run_cli):
    code, _, err = run_cli("costs", "--by", "run")
    assert code == 2 and "aipipe billing load" in err


def test_reconciliation_mismatch_is_an_error(run_cli, export, tmp_path):
    from aipipe_ops.workspace import Workspace, resolve_workspace_path

    assert run_cli("billing", "load", "--billing", export)[0] == 0
    with Workspace.open(resolve_workspace_path()) as ws:  # lose a cent, as a buggy loader would
        ws.con.execute("UPDATE cost_lines SET net_cost = net_cost - 0.01 WHERE resource_kind = 'gpu' "
                       "AND namespace = 'kube:unallocated'")
    code, out, err = run_cli("costs", "--by", "run")
    assert code == 2
    assert "does not reconcile" in err and "27.500000000" in err and "27.490000000" in err


def test_costs_reuses_the_latest_attribution_until_something_changes(run_cli, export):
    from aipipe_ops.workspace import Workspace, resolve_workspace_path

    def attributions() -> list[tuple]:
        with Workspace.open(resolve_workspace_path()) as ws:
            return ws.con.execute("SELECT attribution_id, idle_policy FROM attributions ORDER BY 1").fetchall()

    def by_run(*options) -> dict:
        code, out, err = run_cli("costs", "--by", "run", "--format", "json", *options)
        assert code == 0, err
        return json.loads(out)

    assert run_cli("billing", "load", "--billing", export)[0] == 0
    first = by_run("--idle", "share")
    assert by_run("--idle", "share") == first and attributions() == [(1, "share")]       # the same question
    by_run("--idle", "separate")                                                        # another policy
    by_run("--idle", "separate", "--since", "2026-01-01")                               # another window
    by_run("--idle", "separate", "--since", "2026-01-01", "--recompute")                # asked for
    assert [a for a, _ in attributions()] == [1, 2, 3, 4]
    assert run_cli("billing", "load", "--billing", export)[0] == 0                      # nothing new: current
    assert by_run("--idle", "separate", "--since", "2026-01-01") and len(attributions()) == 4
    with Workspace.open(resolve_workspace_path()) as ws:
        source = ws.con.execute("SELECT any_value(source) FROM export_cells").fetchone()[0]
    assert run_cli("billing", "forget", source)[0] == 0                                 # forgotten: stale
    assert run_cli("billing", "load", "--billing", export)[0] == 0
    assert by_run("--idle", "share") == first and len(attributions()) == 5
