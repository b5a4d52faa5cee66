"""Property: over random exports, every idle and shared policy reconciles exactly with the export's net total,
per currency; steps add up to their runs; pipelines add up to their runs."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aipipe_ops.billing.attribution.attribute import attribute
from aipipe_ops.billing.attribution.policies import IDLE_POLICIES, SHARED_POLICIES, Policy
from aipipe_ops.billing.load import load_billing
from aipipe_ops.workspace import Workspace
from conftest import insert_runs, insert_steps, utc
from export_rows import COMPUTE, GKE, INVOICE, gke_labels, net_by_currency, row, write_parquet

START = utc(2026, 3, 2, 0)
SKUS = [("N2 Instance Core running in Americas", COMPUTE), ("N2 Instance Ram running in Americas", COMPUTE),
        ("Nvidia L4 GPU running in Americas", COMPUTE), ("Balanced PD Capacity", COMPUTE),
        ("Regional Kubernetes Clusters", GKE), ("Tax", INVOICE)]
NAMESPACES = [None, "team-a", "kube:unallocated", "kube:unallocated", "kube:system-overhead", "kubeflow"]
RUNS = ["r1", "r2", "r3", "r4"]

money = st.decimals(min_value=Decimal("-50"), max_value=Decimal("500"), places=6, allow_nan=False,
                    allow_infinity=False)


@st.composite
def export_row(draw):
    sku, service = draw(st.sampled_from(SKUS))
    run = draw(st.sampled_from([None, *RUNS]))
    cluster = draw(st.sampled_from(["c1", "c1", "c2", None]))
    labels = {}
    if cluster:
        labels = gke_labels(cluster, pool=draw(st.sampled_from(["cpu", "cpu", "gpu", None])),
                            namespace="team-a" if run else draw(st.sampled_from(NAMESPACES)), run=run)
    credits = draw(st.lists(money.map(lambda d: -abs(d)), max_size=3))
    return row(start=START + dt.timedelta(hours=draw(st.integers(0, 47))), sku=sku, service=service,
               cost=float(draw(money)), credits=[float(c) for c in credits], labels=labels,
               currency=draw(st.sampled_from(["USD", "USD", "USD", "EUR"])),
               cost_type=draw(st.sampled_from(["regular", "regular", "adjustment", "tax"])))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(export_row(), min_size=12, max_size=60),
       share_namespaces=st.sampled_from([(), ("kubeflow",)]),
       with_steps=st.booleans())
def test_every_policy_reconciles(tmp_path_factory, rows, share_namespaces, with_steps):
    tmp = tmp_path_factory.mktemp("prop")
    path = write_parquet(rows, tmp / "export.parquet")
    expected = net_by_currency(rows)
    with Workspace.open(tmp / "ws.duckdb") as ws:
        insert_runs(ws, [{"run_id": r, "pipeline": f"p{i % 2}"} for i, r in enumerate(RUNS[:3])])
        if with_steps:
            insert_steps(ws, [{"execution_id": i, "run_id": r, "step": f"s{i}",
                               "created_at": START + dt.timedelta(hours=i * 5),
                               "updated_at": START + dt.timedelta(hours=i * 5 + 7)}
                              for i, r in enumerate(RUNS[:3] * 2)])
        load_billing(ws, str(path))
        for idle, shared in itertools.product(IDLE_POLICIES, SHARED_POLICIES):
            result = attribute(ws, Policy(idle=idle, shared=shared, share_namespaces=share_namespaces))
            got = {r["currency"]: r["export_net_total"] for r in result.reconciliation}
            assert got == {c: v for c, v in expected.items()}
            assert all(r["buckets_total"] == r["export_net_total"] for r in result.reconciliation)
            con = ws.con
            runs = dict(con.execute("SELECT currency, sum(cost) FROM run_costs GROUP BY 1").fetchall())
            steps = dict(con.execute("SELECT currency, sum(cost) FROM step_costs GROUP BY 1").fetchall())
            pipelines = dict(con.execute("SELECT currency, sum(cost) FROM pipeline_costs GROUP BY 1").fetchall())
            assert runs == steps == pipelines
            if idle == "separate":
                assert not con.execute("SELECT count(*) FROM run_costs WHERE bucket = 'idle_share'").fetchone()[0]
            if shared == "separate":
                assert not con.execute("SELECT count(*) FROM run_costs WHERE bucket IN ('overhead_share', 'shared')"
                                       ).fetchone()[0]
            # Idle never leaves its node pool and day: each workload's idle share comes from pools where it has direct
            # cost that day.
            stray = con.execute("""
                SELECT count(*) FROM attribution_lines s WHERE s.bucket = 'idle_share' AND NOT EXISTS (
                    SELECT 1 FROM attribution_lines d WHERE d.bucket = 'direct'
                    AND d.run_id IS NOT DISTINCT FROM s.run_id AND d.workload IS NOT DISTINCT FROM s.workload
                    AND d.usage_day = s.usage_day AND d.currency = s.currency AND d.cluster IS NOT DISTINCT FROM s.cluster
                    AND (s.node_pool IS NULL OR d.node_pool = s.node_pool))""").fetchone()[0]
            assert stray == 0
