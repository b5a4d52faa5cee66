"""A tiny hand-made fleet with numbers checkable by hand, attributed by the real billing engine.

The lineage tables and the billing lines are written straight into the workspace (the contract tables); then
`attribute()` (what `aipipe costs --idle share` runs) attributes them. Two USD pipelines and one EUR pipeline
(two billing accounts), November 2026, one step per hour so that step costs are exact:

  taxi (TFX)      taxi-1  Nov 02, succeeded, pushed model a4     direct 13.00: ExampleGen 3, Trainer 7,
                                                                 Evaluator 2, Pusher 0.50, ExampleValidator 0.50
                  taxi-2  Nov 10, failed                         direct 3.00: ExampleGen 1.50, Trainer 1.50
  llm-tune (KFP)  llm-1   Nov 12, succeeded, pushed nothing      direct 44.00: prep 4 (cpu), train 30, eval 10 (gpu)
                  llm-2   Nov 15, succeeded, pushed model a11    direct 66.00: train 60 (gpu, one line with a
                          -1.00 credit), push 6 (cpu); its prep was a cache hit of llm-1's prep (e8)
  eu-scoring      eu-1    Nov 05, succeeded, no steps in lineage direct 9.00 EUR

Idle GPU in gpu-pool, 11.00 (4 h at the price book's 2.75/h), shared by GPU cost: llm-1 40 : llm-2 60 -> 4.40 and
6.60; within a run by step direct cost: prep 0.40, train 3.00, eval 1.00 (llm-1); train 6.00, push 0.60 (llm-2).
Overhead 2.70 (system overhead 0.30 + cluster fee 2.40) kept separate; unattributed 5.00 (network).
USD export: 126.00 + 11.00 + 2.70 + 5.00 = 144.70. EUR export: 9.00 + 1.00 unattributed = 10.00.

Runs: taxi-1 13.00, taxi-2 3.00, llm-1 48.40, llm-2 72.60; pipelines taxi 16.00, llm-tune 121.00.
Waste (USD): taxi-2 failed 3.00; taxi-1's ExampleValidator (anomalies feed nothing) 0.50; llm-1 pushed nothing
itself but its prep fed llm-2's model through the cache, so only its train (33.00) and eval (11.00) are waste:
44.00. Total 47.50. EUR: eu-1 pushed no model: 9.00.
Pushed models: a4 = ExampleGen + Trainer + Evaluator + Pusher = 12.50; a11 = llm-1 prep 4.40 + llm-2 train 66.00
+ push 6.60 = 77.00; mean 44.75.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from aipipe_ops.billing.attribution.attribute import attribute
from aipipe_ops.billing.attribution.policies import Policy
from aipipe_ops.billing.normalise import UsageWindow
from aipipe_ops.lineage.graph import refresh_index
from aipipe_ops.workspace import Workspace

UTC = dt.timezone.utc


def ts(day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=UTC)


RUNS = [
    # run_id, pipeline, state, created, finished
    ("taxi-1", "taxi", "SUCCEEDED", ts(2, 10), ts(2, 15)),
    ("taxi-2", "taxi", "FAILED", ts(10, 10), ts(10, 11, 30)),
    ("llm-1", "llm-tune", "SUCCEEDED", ts(12, 10), ts(12, 15)),
    ("llm-2", "llm-tune", "SUCCEEDED", ts(15, 9, 59), ts(15, 17)),
    ("eu-1", "eu-scoring", "SUCCEEDED", ts(5, 10), ts(5, 11)),
]
STEPS = [
    # execution_id, run_id, step, state, cached_from, created, updated
    (1, "taxi-1", "ExampleGen", "COMPLETE", None, ts(2, 10), ts(2, 11)),
    (2, "taxi-1", "Trainer", "COMPLETE", None, ts(2, 11), ts(2, 12)),
    (3, "taxi-1", "Evaluator", "COMPLETE", None, ts(2, 12), ts(2, 13)),
    (4, "taxi-1", "Pusher", "COMPLETE", None, ts(2, 13), ts(2, 14)),
    (5, "taxi-1", "ExampleValidator", "COMPLETE", None, ts(2, 14), ts(2, 15)),
    (6, "taxi-2", "ExampleGen", "COMPLETE", None, ts(10, 10), ts(10, 11)),
    (7, "taxi-2", "Trainer", "FAILED", None, ts(10, 11), ts(10, 11, 30)),
    (8, "llm-1", "prep", "COMPLETE", None, ts(12, 10), ts(12, 11)),
    (9, "llm-1", "train", "COMPLETE", None, ts(12, 11), ts(12, 14)),
    (10, "llm-1", "eval", "COMPLETE", None, ts(12, 14), ts(12, 15)),
    (11, "llm-2", "prep", "CACHED", 8, ts(15, 9, 59), ts(15, 10)),
    (12, "llm-2", "train", "COMPLETE", None, ts(15, 10), ts(15, 16)),
    (13, "llm-2", "push", "COMPLETE", None, ts(15, 16), ts(15, 17)),
]
ARTIFACTS = [
    # artifact_id, kind, uri, created, properties
    (1, "dataset", "gs://b/taxi/1/examples", ts(2, 11), {}),
    (2, "model", "gs://b/taxi/1/model", ts(2, 12), {}),
    (3, "blessing", "gs://b/taxi/1/blessing", ts(2, 13), {"blessed": 1}),
    (4, "pushed_model", "gs://b/taxi/1/pushed", ts(2, 14), {"pushed": 1}),
    (5, "anomalies", "gs://b/taxi/1/anomalies", ts(2, 15), {}),
    (6, "dataset", "gs://b/taxi/2/examples", ts(10, 11), {}),
    (7, "dataset", "gs://b/llm/1/prepared", ts(12, 11), {}),
    (8, "model", "gs://b/llm/1/model", ts(12, 14), {}),
    (9, "metrics", "gs://b/llm/1/metrics", ts(12, 15), {}),
    (10, "model", "gs://b/llm/2/model", ts(15, 16), {}),
    (11, "pushed_model", "gs://b/llm/2/pushed", ts(15, 17), {"pushed": 1}),
]
EVENTS = [
    # execution_id, artifact_id, direction ("reuse": a cache hit's outputs, as the lineage snapshot records them)
    (1, 1, "output"), (2, 1, "input"), (2, 2, "output"), (3, 2, "input"), (3, 3, "output"),
    (4, 2, "input"), (4, 3, "input"), (4, 4, "output"), (5, 1, "input"), (5, 5, "output"),
    (6, 6, "output"), (7, 6, "input"),
    (8, 7, "output"), (9, 7, "input"), (9, 8, "output"), (10, 8, "input"), (10, 9, "output"),
    (11, 7, "reuse"), (12, 7, "input"), (12, 10, "output"), (13, 10, "input"), (13, 11, "output"),
]
COST_LINES = [
    # day, hour, resource_kind, node_pool, namespace, run label, cost, credits, currency
    (2, 10, "cpu", "cpu-pool", "kubeflow", "taxi-1", "3.00", "0", "USD"),
    (2, 11, "cpu", "cpu-pool", "kubeflow", "taxi-1", "5.00", "0", "USD"),
    (2, 11, "ram", "cpu-pool", "kubeflow", "taxi-1", "2.00", "0", "USD"),
    (2, 12, "cpu", "cpu-pool", "kubeflow", "taxi-1", "1.00", "0", "USD"),
    (2, 12, "disk", "cpu-pool", "kubeflow", "taxi-1", "1.00", "0", "USD"),
    (2, 13, "cpu", "cpu-pool", "kubeflow", "taxi-1", "0.50", "0", "USD"),
    (2, 14, "cpu", "cpu-pool", "kubeflow", "taxi-1", "0.50", "0", "USD"),
    (10, 10, "cpu", "cpu-pool", "kubeflow", "taxi-2", "1.50", "0", "USD"),
    (10, 11, "cpu", "cpu-pool", "kubeflow", "taxi-2", "1.50", "0", "USD"),
    (12, 10, "cpu", "gpu-pool", "kubeflow", "llm-1", "4.00", "0", "USD"),
    *[(12, h, "gpu", "gpu-pool", "kubeflow", "llm-1", "10.00", "0", "USD") for h in (11, 12, 13, 14)],
    (15, 10, "gpu", "gpu-pool", "kubeflow", "llm-2", "11.00", "-1.00", "USD"),
    *[(15, h, "gpu", "gpu-pool", "kubeflow", "llm-2", "10.00", "0", "USD") for h in (11, 12, 13, 14, 15)],
    (15, 16, "cpu", "gpu-pool", "kubeflow", "llm-2", "6.00", "0", "USD"),
    # Idle on the days the GPU runs ran (a day's idle goes to that day's runs: docs/cost-model.md §5).
    (12, 0, "gpu", "gpu-pool", "kube:unallocated", None, "4.40", "0", "USD"),
    (15, 0, "gpu", "gpu-pool", "kube:unallocated", None, "6.60", "0", "USD"),
    (2, 0, "cpu", "cpu-pool", "kube:system-overhead", None, "0.30", "0", "USD"),
    (2, 0, "cluster_fee", None, None, None, "2.40", "0", "USD"),
    (16, 0, "network", None, "goog-k8s-unknown", None, "5.00", "0", "USD"),
    (5, 10, "cpu", "eu-pool", "scoring", "eu-1", "9.00", "0", "EUR"),
    (6, 0, "disk", None, None, None, "1.00", "0", "EUR"),
]


# The question the tiny fleet is attributed for, and the one its reports ask (`aipipe report --idle share`).
FLEET_POLICY = Policy(idle="share")


def fill_tiny_fleet(ws: Workspace, policy: Policy = FLEET_POLICY) -> None:
    con = ws.con
    con.executemany("INSERT INTO runs (run_id, pipeline, state, created_at, finished_at, orchestrator) "
                    "VALUES (?, ?, ?, ?, ?, 'test')", RUNS)
    con.executemany("INSERT INTO steps (execution_id, run_id, step, state, cached_from, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", STEPS)
    con.executemany("INSERT INTO artifacts (artifact_id, kind, uri, created_at, properties) VALUES (?, ?, ?, ?, ?)",
                    [(a, k, u, c, json.dumps(p)) for a, k, u, c, p in ARTIFACTS])
    con.executemany("INSERT INTO events (execution_id, artifact_id, direction) VALUES (?, ?, ?)", EVENTS)
    refresh_index(con)
    _insert_cost_lines(con, COST_LINES)
    con.execute("INSERT INTO prices (sku_id, resource_kind, unit, unit_price, currency) "
                "VALUES ('gpu-sku', 'gpu', 'h', 2.75, 'USD')")
    attribute(ws, policy, UsageWindow())


def _insert_cost_lines(con, rows) -> None:
    """Billing lines as COST_LINES gives them (USD on cluster prod, EUR on cluster eu), and the export's own daily
    totals, which the reconciliation checks the buckets against, counted again over every line."""
    lines = []
    for day, hour, kind, pool, ns, run, cost, credits, cur in rows:
        cost, credits = Decimal(cost), Decimal(credits)
        lines.append((ts(day, hour), dt.date(2026, 11, day), "prod" if cur == "USD" else "eu", pool, ns, run, run,
                      kind, "gpu-sku" if kind == "gpu" else f"{kind}-sku", cost, credits, cost + credits, cur))
    con.executemany(
        "INSERT INTO cost_lines (usage_start, usage_day, cluster, node_pool, namespace, run_label, run_id, "
        "resource_kind, sku_id, cost, credits, net_cost, currency, service, sku, cost_type, source) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'Compute Engine', 'test sku', 'regular', 'test')", lines)
    con.execute("DELETE FROM billing_export_totals")
    con.execute("""
        INSERT INTO billing_export_totals (load_id, source, usage_day, currency, cost, credits, net_cost, export_rows)
        SELECT 1, 'test', usage_day, currency, sum(cost), sum(credits), sum(net_cost), count(*)
        FROM cost_lines GROUP BY usage_day, currency
    """)


# The tiny fleet's edge cases: what the report has no name for, and runs it cannot judge.
EDGE_RUNS = [("llm-3", "llm-tune", "RUNNING", ts(16, 10), None)]
EDGE_COST_LINES = [
    (16, 10, "gpu", "gpu-pool", "kubeflow", "llm-3", "20.00", "0", "USD"),   # still running, no steps in lineage
    (16, 11, "cpu", "cpu-pool", None, "ghost-1", "50.00", "0", "USD"),       # not in the lineage, on no namespace
    (16, 12, "gpu", None, "kube:unallocated", None, "3.00", "0", "USD"),     # idle GPU on no node pool
]


def fill_edge_fleet(ws: Workspace) -> None:
    """The tiny fleet, then: taxi's push declined (taxi pushes no models: its runs are not judged); llm-3 still
    running (20.00 GPU, no steps; the 3.00 idle GPU of its day on no node pool goes to it: 23.00); ghost-1, a run the
    lineage does not know (pipeline `(unknown)`, the engine's name), 50.00 on no namespace; and llm-1's eval step
    with no name anywhere (steps and step_costs: 10.00 + 1.00 idle share), which no current engine writes but an
    older workspace may hold. Attributed again under the fleet's policy (USD export 144.70 + 73.00 = 217.70)."""
    fill_tiny_fleet(ws)
    con = ws.con
    con.execute("""UPDATE artifacts SET properties = '{"pushed": 0}' WHERE artifact_id = 4""")
    con.executemany("INSERT INTO runs (run_id, pipeline, state, created_at, finished_at, orchestrator) "
                    "VALUES (?, ?, ?, ?, ?, 'test')", EDGE_RUNS)
    _insert_cost_lines(con, EDGE_COST_LINES)
    con.execute("UPDATE steps SET step = NULL WHERE execution_id = 10")
    refresh_index(con)
    attribute(ws, FLEET_POLICY, UsageWindow())
    con.execute("UPDATE step_costs SET step = NULL WHERE execution_id = 10")


# A saved estimate of cluster prod (`aipipe estimate --save`, as aipipe_ops.pricing.actuals.saved_plan reads it):
# (resource, component, kind, cluster, node_pool, monthly min, monthly max). Billed over 337 hours, scaled by
# 730/337: cpu-pool 16.30 -> 35.31 within; gpu-pool 121.00 -> 262.11 above its maximum; big-pool is not billed; the
# cluster fee 2.40 -> 5.20 is below its minimum; the network's 5.00 is not estimated.
TINY_ESTIMATE = [
    ("cpu-pool", "vm", "cpu", "prod", "cpu-pool", Decimal("1"), Decimal("100000")),
    ("gpu-pool", "vm", "gpu", "prod", "gpu-pool", Decimal("1"), Decimal("2")),
    ("big-pool", "vm", "cpu", "prod", "big-pool", Decimal("10"), Decimal("20")),
    ("prod", "fee", "cluster_fee", "prod", None, Decimal("1000"), Decimal("2000")),
]


def save_estimate(con, lines=TINY_ESTIMATE, *, stack: str = "tiny", clusters=("prod",)) -> None:
    meta = {"stack": stack, "stack_label": None, "clusters": list(clusters), "currency": "USD",
            "lines": [[r, c, k, cl, pool] for r, c, k, cl, pool, _, _ in lines]}
    con.execute("DELETE FROM estimate_lines")
    con.execute("INSERT INTO loads (load_id, kind, source, loaded_at, rows, watermark) "
                "VALUES (900, 'estimate', 'test', now(), ?, ?)", [len(lines), json.dumps(meta)])
    con.executemany("INSERT INTO estimate_lines (resource, component, monthly_min, monthly_max) VALUES (?, ?, ?, ?)",
                    [(r, c, low, high) for r, c, _, _, _, low, high in lines])


def _filled_workspace(path: Path, fill) -> Path:
    with Workspace.open(path) as ws:
        fill(ws)
    return path


@pytest.fixture
def tiny_workspace(tmp_path) -> Path:
    return _filled_workspace(tmp_path / "tiny.duckdb", fill_tiny_fleet)


@pytest.fixture
def edge_workspace(tmp_path) -> Path:
    return _filled_workspace(tmp_path / "edge.duckdb", fill_edge_fleet)


def hand_findings():
    """Three findings about the tiny fleet, as audit rules would report them (cost checkable by hand)."""
    from aipipe_ops.lineage.audit.finding import Finding, Severity

    return [
        Finding("pushed_without_blessing", Severity.ERROR, "artifact 11", "pushed model #11 has no blessing input",
                ("pushed_model #11", "<- push #13 (run llm-2)", "<- model #10", "<- train #12 (run llm-2)"),
                ("llm-2",)),
        Finding("run_produced_nothing", Severity.WARNING, "run taxi-2", "failed run taxi-2 produced no model",
                ("run taxi-2", "Trainer #7 FAILED"), ("taxi-2",)),
        Finding("model_never_pushed", Severity.WARNING, "artifact 8", "model #8 <script>x</script> was never pushed",
                ("model #8", "<- train #9 (run llm-1)"), ("llm-1", "taxi-2")),
        Finding("orphan_artifact", Severity.INFO, "artifact 5", "anomalies #5 are read by nothing", (), ()),
    ]


def build_document(path, name: str, **params):
    """Build one report over the workspace at `path` (hand findings for the audit report), under the fleet's
    policy unless `policy` is given."""
    from aipipe_ops.reports.document import ReportParameters
    from aipipe_ops.reports.registry import get_report

    params.setdefault("policy", FLEET_POLICY)
    spec = get_report(name)
    extra = {"findings": hand_findings()} if name == "lineage_audit" else {}
    with Workspace.open(path) as ws:
        doc = spec.build(ws, ReportParameters(**params), now=dt.datetime(2026, 11, 20, 9, 0, tzinfo=UTC), **extra)
    return spec, doc
