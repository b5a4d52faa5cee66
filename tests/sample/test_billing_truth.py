"""The export's money equals the ground truth exactly, re-derived from the rows as a billing reader would."""

from __future__ import annotations

import json
from decimal import Decimal

import duckdb
import pytest

NET = ("CAST(cost AS DECIMAL(38,9)) + COALESCE(list_sum(list_transform(credits, "
       "c -> CAST(c.amount AS DECIMAL(38,9)))), 0)")


def _label(key: str) -> str:
    return f"list_extract(list_transform(list_filter(labels, l -> l.key = '{key}'), l -> l.value), 1)"


@pytest.fixture(scope="module")
def db(sample_dir):
    con = duckdb.connect()
    con.execute(f"CREATE VIEW export AS SELECT * FROM read_parquet('{sample_dir / 'billing'}/part-*.parquet')")
    con.execute(f"""CREATE VIEW rows AS SELECT *, {NET} AS net,
        {_label('k8s-namespace')} AS ns, coalesce({_label('k8s-label/pipeline/runid')}, {_label('aipipe-run')}) AS runid,
        {_label('k8s-label/workflows.argoproj.io/workflow')} AS workflow,
        {_label('goog-k8s-node-pool-name')} AS pool FROM export""")
    return con


def _usd(d: dict) -> Decimal:
    return Decimal(d["USD"])


def test_costs_and_credits_have_six_decimals(db):
    """Rounded to micro-dollars, so float64 -> DECIMAL(38,9) is exact and sums are exact."""
    six = "(CAST({x} AS DECIMAL(38,9)) * 1000000) % 1 <> 0"
    bad = db.execute(f"""SELECT count(*) FROM export WHERE {six.format(x='cost')}
        OR len(list_filter(credits, c -> {six.format(x='c.amount')})) > 0""").fetchone()[0]
    assert bad == 0
    assert db.execute("SELECT count(*) FROM export WHERE len(list_filter(credits, c -> c.amount >= 0)) > 0 "
                      "AND cost_type = 'regular'").fetchone()[0] == 0


def test_export_net_total_equals_ground_truth(db, truth):
    total = db.execute("SELECT sum(net) FROM rows").fetchone()[0]
    assert total == _usd(truth["export_total"])
    assert sum(Decimal(v) for v in truth["buckets"]["USD"].values()) == total
    assert _usd(truth["export_cost"]) + _usd(truth["export_credits"]) == total


def test_ndjson_total_equals_ground_truth(sample_dir, truth):
    total = Decimal(0)
    for part in sorted((sample_dir / "billing").glob("part-*.jsonl")):
        for line in part.read_text().splitlines():
            row = json.loads(line, parse_float=Decimal, parse_int=Decimal)
            total += row["cost"] + sum((c["amount"] for c in row["credits"]), Decimal(0))
    assert total == _usd(truth["export_total"])


BUCKET_SQL = """SELECT CASE
    WHEN cost_type = 'tax' THEN 'tax'
    WHEN cost_type = 'adjustment' THEN 'adjustment'
    WHEN service.description = 'Kubernetes Engine' THEN 'cluster_fee'
    WHEN runid IS NOT NULL THEN 'direct'
    WHEN ns = 'kube:unallocated' THEN 'idle'
    WHEN ns = 'kube:system-overhead' THEN 'overhead'
    WHEN ns IN ('kubeflow', 'kube-system') THEN 'shared_namespaces'
    WHEN ns IS NOT NULL THEN 'other_workloads'
    ELSE 'unattributed' END AS bucket, sum(net), count(*) FROM rows GROUP BY 1"""


def test_buckets_re_derived_from_labels_match(db, truth):
    got = {b: (net, n) for b, net, n in db.execute(BUCKET_SQL).fetchall()}
    for bucket, amount in truth["buckets"]["USD"].items():
        assert got.get(bucket, (Decimal(0), 0))[0] == Decimal(amount), bucket
        assert got.get(bucket, (0, 0))[1] == truth["counts"]["billing_rows_by_bucket"][bucket], bucket
    assert all(got[b][1] > 0 for b in truth["buckets"]["USD"])


def test_run_costs_re_derived_from_pod_labels(db, truth):
    workflow_to_run = {r["workflow"]: k for k, r in truth["runs"].items()}
    by_run = {}
    for runid, workflow, cost_type, net in db.execute(
            "SELECT runid, workflow, cost_type, sum(net) FROM rows WHERE runid IS NOT NULL GROUP BY ALL").fetchall():
        run = runid if runid in truth["runs"] else workflow_to_run[workflow]  # TFX: MLMD knows the workflow
        by_run.setdefault(run, {})[cost_type] = by_run.get(run, {}).get(cost_type, 0) + net
    for key, run in truth["runs"].items():
        assert by_run.get(key, {}).get("regular", Decimal(0)) == _usd(run["net_cost"]), key
        assert by_run.get(key, {}).get("adjustment", Decimal(0)) == _usd(run.get("adjustments", {"USD": "0"}))
    assert sum(_usd(r["net_cost"]) for r in truth["runs"].values()) == Decimal(truth["buckets"]["USD"]["direct"])
    tfx = [r for k, r in truth["runs"].items() if r["orchestrator"] == "tfx"]
    assert tfx and all(r["kfp_run_uuid"] not in truth["runs"] for r in tfx)


def test_steps_add_up_to_their_run(truth):
    for key, run in truth["runs"].items():
        steps = run["steps"].values()
        assert sum(_usd(s["net_cost"]) for s in steps) == _usd(run["net_cost"]), key
        assert sum(_usd(s["cost"]) for s in steps) == _usd(run["cost"])
        assert sum(_usd(s["credits"]) for s in steps) == _usd(run["credits"])
        for s in steps:
            assert _usd(s["net_cost"]) == _usd(s["cost"]) + _usd(s["credits"])
    costly = [s for r in truth["runs"].values() for s in r["steps"].values() if _usd(s["cost"]) > 0]
    assert len(costly) > len(truth["runs"])


def test_idle_by_node_pool(db, truth):
    got = dict(db.execute("SELECT pool, sum(net) FROM rows WHERE ns = 'kube:unallocated' GROUP BY 1").fetchall())
    for pool, amount in truth["idle_by_node_pool"].items():
        assert got.get(pool, Decimal(0)) == _usd(amount), pool


def test_pod_rows_carry_the_cost_allocation_labels(db, truth):
    # Pod rows (GKE, with a node pool); a step's BigQuery job row carries the job labels instead (step_labels.py).
    keys = db.execute("""SELECT DISTINCT list_sort(list_transform(labels, l -> l.key)) FROM rows
                         WHERE runid IS NOT NULL AND pool IS NOT NULL""").fetchall()
    required = {"goog-k8s-cluster-name", "goog-k8s-cluster-location", "goog-k8s-node-pool-name", "k8s-namespace",
                "k8s-label/pipeline/runid", "k8s-label/workflows.argoproj.io/workflow"}
    assert keys and all(required <= set(k) for (k,) in keys)
    kfp = db.execute("""SELECT count(*) FROM rows WHERE runid IS NOT NULL AND pool IS NOT NULL AND NOT list_contains(
        list_transform(labels, l -> l.key || '=' || l.value), 'k8s-label/pipelines.kubeflow.org/v2_component=true')
        AND runid IN (SELECT unnest(?))""", [[k for k, r in truth["runs"].items()
                                              if r["orchestrator"] == "kfp-v2"]]).fetchone()[0]
    assert kfp == 0
    # One row per (hour, SKU, node VM, label set): a run's steps merge into its rows until the step labels start.
    dup = db.execute("""SELECT count(*) FROM (SELECT usage_start_time, sku.id, resource.name, labels, count(*) n
        FROM rows WHERE cost_type = 'regular' GROUP BY ALL HAVING n > 1)""").fetchone()[0]
    assert dup == 0


def test_export_has_the_promised_kinds_of_rows(db, summary):
    credit_types = {t for (t,) in db.execute(
        "SELECT DISTINCT unnest(list_transform(credits, c -> c.type)) FROM export").fetchall()}
    assert {"SUSTAINED_USAGE_DISCOUNT", "COMMITTED_USAGE_DISCOUNT", "FREE_TIER"} <= credit_types
    skus = {d for (d,) in db.execute("SELECT DISTINCT sku.description FROM export").fetchall()}
    assert any(d.startswith("Spot Preemptible") for d in skus) and any("A100" in d for d in skus)
    assert any("TpuV5e" in d for d in skus) and "Balanced PD Capacity" in skus
    assert "Network Inter Zone Egress" in skus and "Regional Kubernetes Clusters" in skus
    namespaces = {n for (n,) in db.execute("SELECT DISTINCT ns FROM rows").fetchall()}
    assert {"kube:unallocated", "kube:system-overhead", "kubeflow", "kube-system", "team-a", "team-b"} <= namespaces
    fee_labels = db.execute("SELECT DISTINCT list_transform(labels, l -> l.key) FROM export "
                            "WHERE sku.description = 'Regional Kubernetes Clusters'").fetchall()
    assert fee_labels == [(["goog-k8s-cluster-name"],)]
    tax = db.execute("SELECT count(*), min(cost) FROM export WHERE cost_type = 'tax'").fetchone()
    assert tax[0] >= 1 and tax[1] > 0
    [(adj_month, info, adj_export, window_end, orig_month)] = db.execute("""
        SELECT a.invoice.month, a.adjustment_info, a.export_time, ?::TIMESTAMPTZ, o.invoice.month
        FROM export a JOIN export o ON o.cost_type = 'regular' AND o.usage_start_time = a.usage_start_time
          AND o.sku.id = a.sku.id AND o.resource.name = a.resource.name AND o.labels = a.labels
        WHERE a.cost_type = 'adjustment'""", [summary["window"]["end"]]).fetchall()
    assert info["type"] == "USAGE_CORRECTION" and info["mode"] == "PARTIAL_CORRECTION"
    assert adj_month > orig_month and adj_export > window_end
    late = db.execute("SELECT count(*) FROM export WHERE cost_type = 'regular' AND "
                      "export_time > usage_end_time + INTERVAL 24 HOUR").fetchone()[0]
    assert late > 0
    assert db.execute("SELECT count(*) FROM export WHERE export_time <= usage_end_time").fetchone()[0] == 0
    months = {m for (m,) in db.execute("SELECT DISTINCT invoice.month FROM export").fetchall()}
    assert all(len(m) == 6 and m.isdigit() for m in months)
