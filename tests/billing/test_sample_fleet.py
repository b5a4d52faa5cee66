"""The sample fleet's ground truth (aipipe sample): every run's attributed direct cost is what the generator put
in, idle per node pool and the export total too, from Parquet and from JSONL alike, through the CLI."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from aipipe_ops.billing.attribution.attribute import attribute
from aipipe_ops.billing.attribution.policies import Policy
from aipipe_ops.billing.load import load_billing
from aipipe_ops.workspace import Workspace
from conftest import write_sample


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    return write_sample(tmp_path_factory, formats="parquet,jsonl")


def test_every_runs_direct_cost_is_the_generators(loaded):
    path, truth = loaded
    with Workspace.open(path) as ws:
        result = attribute(ws, Policy(commitments="separate"))
        direct = dict(ws.con.execute(
            "SELECT run_id, sum(cost) FROM run_costs WHERE bucket = 'direct' AND currency = 'USD' GROUP BY 1"
        ).fetchall())
    # A usage correction labelled with a run belongs to that run (docs/cost-model.md §2); the generator
    # reports it beside the run's net cost as `adjustments`.
    expected = {run_id: Decimal(r["net_cost"]["USD"]) + Decimal(r.get("adjustments", {}).get("USD", "0"))
                for run_id, r in truth["runs"].items()}
    assert direct == {k: v for k, v in expected.items() if v or k in direct}
    [rec] = result.reconciliation
    assert rec["export_net_total"] == rec["buckets_total"] == Decimal(truth["export_total"]["USD"])


def test_idle_by_node_pool_and_overhead_are_the_generators(loaded):
    path, truth = loaded
    with Workspace.open(path) as ws:
        attribute(ws, Policy(idle="separate", shared="separate", commitments="separate"))
        idle = dict(ws.con.execute("SELECT node_pool, sum(cost) FROM attribution_lines WHERE bucket = 'idle' "
                                   "GROUP BY 1").fetchall())
        overhead = ws.con.execute("SELECT sum(cost) FROM attribution_lines WHERE bucket = 'overhead'").fetchone()[0]
    assert idle == {pool: Decimal(v["USD"]) for pool, v in truth["idle_by_node_pool"].items()}
    buckets = truth["buckets"]["USD"]
    assert overhead == Decimal(buckets["overhead"]) + Decimal(buckets["cluster_fee"])


def test_shared_idle_stays_on_its_node_pool(loaded):
    path, truth = loaded
    with Workspace.open(path) as ws:
        attribute(ws, Policy(idle="share", shared="weighted", share_namespaces=("kubeflow", "kube-system"),
                              commitments="separate"))
        idle_share = dict(ws.con.execute(
            "SELECT node_pool, sum(cost) FROM attribution_lines WHERE bucket IN ('idle_share', 'idle') GROUP BY 1"
        ).fetchall())
        gpu_runs = {r for (r,) in ws.con.execute(
            "SELECT DISTINCT run_id FROM attribution_lines WHERE bucket = 'direct' AND node_pool = 'gpu-a100'"
        ).fetchall()}
        a100_takers = {r for (r,) in ws.con.execute(
            "SELECT DISTINCT run_id FROM attribution_lines WHERE bucket = 'idle_share' AND node_pool = 'gpu-a100'"
        ).fetchall()}
    assert idle_share == {pool: Decimal(v["USD"]) for pool, v in truth["idle_by_node_pool"].items()}
    assert a100_takers <= gpu_runs


def test_jsonl_gives_the_same_attribution(fleet, loaded, tmp_path):
    out, _ = fleet
    path, _ = loaded
    numbers = []
    for ws_path, spec in ((path, None), (tmp_path / "jsonl.duckdb", str(out / "billing" / "*.jsonl"))):
        with Workspace.open(ws_path) as ws:
            if spec:
                ws.con.execute(f"ATTACH '{path}' AS other (READ_ONLY)")
                for table in ("runs", "steps"):
                    ws.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM other.{table}")
                ws.con.execute("DETACH other")
                load_billing(ws, spec)
            attribute(ws, Policy(idle="share", shared="even"))
            numbers.append(ws.con.execute("SELECT run_id, bucket, sum(cost) FROM run_costs GROUP BY ALL "
                                          "ORDER BY ALL").fetchall())
    assert numbers[0] == numbers[1]


def test_costs_cli_prints_pipelines_and_reconciliation(loaded, run_cli):
    path, truth = loaded
    code, out, err = run_cli("--workspace", path, "costs", "--by", "pipeline", "--idle", "share", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert {r["pipeline"] for r in data["rows"] if r["class"] == "pipeline"} == \
        set(truth["counts"]["runs_by_pipeline"])
    [rec] = data["reconciliation"]
    assert rec["status"] == "ok" and rec["buckets_total"] == truth["export_total"]["USD"] + "000"
