"""`aipipe costs --by label:KEY` (issue 14 item 3): every bucket by the value of any export label, shares included
(a share carries the labels of the workload that received it), adding up to the export; labels that name one pod
never split lines."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from conftest import insert_runs, utc
from export_rows import gke_labels, row, write_parquet

HOUR = utc(2026, 3, 2, 18)
CPU = "N2 Instance Core running in Americas"


def _rows() -> list[dict]:
    def pod(namespace, cost, team=None, run=None, **extra):
        labels = gke_labels("prod", pool="cpu-pool", namespace=namespace, run=run, **extra)
        if team:
            labels["k8s-label/team"] = team
        return row(start=HOUR, sku=CPU, cost=cost, labels=labels)

    return [
        pod("team-a", 3.0, team="ml", run="run-a", **{"k8s-label/pod-template-hash": "7f9c"}),
        pod("team-a", 1.0, team="ml", run="run-a", **{"k8s-label/pod-template-hash": "5d2e"}),
        pod("team-a", 2.0, team="ml", **{"k8s-label/notebook-name": "nb-esra"}),
        pod("team-b", 2.0, team="search", run="run-b"),
        pod("kube:unallocated", 4.0),                     # idle: shared 6 : 2 over ml's 6 and search's 2
        row(start=HOUR, sku="Tax", cost=0.5, cost_type="tax"),
    ]


@pytest.fixture
def export(tmp_path, workspace):
    insert_runs(workspace, [{"run_id": "run-a", "pipeline": "taxi"}, {"run_id": "run-b", "pipeline": "rank"}])
    workspace.close()
    return write_parquet(_rows(), tmp_path / "export.parquet"), workspace.path


def test_every_bucket_by_a_label_value_adds_up_to_the_export(run_cli, export):
    path, ws = export
    code, out, err = run_cli("--workspace", ws, "costs", "--billing", str(path), "--by", "label:k8s-label/team",
                             "--idle", "share", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    rows = {r["value"]: r for r in data["rows"]}
    assert set(rows) == {"ml", "search", None}
    assert Decimal(rows["ml"]["direct"]) == Decimal("6.00") and Decimal(rows["ml"]["idle_share"]) == Decimal("3.00")
    assert Decimal(rows["search"]["direct"]) == Decimal("2.00") and Decimal(rows["search"]["idle_share"]) == 1
    assert Decimal(rows[None]["total"]) == Decimal("0.50")           # the tax carries no team
    assert sum(Decimal(r["total"]) for r in data["rows"]) == Decimal(data["reconciliation"][0]["export_net_total"])
    assert all(r["label"] == "k8s-label/team" for r in data["rows"])


def test_labels_that_name_one_pod_do_not_split_lines(run_cli, export):
    from aipipe_ops.workspace import Workspace

    path, ws = export
    assert run_cli("--workspace", ws, "billing", "load", "--billing", str(path))[0] == 0
    with Workspace.open(ws, read_only=True) as w:
        lines, kept = w.con.execute("SELECT count(*), count(*) FILTER (WHERE kept_labels LIKE '%pod-template%') "
                                    "FROM cost_lines WHERE run_label = 'run-a'").fetchone()
    assert (lines, kept) == (1, 0)


@pytest.mark.parametrize("by", ["label:", "labels:team", "bogus"])
def test_a_bad_view_is_one_line_before_anything_is_loaded(run_cli, export, by):
    path, ws = export
    code, _, err = run_cli("--workspace", ws, "costs", "--billing", str(path), "--by", by)
    assert code == 2 and "label:KEY" in err and len(err.strip().splitlines()) == 1
    from aipipe_ops.workspace import Workspace

    with Workspace.open(ws, read_only=True) as w:
        assert w.con.execute("SELECT count(*) FROM cost_lines").fetchone()[0] == 0


def test_a_stack_label_is_kept_and_a_jobs_run_and_step_labels_are_not_kept_twice(run_cli, tmp_path, workspace):
    """`aipipe-stack` (on the resources a stack creates) and a cloud job's `aipipe-pipeline` are showback labels;
    its `aipipe-run` and `aipipe-step` name the run and step."""
    insert_runs(workspace, [{"run_id": "run-a", "pipeline": "taxi"}])
    workspace.close()
    rows = [row(start=HOUR, sku="Standard Storage US Multi-region", cost=1.5, labels={"aipipe-stack": "prod"}),
            row(start=HOUR, sku="Analysis", cost=0.25, labels={"aipipe-pipeline": "taxi", "aipipe-run": "run-a",
                                                               "aipipe-step": "bq-export", "aipipe-stack": "prod"}),
            row(start=HOUR, sku="Analysis", cost=2.0)]
    path = write_parquet(rows, tmp_path / "export.parquet")
    code, out, err = run_cli("--workspace", workspace.path, "costs", "--billing", str(path), "--by",
                             "label:aipipe-stack", "--format", "json")
    assert code == 0, err
    totals = {r["value"]: Decimal(r["total"]) for r in json.loads(out)["rows"]}
    assert totals == {"prod": Decimal("1.75"), None: Decimal("2.00")}
    code, out, err = run_cli("--workspace", workspace.path, "costs", "--by", "label:aipipe-pipeline", "--format",
                             "json")
    assert {r["value"]: Decimal(r["total"]) for r in json.loads(out)["rows"]} == {"taxi": Decimal("0.25"),
                                                                               None: Decimal("3.50")}
    from aipipe_ops.workspace import Workspace

    with Workspace.open(workspace.path) as ws:
        kept = ws.con.execute("SELECT kept_labels FROM cost_lines WHERE run_label = 'run-a'").fetchone()[0]
    assert "aipipe-run" not in kept and "aipipe-step" not in kept and "aipipe-pipeline\x1etaxi" in kept
