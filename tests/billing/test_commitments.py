"""docs/cost-model.md §13 (commitments), reproduced exactly from the page under both policies, and the rules around
it: a commitment fully used leaves nothing unused, one nobody used stays whole, pools are per region and resource
kind, and a spend-based fee offset by FEE_UTILIZATION_OFFSET stays as what went unused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aipipe_ops.billing.attribution.attribute import attribute
from aipipe_ops.billing.attribution.policies import Policy
from aipipe_ops.billing.load import load_billing
from conftest import insert_runs, utc
from export_rows import gke_labels, row, write_parquet
from test_cost_model_example import doc_table, money

HOUR = utc(2026, 3, 2, 18)
FEE = "Commitment v1: A2 Cpu in Americas for 1 Year"
A2 = "A2 Instance Core running in Americas"


def _doc_rows() -> list[dict]:
    out = []
    for r in doc_table("Commitments example: export rows"):
        labels = {}
        if r["namespace"]:
            labels = gke_labels("prod", pool="gpu-a100", namespace=r["namespace"], run=r["run"] or None)
        if r["pod label"]:
            key, value = r["pod label"].split("=")
            labels[f"k8s-label/{key}"] = value
        credit = money(r["commitment credit"])
        assert money(r["cost"]) + credit == money(r["net"])
        out.append(row(start=HOUR, sku=r["sku"], cost=float(r["cost"]), labels=labels,
                       credits=[float(credit)] if credit else [], credit_type="COMMITTED_USAGE_DISCOUNT",
                       usage_amount=float(r["usage amount"])))
    return out


def _by_workload(ws) -> dict[str, dict[str, Decimal]]:
    out: dict[str, dict[str, Decimal]] = {}
    for name, bucket, cost in ws.con.execute(
            "SELECT coalesce(run_id, workload, '(fees)'), bucket, sum(cost) FROM attribution_lines "
            "GROUP BY ALL").fetchall():
        out.setdefault(name, {})[bucket] = cost
    return out


def _load(workspace, tmp_path, rows) -> None:
    insert_runs(workspace, [{"run_id": "run-a", "pipeline": "finetune"}])
    load_billing(workspace, str(write_parquet(rows, tmp_path / "export.parquet")))


@pytest.mark.parametrize("commitments", ["amortize", "separate"])
def test_commitments_match_the_page(workspace, tmp_path, commitments):
    _load(workspace, tmp_path, _doc_rows())
    result = attribute(workspace, Policy(commitments=commitments))
    got = _by_workload(workspace)
    want = [r for r in doc_table("Commitments example: result") if r["commitments"] == commitments]
    for r in want:
        buckets = got.get(r["workload"], {})
        for bucket in ("direct", "commitment", "unused_commitment"):
            assert buckets.get(bucket, Decimal(0)) == money(r[bucket]), (r["workload"], bucket)
    [rec] = result.reconciliation
    assert rec["status"] == "ok" and rec["export_net_total"] == rec["buckets_total"] == Decimal("2.00")


def _hour_rows(fee_units: float, used: list[float], *, region="us-central1", fee_region="us-central1",
               sku=A2) -> list[dict]:
    """A 0.50/vCPU-h commitment of `fee_units` vCPU-seconds and run-a usage lines of `used` vCPU-seconds each, fully
    covered (credit = -cost)."""
    rows = [row(start=HOUR, sku=FEE, cost=fee_units / 3600 * 0.5, usage_amount=fee_units, region=fee_region)]
    for units in used:
        cost = units / 3600 * 0.8
        rows.append(row(start=HOUR, sku=sku, cost=cost, credits=[-cost], credit_type="COMMITTED_USAGE_DISCOUNT",
                        usage_amount=units, region=region,
                        labels=gke_labels("prod", pool="gpu-a100", namespace="team-a", run="run-a")))
    return rows


def _buckets(ws) -> dict[str, Decimal]:
    """Money by bucket (buckets holding 0 left out)."""
    return {b: c for b, c in ws.con.execute("SELECT bucket, sum(cost) FROM attribution_lines GROUP BY 1").fetchall()
            if c}


def test_a_fully_used_commitment_leaves_nothing_unused(workspace, tmp_path):
    _load(workspace, tmp_path, _hour_rows(7200, [3600, 3600]))
    attribute(workspace, Policy())
    assert _buckets(workspace) == {"direct": Decimal("1.00")}


def test_usage_beyond_the_commitment_does_not_absorb_more_than_the_fee(workspace, tmp_path):
    # The export reports covered units up to the commitment only; a rounding excess must not create money.
    _load(workspace, tmp_path, _hour_rows(3600, [3600, 3601]))
    attribute(workspace, Policy())
    buckets = _buckets(workspace)
    assert buckets.get("unused_commitment", 0) == 0 and sum(buckets.values()) == Decimal("0.50")


def test_a_commitment_in_another_region_covers_nothing_here(workspace, tmp_path):
    _load(workspace, tmp_path, _hour_rows(7200, [3600], region="us-central1", fee_region="europe-west4"))
    attribute(workspace, Policy())
    assert _buckets(workspace) == {"unused_commitment": Decimal("1.00")}


def test_a_cpu_commitment_does_not_cover_gpu_usage(workspace, tmp_path):
    _load(workspace, tmp_path, _hour_rows(7200, [3600], sku="Nvidia Tesla A100 GPU running in Americas"))
    attribute(workspace, Policy())
    assert _buckets(workspace) == {"unused_commitment": Decimal("1.00")}


def test_a_spend_based_fee_offset_by_utilisation_keeps_its_unused_part(workspace, tmp_path):
    fee = row(start=HOUR, sku="Commitment fee: Compute flexible CUD 1 Year", cost=1.00, credits=[-0.75],
              credit_type="FEE_UTILIZATION_OFFSET", usage_amount=1.0)
    used = row(start=HOUR, sku=A2, cost=0.75, labels=gke_labels("prod", pool="cpu", namespace="team-a", run="run-a"))
    _load(workspace, tmp_path, [fee, used])
    attribute(workspace, Policy())
    assert _buckets(workspace) == {"direct": Decimal("0.75"), "unused_commitment": Decimal("0.25")}


def test_idle_on_committed_nodes_carries_its_part_of_the_fee_to_the_workloads(workspace, tmp_path):
    rows = _hour_rows(7200, [3600])
    idle = row(start=HOUR, sku=A2, cost=0.8, credits=[-0.8], credit_type="COMMITTED_USAGE_DISCOUNT",
               usage_amount=3600, labels=gke_labels("prod", pool="gpu-a100", namespace="kube:unallocated"))
    _load(workspace, tmp_path, rows + [idle])
    attribute(workspace, Policy(idle="share"))
    run = dict(workspace.con.execute("SELECT bucket, sum(cost) FROM run_costs GROUP BY 1").fetchall())
    assert run == {"direct": Decimal("0.50"), "idle_share": Decimal("0.50")}


def test_lines_loaded_by_an_older_version_are_refreshed_by_loading_the_source_again(run_cli, tmp_path):
    """After an upgrade whose migration drops the cells' fingerprints (workspace.py version 9), `aipipe costs` says
    which sources need reloading; loading the same file again rewrites their lines (the same money) and the
    commitment is amortised."""
    from aipipe_ops.workspace import Workspace

    ws_path = tmp_path / "ws.duckdb"
    export = write_parquet(_doc_rows(), tmp_path / "export.parquet")
    with Workspace.open(ws_path) as ws:
        insert_runs(ws, [{"run_id": "run-a", "pipeline": "finetune"}])
        load_billing(ws, str(export))
        # What an older aipipe left: lines without the new columns, cells without fingerprints, files remembered
        # as read no longer (the migration forgets them).
        ws.con.execute("UPDATE cost_lines SET region = NULL, usage_amount = NULL, cud_credits = NULL")
        ws.con.execute("UPDATE export_cells SET fingerprint = NULL")
        ws.con.execute("DELETE FROM loaded_files")
    code, _, err = run_cli("--workspace", ws_path, "costs")
    assert code == 0 and "loaded by an older aipipe" in err and "Load them again" in err
    code, _, err = run_cli("--workspace", ws_path, "billing", "load", "--billing", str(export))
    assert code == 0 and "their cost lines were rewritten" in err
    with Workspace.open(ws_path) as ws:
        assert ws.con.execute("SELECT count(*) FROM cost_lines WHERE region IS NULL").fetchone()[0] == 0
        assert ws.con.execute("SELECT count(*) FROM export_cells WHERE fingerprint IS NULL").fetchone()[0] == 0
        attribute(ws, Policy())
        assert _by_workload(ws)["run-a"] == {"direct": Decimal("1.000000000")}
        assert ws.con.execute("SELECT sum(net_cost) FROM cost_lines").fetchone()[0] == Decimal("2.00")


def test_the_same_export_in_another_row_order_gives_the_same_nano_units(tmp_path):
    """Seven covered lines with equal credits split a fee that does not divide by seven: the left-over nano-units go
    by the lines' keys, not by the order the load happened to write them in."""
    from aipipe_ops.workspace import Workspace

    fee = row(start=HOUR, sku=FEE, cost=1.0, usage_amount=7 * 3600)
    used = [row(start=HOUR, sku=A2, cost=0.8, credits=[-0.8], credit_type="COMMITTED_USAGE_DISCOUNT",
                usage_amount=3600, labels=gke_labels("prod", pool="gpu-a100", namespace="team-a", run=f"run-{i}"))
            for i in range(7)]
    results = []
    for name, rows in (("forward", [fee, *used]), ("reversed", [*reversed(used), fee])):
        with Workspace.open(tmp_path / f"{name}.duckdb") as ws:
            load_billing(ws, str(write_parquet(rows, tmp_path / f"{name}.parquet")))
            attribute(ws, Policy())
            results.append(sorted(ws.con.execute(
                "SELECT run_id, sum(cost) FROM attribution_lines GROUP BY 1").fetchall(), key=str))
    assert results[0] == results[1]
    parts = [cost for run, cost in results[0] if run]
    assert sum(parts) == Decimal("1.00") and {str(p) for p in parts} == {"0.142857143", "0.142857142"}
