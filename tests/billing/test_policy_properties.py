"""Properties over random exports with runs, other workloads (pod labels), idle, overhead, cluster fees, a shared
namespace, resource-based commitment fees and the COMMITTED_USAGE_DISCOUNT credits of the usage they cover, under
every --idle x --shared x --commitments policy (issue 14):

- every policy reconciles exactly with the export's net total, per currency; pipelines add up to their runs;
- `separate` keeps the fees whole in `commitment`; `amortize` leaves at most the fees in `unused_commitment`;
- with no negative money in the export, no workload's direct cost or share is negative;
- a run never costs more than what the node pools it used cost on the days it used them: its own rows, the idle,
  overhead and shared-namespace rows of those pool-days, the cluster-wide rows (cluster fee) of its cluster-days and
  the commitment fees of its days.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aipipe_ops.billing.attribution.attribute import attribute
from aipipe_ops.billing.attribution.policies import COMMITMENT_POLICIES, IDLE_POLICIES, SHARED_POLICIES, Policy
from aipipe_ops.billing.load import load_billing
from aipipe_ops.workspace import Workspace
from conftest import insert_runs, utc
from export_rows import COMPUTE, GKE, INVOICE, gke_labels, net_by_currency, row, write_parquet

START = utc(2026, 3, 2, 0)
PACIFIC = ZoneInfo("America/Los_Angeles")
BIGQUERY = ("24E6-581D-38E5", "BigQuery")
RUNS = ["r1", "r2", "r3", "r4"]  # r4: a run the lineage does not know (still a run, docs/cost-model.md §3)
# (sku, kind) per node pool; A2 cores and the A100 are what the commitment covers.
POOL_SKUS = {
    "cpu": [("N2 Instance Core running in Americas", "cpu"), ("N2 Instance Ram running in Americas", "ram")],
    "gpu": [("A2 Instance Core running in Americas", "cpu"), ("A2 Instance Ram running in Americas", "ram"),
            ("Nvidia Tesla A100 GPU running in Americas", "gpu")],
}
COMMITTED = {"cpu": "Commitment v1: A2 Cpu in Americas for 1 Year",
             "gpu": "Commitment v1: Nvidia Tesla A100 GPU in Americas for 1 Year"}
COVERED = {"A2 Instance Core running in Americas", "Nvidia Tesla A100 GPU running in Americas"}
# Pods of other workloads: a KServe predictor, a notebook, an app, a namespace whose pods carry no workload label.
WORKLOADS = [("team-b", {"k8s-label/serving.kserve.io/inferenceservice": "scorer", "k8s-label/app": "scorer-pred"}),
             ("team-b", {"k8s-label/notebook-name": "nb-ana"}), ("team-a", {"k8s-label/app": "dash"}),
             ("kubeflow", {"k8s-label/app": "ml-pipeline"}), ("kube-system", {})]
HOURS = [0, 1, 2, 9, 30, 31]  # two US/Pacific days, several rows per hour
NANO = Decimal("0.000000001")

positive = st.decimals(min_value=Decimal("0"), max_value=Decimal("40"), places=6, allow_nan=False,
                       allow_infinity=False)
fraction = st.decimals(min_value=Decimal("0"), max_value=Decimal("1"), places=3)


def _credit(amount: Decimal, kind: str) -> dict:
    return {"name": kind, "amount": float(-amount), "full_name": None, "id": kind, "type": kind}


@st.composite
def gke_row(draw, currency: str):
    """A usage row of a node pool: a run's, another workload's, idle or overhead; covered usage may carry a
    COMMITTED_USAGE_DISCOUNT credit, other usage a sustained-use one (never more than its cost)."""
    owner = draw(st.sampled_from(["run", "run", "workload", "idle", "idle", "overhead"]))
    cluster, pool = draw(st.sampled_from(["c1", "c1", "c2"])), draw(st.sampled_from(["cpu", "gpu", "gpu"]))
    sku, _ = draw(st.sampled_from(POOL_SKUS[pool]))
    if owner == "run":
        labels = gke_labels(cluster, pool=pool, namespace="team-a", run=draw(st.sampled_from(RUNS)))
    elif owner == "workload":
        namespace, pod = draw(st.sampled_from(WORKLOADS))
        labels = gke_labels(cluster, pool=pool, namespace=namespace, **pod)
    else:
        labels = gke_labels(cluster, pool=pool,
                            namespace="kube:unallocated" if owner == "idle" else "kube:system-overhead")
    cost = draw(positive)
    r = row(start=START + dt.timedelta(hours=draw(st.sampled_from(HOURS))), sku=sku, service=COMPUTE, cost=cost,
            labels=labels, currency=currency)
    r["usage"]["amount"] = float(draw(st.integers(1, 4 * 3600)))
    r["location"]["region"] = draw(st.sampled_from(["us-central1", "us-central1", "europe-west4"]))
    share = draw(fraction)
    if sku in COVERED and draw(st.booleans()):
        r["credits"] = [_credit((cost * share).quantize(Decimal("0.000001")), "COMMITTED_USAGE_DISCOUNT")]
    elif draw(st.booleans()):
        r["credits"] = [_credit((cost * share / 3).quantize(Decimal("0.000001")), "SUSTAINED_USAGE_DISCOUNT")]
    return r


@st.composite
def other_row(draw, currency: str):
    """A cluster fee (free-tier credit), a commitment fee, a non-GKE service or tax."""
    what = draw(st.sampled_from(["cluster_fee", "commitment", "commitment", "bigquery", "tax"]))
    start = START + dt.timedelta(hours=draw(st.sampled_from(HOURS)))
    cost = draw(positive)
    if what == "cluster_fee":
        r = row(start=start, sku="Regional Kubernetes Clusters", service=GKE, cost=cost, currency=currency,
                labels={"goog-k8s-cluster-name": draw(st.sampled_from(["c1", "c2", "c3"]))})
        if draw(st.booleans()):
            r["credits"] = [_credit(min(cost, Decimal("0.1")), "FREE_TIER")]
    elif what == "commitment":
        kind = draw(st.sampled_from(sorted(COMMITTED)))
        r = row(start=start, sku=COMMITTED[kind], service=COMPUTE, cost=cost, currency=currency)
        r["usage"]["amount"] = float(draw(st.integers(1, 3)) * 3600)
        r["location"]["region"] = draw(st.sampled_from(["us-central1", "us-central1", "europe-west4"]))
    elif what == "bigquery":
        r = row(start=start, sku="Analysis", service=BIGQUERY, cost=cost, currency=currency,
                labels={"aipipe-run": "r1"} if draw(st.booleans()) else {})
    else:
        r = row(start=start, sku="Tax", service=INVOICE, cost=cost, currency=currency, cost_type="tax")
    return r


@st.composite
def export(draw):
    currency = lambda: st.sampled_from(["USD", "USD", "USD", "EUR"])  # noqa: E731
    rows = draw(st.lists(currency().flatmap(gke_row), min_size=8, max_size=40))
    rows += draw(st.lists(currency().flatmap(other_row), min_size=2, max_size=14))
    if draw(st.booleans()):  # a correction: negative money labelled with a run
        r = draw(currency().flatmap(gke_row))
        r.update(cost=-abs(r["cost"]), credits=[], cost_type="adjustment")
        rows.append(r)
    return rows


def _net(r: dict) -> Decimal:
    q = NANO
    return Decimal(repr(r["cost"])).quantize(q) + sum((Decimal(repr(c["amount"])).quantize(q) for c in r["credits"]),
                                                      Decimal(0))


def _labels(r: dict) -> dict:
    return {kv["key"]: kv["value"] for kv in r["labels"]}


def _day(r: dict) -> dt.date:
    return r["usage_start_time"].astimezone(PACIFIC).date()


def run_bounds(rows: list[dict], shared_namespaces: tuple[str, ...]) -> dict[tuple[str, str], Decimal]:
    """(run, currency) -> what the pools it used cost on the days it used them (docstring above)."""
    own, pool_days, cluster_days, days = {}, {}, {}, {}
    for r in rows:
        labels, cur = _labels(r), r["currency"]
        run = labels.get("k8s-label/pipeline/runid") or labels.get("aipipe-run")
        if run:
            key = (run, cur)
            own[key] = own.get(key, Decimal(0)) + _net(r)
            days.setdefault(key, set()).add(_day(r))
            if "goog-k8s-cluster-name" in labels:
                cluster_days.setdefault(key, set()).add((_day(r), labels["goog-k8s-cluster-name"]))
                if "goog-k8s-node-pool-name" in labels:
                    pool_days.setdefault(key, set()).add(
                        (_day(r), labels["goog-k8s-cluster-name"], labels["goog-k8s-node-pool-name"]))
    shared = ("kube:unallocated", "kube:system-overhead", *shared_namespaces)
    out = {}
    for key, amount in own.items():
        _, cur = key
        for r in rows:
            labels = _labels(r)
            if r["currency"] != cur:
                continue
            cluster, pool = labels.get("goog-k8s-cluster-name"), labels.get("goog-k8s-node-pool-name")
            if pool and labels.get("k8s-namespace") in shared and (_day(r), cluster, pool) in pool_days.get(key, ()):
                amount += _net(r)
            elif cluster and not pool and (_day(r), cluster) in cluster_days.get(key, ()):
                amount += _net(r)  # the cluster fee
            elif r["sku"]["description"].startswith("Commitment v1:") and _day(r) in days[key]:
                amount += _net(r)
        out[key] = amount
    return out


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(rows=export(), share_namespaces=st.sampled_from([(), ("kubeflow",)]))
def test_every_policy_reconciles_and_shares_are_bounded(tmp_path_factory, rows, share_namespaces):
    tmp = tmp_path_factory.mktemp("policies")
    path = write_parquet(rows, tmp / "export.parquet")
    expected = net_by_currency(rows)
    nonnegative = all(_net(r) >= 0 for r in rows)
    fees: dict[str, Decimal] = {}
    for r in rows:
        if r["sku"]["description"].startswith("Commitment v1:"):
            fees[r["currency"]] = fees.get(r["currency"], Decimal(0)) + _net(r)
    bounds = run_bounds(rows, share_namespaces)
    with Workspace.open(tmp / "ws.duckdb") as ws:
        insert_runs(ws, [{"run_id": r, "pipeline": f"p{i % 2}"} for i, r in enumerate(RUNS[:3])])
        load_billing(ws, str(path))
        con = ws.con
        for idle, shared, commitments in itertools.product(IDLE_POLICIES, SHARED_POLICIES, COMMITMENT_POLICIES):
            if share_namespaces and shared == "separate":
                continue  # --share-namespace needs a sharing policy
            policy = Policy(idle=idle, shared=shared, commitments=commitments, share_namespaces=share_namespaces)
            result = attribute(ws, policy)
            where = f"under {policy}"
            assert {r["currency"]: r["export_net_total"] for r in result.reconciliation} == expected, where
            assert all(r["buckets_total"] == r["export_net_total"] and r["status"] == "ok"
                       for r in result.reconciliation), where
            buckets = {(b, c): v for b, c, v in con.execute(
                "SELECT bucket, currency, sum(cost) FROM attribution_lines GROUP BY ALL").fetchall()}
            runs = dict(con.execute("SELECT currency, sum(cost) FROM run_costs GROUP BY 1").fetchall())
            pipelines = dict(con.execute("SELECT currency, sum(cost) FROM pipeline_costs GROUP BY 1").fetchall())
            assert runs == pipelines, where
            for currency, fee in fees.items():
                if commitments == "separate":
                    assert buckets.get(("commitment", currency), 0) == fee, where
                    assert not buckets.get(("unused_commitment", currency)), where
                else:
                    assert not buckets.get(("commitment", currency)), where
                    if nonnegative:
                        assert 0 <= buckets.get(("unused_commitment", currency), 0) <= fee, where
            if idle == "separate":
                assert not any(b == "idle_share" for b, _ in buckets), where
            if shared == "separate":
                assert not any(b in ("overhead_share", "shared") for b, _ in buckets), where
            if not nonnegative:
                continue
            negative = con.execute("""
                SELECT bucket, coalesce(run_id, workload), node_pool, usage_day, currency, cost FROM attribution_lines
                WHERE (run_id IS NOT NULL OR workload IS NOT NULL) AND cost < 0""").fetchall()
            assert not negative, f"{where}: negative parts {negative}"
            totals = con.execute("SELECT run_id, currency, sum(cost) FROM run_costs GROUP BY ALL").fetchall()
            for run_id, currency, total in totals:
                bound = bounds.get((run_id, currency), Decimal(0))
                assert total <= bound + 100 * NANO, \
                    f"{where}: run {run_id} costs {total} {currency}; its pool-days cost {bound}"
