"""docs/cost-model.md §9 (and §6's step methods), reproduced exactly: the test reads the example's tables from the page itself, builds
the export and the lineage they describe, and checks every figure the page states, for every policy shown."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from aipipe_ops.billing.attribution.attribute import attribute
from aipipe_ops.billing.attribution.policies import Policy
from aipipe_ops.billing.attribution.split import split_sql
from aipipe_ops.billing.attribution.step_methods import steps_by_method
from aipipe_ops.billing.load import load_billing
from aipipe_ops.billing.normalise import UsageWindow
from aipipe_ops.billing.resource_kinds import kind_of
from aipipe_ops.lineage.sources.pipeline_spec import REQUESTS_PROPERTY
from conftest import insert_runs, insert_steps, utc
from export_rows import COMPUTE, GKE, INVOICE, gke_labels, row, write_parquet

DOC = Path(__file__).resolve().parents[2] / "docs" / "cost-model.md"
HOUR = utc(2026, 3, 2, 10)
PIPELINES = {"run-a": "taxi", "run-b": "vision"}


def doc_table(heading: str) -> list[dict]:
    lines = DOC.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("### ") and line[4:].startswith(heading))
    table = []
    for line in lines[start + 1:]:
        if line.startswith("|"):
            table.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif table:
            break
    header, rows = table[0], table[2:]
    return [dict(zip(header, r)) for r in rows]


def money(text: str) -> Decimal:
    return Decimal(text or "0")


def export_rows() -> list[dict]:
    out = []
    for r in doc_table("Export rows"):
        sku, kind = r["sku"], r["kind"]
        assert kind_of("Kubernetes Engine" if kind == "cluster_fee" else "Compute Engine", sku) == kind
        if kind == "cluster_fee":
            service, labels, cost_type = GKE, gke_labels("prod"), "regular"
        elif sku == "Tax":
            service, labels, cost_type = INVOICE, {}, "tax"
        else:
            service, cost_type = COMPUTE, "regular"
            labels = gke_labels("prod", pool=r["node pool"] or None, namespace=r["namespace"] or None,
                                run=r["run"] or None, workflow=f"{PIPELINES[r['run']]}-x7k2p" if r["run"] else None)
            if r["pod label"]:
                key, value = r["pod label"].split("=")
                labels[f"k8s-label/{key}"] = value
        credits = [float(r["credits"])] if money(r["credits"]) else []
        assert money(r["cost"]) + money(r["credits"]) == money(r["net"])
        out.append(row(start=HOUR, sku=sku, cost=float(r["cost"]), credits=credits, service=service,
                       labels=labels, cost_type=cost_type))
    return out


def steps() -> list[dict]:
    out, execution_id = [], 1
    for r in doc_table("Steps of run-a"):
        begin, end = (dt.time.fromisoformat(t) for t in r["alive"].split("–"))
        created, updated = (dt.datetime.combine(HOUR.date(), t, dt.timezone.utc) for t in (begin, end))
        assert (updated - created).total_seconds() == int(r["seconds in the hour"])
        out.append({"execution_id": execution_id, "run_id": "run-a", "step": r["step"], "created_at": created,
                    "updated_at": updated})
        execution_id += 1
    out.append({"execution_id": execution_id, "run_id": "run-b", "step": "train-gpu", "created_at": HOUR,
                "updated_at": HOUR + dt.timedelta(hours=1)})
    return out


@pytest.fixture
def example(workspace, tmp_path):
    path = write_parquet(export_rows(), tmp_path / "export.parquet")
    insert_runs(workspace, [{"run_id": k, "pipeline": v} for k, v in PIPELINES.items()])
    insert_steps(workspace, steps())
    summary = load_billing(workspace, str(path))
    total = summary.totals[0]["net_cost"]
    assert total == Decimal("27.50")
    return workspace


def workload_buckets(ws) -> dict[str, dict[str, Decimal]]:
    """Each workload's money by bucket: a run's from run_costs, another workload's from the attribution lines."""
    out: dict[str, dict[str, Decimal]] = {}
    for name, bucket, cost in ws.con.execute(
            "SELECT run_id, bucket, sum(cost) FROM run_costs GROUP BY ALL "
            "UNION ALL SELECT workload, bucket, sum(cost) FROM attribution_lines WHERE workload IS NOT NULL "
            "GROUP BY ALL").fetchall():
        out.setdefault(name, {})[bucket] = cost
    return out


@pytest.mark.parametrize("idle,shared", sorted({(r["idle"], r["shared"]) for r in doc_table("Workloads under each")}))
def test_workloads_match_the_page(example, idle, shared):
    result = attribute(example, Policy(idle=idle, shared=shared))
    got = workload_buckets(example)
    for r in doc_table("Workloads under each"):
        if (r["idle"], r["shared"]) != (idle, shared):
            continue
        buckets = got[r["workload"]]
        for bucket in ("direct", "idle_share", "overhead_share"):
            assert buckets.get(bucket, Decimal(0)) == money(r[bucket]), (r["workload"], bucket)
        assert sum(buckets.values()) == money(r["total"])
    [rec] = result.reconciliation
    assert rec["export_net_total"] == Decimal("27.50") == rec["buckets_total"]
    for r in doc_table("What stays"):
        if (r["idle"], r["shared"]) == (idle, shared):
            assert rec[r["bucket"]] == money(r["amount"]), r


def test_steps_match_the_page(example):
    attribute(example, Policy(idle="share", shared="separate"))
    got = {}
    for run_id, step, bucket, cost in example.con.execute(
            "SELECT run_id, step, bucket, sum(cost) FROM step_costs GROUP BY ALL").fetchall():
        got.setdefault((run_id, step), {})[bucket] = cost
    rows = doc_table("Steps (idle share")
    assert set(got) == {(r["run"], r["step"]) for r in rows}
    for r in rows:
        buckets = got[(r["run"], r["step"])]
        assert buckets.get("direct", 0) == money(r["direct"])
        assert buckets.get("idle_share", 0) == money(r["idle_share"])
        assert sum(buckets.values()) == money(r["total"])


def test_pipelines_match_the_page(example):
    attribute(example, Policy(idle="share", shared="weighted"))
    got = dict(example.con.execute("SELECT pipeline, sum(cost) FROM pipeline_costs GROUP BY ALL").fetchall())
    assert got == {r["pipeline"]: money(r["total"]) for r in doc_table("Pipelines (idle share")}


def test_even_split_of_one_unit_three_ways(workspace):
    from aipipe_ops.billing.attribution.split import split

    workspace.con.execute("CREATE TEMP TABLE a AS SELECT 1 AS group_id, CAST(1.00 AS DECIMAL(38,9)) AS amount")
    workspace.con.execute("CREATE TEMP TABLE w AS SELECT 1 AS group_id, r AS recipient, 1 AS weight "
                          "FROM (VALUES ('run-a'), ('run-b'), ('run-c')) t(r)")
    parts = [amount for _, _, amount in split(workspace.con, "a", "w")]
    assert parts == [Decimal("0.333333334"), Decimal("0.333333333"), Decimal("0.333333333")]


# -- §6: what a step costs, by method ----------------------------------------------------------------------------
def _step_example(ws, tmp_path) -> None:
    rows = []
    for r in doc_table("Step methods example: export rows"):
        assert kind_of("Compute Engine", r["sku"]) == r["kind"]
        labels = gke_labels("prod", pool="pool-a", namespace="team-a", run="run-a", workflow="taxi-x7k2p")
        if r["pod label"]:
            key, value = r["pod label"].split("=")
            labels[f"k8s-label/{key}"] = value
        rows.append(row(start=HOUR, sku=r["sku"], cost=float(r["cost"]), labels=labels))
    insert_runs(ws, [{"run_id": "run-a", "pipeline": "taxi", "state": "RUNNING"}])
    steps, execution_id = [], 1
    for r in doc_table("Step methods example: steps"):
        begin, end = (dt.datetime.combine(HOUR.date(), dt.time.fromisoformat(t), dt.timezone.utc)
                      for t in r["alive"].split("–"))
        steps.append({"execution_id": execution_id, "run_id": "run-a", "step": r["step"], "created_at": begin,
                      "updated_at": end})
        execution_id += 1
    insert_steps(ws, steps)
    for r in doc_table("Step methods example: steps"):
        requests = {"cpu": float(r["cpu request"]), "gpu": float(r["gpu request"]), "tpu": 0.0}
        ws.con.execute("UPDATE steps SET state = ?, pod_name = 'pod-' || step, properties = ? WHERE step = ?",
                       [r["state"], json.dumps({REQUESTS_PROPERTY: requests}), r["step"]])
    load_billing(ws, str(write_parquet(rows, tmp_path / "steps.parquet")))


@pytest.mark.parametrize("method", ["label", "requests", "duration"])
def test_step_methods_match_the_page(workspace, tmp_path, method):
    _step_example(workspace, tmp_path)
    attribute(workspace, Policy())
    if method == "label":
        costs, methods = "step_costs", "step_cost_methods"
    else:
        found = steps_by_method(workspace.con, UsageWindow(), method)
        costs, methods = found["step_costs"], found["step_methods"]
    by_kind = {}
    for step, kind, cost in workspace.con.execute(f"""
            SELECT s.step, h.resource_kind, sum(p.amount)
            FROM ({split_sql('att_hours', 'att_hour_weights')}) p JOIN att_hours h USING (group_id)
            JOIN steps s ON s.execution_id = p.recipient GROUP BY ALL""").fetchall():
        by_kind[(step, kind)] = cost
    direct = dict(workspace.con.execute(
        f"SELECT step, sum(cost) FROM {costs} WHERE bucket = 'direct' GROUP BY 1").fetchall())
    found_by = {}
    for step, how in workspace.con.execute(
            f"SELECT s.step, m.method FROM {methods} m JOIN steps s USING (execution_id) WHERE m.cost <> 0").fetchall():
        found_by.setdefault(step, set()).add(how)
    rows = [r for r in doc_table("Step methods example: direct cost by method") if r["method"] == method]
    assert {r["step"] for r in rows} == set(direct)
    for r in rows:
        for kind in ("gpu", "cpu", "disk"):
            assert by_kind.get((r["step"], kind), Decimal(0)) == money(r[kind]), (r["step"], kind)
        assert direct[r["step"]] == money(r["direct"]), r["step"]
        assert found_by[r["step"]] == set(r["found by"].split(", ")), r["step"]
    assert sum(direct.values()) == sum(money(r["cost"]) for r in doc_table("Step methods example: export rows"))
