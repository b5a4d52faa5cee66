"""Google's documented pitfalls of querying the export (reference/billing.md §4), as behaviour."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from aipipe_ops.billing.attribution.attribute import attribute
from aipipe_ops.billing.attribution.policies import Policy
from aipipe_ops.billing.load import load_billing
from aipipe_ops.billing.resource_kinds import kind_of
from conftest import utc
from export_rows import COMPUTE, GKE, INVOICE, gke_labels, net_by_currency, row, write_parquet

H = utc(2026, 3, 2, 10)
CORE = "N2 Instance Core running in Americas"


def load(ws, tmp_path, rows):
    load_billing(ws, str(write_parquet(rows, tmp_path / "export.parquet")))


def test_unlabelled_cost_stays_in_the_total(workspace, tmp_path):
    """The LEFT JOIN pitfall: grouping by a label must not drop rows that lack it."""
    rows = [row(start=H, sku=CORE, cost=5.0, labels=gke_labels(pool="p", namespace="ns", run="r1")),
            row(start=H, sku=CORE, cost=7.0),  # no labels at all
            row(start=H, sku=CORE, cost=11.0, labels={"team": "x"})]  # labels, but not the run label
    load(workspace, tmp_path, rows)
    result = attribute(workspace)
    [rec] = result.reconciliation
    assert rec["export_net_total"] == rec["buckets_total"] == Decimal(23)
    assert rec["direct"] == 5 and rec["unattributed"] == 18


def test_credits_never_double_count_when_labels_are_many(workspace, tmp_path):
    """Unnesting labels and credits in one FROM multiplies cost by labels x credits; net is per row."""
    labels = gke_labels(pool="p", namespace="ns", run="r1", **{f"k8s-label/l{i}": str(i) for i in range(8)})
    rows = [row(start=H, sku=CORE, cost=10.0, credits=[-1.0, -2.0, -0.5], labels=labels),
            row(start=H, sku=CORE, cost=4.0, credits=[-4.0], labels=labels)]
    load(workspace, tmp_path, rows)
    cost, credits, net = workspace.con.execute(
        "SELECT sum(cost), sum(credits), sum(net_cost) FROM cost_lines").fetchone()
    assert (cost, credits, net) == (Decimal(14), Decimal("-7.5"), Decimal("6.5"))
    attribute(workspace)
    assert workspace.con.execute("SELECT sum(cost) FROM run_costs WHERE run_id = 'r1'").fetchone()[0] == Decimal("6.5")


def test_currencies_are_never_added(workspace, tmp_path):
    rows = [row(start=H, sku=CORE, cost=1.0, currency="USD", labels=gke_labels(pool="p", namespace="kube:unallocated")),
            row(start=H, sku=CORE, cost=2.0, currency="EUR", labels=gke_labels(pool="p", namespace="ns", run="r1")),
            row(start=H, sku=CORE, cost=3.0, currency="USD", labels=gke_labels(pool="p", namespace="ns", run="r1"))]
    load(workspace, tmp_path, rows)
    result = attribute(workspace, Policy(idle="share"))
    assert {r["currency"]: r["export_net_total"] for r in result.reconciliation} == net_by_currency(rows)
    # USD idle goes to the run's USD cost only.
    got = dict(workspace.con.execute("SELECT currency, sum(cost) FROM run_costs GROUP BY 1").fetchall())
    assert got == {"USD": Decimal(4), "EUR": Decimal(2)}


def test_tax_adjustment_and_rounding_rows_are_kept(workspace, tmp_path):
    rows = [row(start=H, sku=CORE, cost=10.0, labels=gke_labels(pool="p", namespace="ns", run="r1")),
            row(start=H, sku=CORE, cost=-2.5, cost_type="adjustment", labels=gke_labels(pool="p", namespace="ns", run="r1"),
                invoice_month="202604"),
            row(start=H, sku="Tax", cost=0.45, cost_type="tax", service=INVOICE),
            row(start=H, sku="Rounding error", cost=-0.000001, cost_type="rounding_error", service=INVOICE)]
    load(workspace, tmp_path, rows)
    kinds = dict(workspace.con.execute("SELECT cost_type, sum(net_cost) FROM cost_lines GROUP BY 1").fetchall())
    assert kinds == {"regular": Decimal(10), "adjustment": Decimal("-2.5"), "tax": Decimal("0.45"),
                     "rounding_error": Decimal("-0.000001")}
    months = {m for (m,) in workspace.con.execute("SELECT DISTINCT invoice_month FROM cost_lines").fetchall()}
    assert months == {"202603", "202604"}
    result = attribute(workspace)
    [rec] = result.reconciliation
    assert rec["direct"] == Decimal("7.5")  # the correction belongs to the run it corrects
    assert rec["buckets_total"] == rec["export_net_total"] == Decimal("7.949999")


def test_usage_day_is_us_pacific(workspace, tmp_path):
    load(workspace, tmp_path, [row(start=utc(2026, 3, 1, 5), sku=CORE, cost=1.0)])
    assert workspace.con.execute("SELECT usage_day FROM cost_lines").fetchone()[0] == dt.date(2026, 2, 28)


def test_resource_kinds():
    cases = {
        ("Compute Engine", "N2 Instance Core running in Americas"): "cpu",
        ("Compute Engine", "Spot Preemptible G2 Instance Ram running in Iowa"): "ram",
        ("Compute Engine", "Nvidia L4 GPU attached to Spot Preemptible VMs running in Iowa"): "gpu",
        ("Compute Engine", "TpuV5e chip running in Americas"): "tpu",
        ("Compute Engine", "M1 Memory-optimized Instance Core running in Americas"): "cpu",
        ("Compute Engine", "Balanced PD Capacity"): "disk",
        ("Compute Engine", "Network Inter Zone Egress"): "network",
        ("Kubernetes Engine", "Regional Kubernetes Clusters"): "cluster_fee",
        ("Kubernetes Engine", "Autopilot Pod Memory Requests"): "ram",
        ("Kubernetes Engine", "Autopilot Pod mCPU Requests"): "cpu",
        ("Compute Engine", "Commitment v1: Nvidia Tesla A100 GPU in Americas for 1 Year"): "gpu",
        ("Invoice", "Tax"): "other",
    }
    assert {k: kind_of(*k) for k in cases} == cases


def test_sql_and_python_resource_kinds_agree(workspace, tmp_path):
    skus = ["N2 Instance Core running in Americas", "Nvidia Tesla A100 GPU running in Americas",
            "Regional Kubernetes Clusters", "Balanced PD Capacity", "Tax", "TpuV5e chip running in Americas"]
    rows = [row(start=H, sku=s, cost=1.0, service=GKE if "Clusters" in s else COMPUTE) for s in skus]
    load(workspace, tmp_path, rows)
    got = dict(workspace.con.execute("SELECT sku, resource_kind FROM cost_lines").fetchall())
    assert got == {s: kind_of(GKE[1] if "Clusters" in s else COMPUTE[1], s) for s in skus}


def test_a_window_reconciles_with_the_export_total_of_its_days(workspace, tmp_path):
    from aipipe_ops.billing.normalise import UsageWindow

    day1 = [row(start=utc(2026, 3, 2, 18), sku=CORE, cost=5.0, labels=gke_labels(pool="p", namespace="ns", run="r1")),
            row(start=utc(2026, 3, 2, 18), sku=CORE, cost=1.0, labels=gke_labels(pool="p", namespace="kube:unallocated"))]
    day2 = [row(start=utc(2026, 3, 3, 18), sku=CORE, cost=7.0, labels=gke_labels(pool="p", namespace="ns", run="r2")),
            row(start=utc(2026, 3, 3, 18), sku=CORE, cost=3.0, labels=gke_labels(pool="p", namespace="kube:unallocated"))]
    load(workspace, tmp_path, day1 + day2)
    result = attribute(workspace, Policy(idle="share"), UsageWindow(dt.date(2026, 3, 3), dt.date(2026, 3, 3)))
    [rec] = result.reconciliation
    assert rec["export_net_total"] == rec["buckets_total"] == Decimal(10)
    got = dict(workspace.con.execute("SELECT run_id, sum(cost) FROM run_costs GROUP BY 1").fetchall())
    assert got == {"r2": Decimal(10)}  # day 3's idle goes to day 3's run; r1 is outside the window
