"""docs/cost-model.md §12 (shares by day), reproduced exactly: the test reads the example's export rows and result
from the page, attributes them under --idle share and checks each run's money per usage day, in a window of the
two days and in windows of one day each (a day's shares do not depend on the window)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from aipipe_ops.billing.attribution.attribute import attribute, latest_attribution
from aipipe_ops.billing.attribution.policies import Policy
from aipipe_ops.billing.load import load_billing
from aipipe_ops.billing.normalise import UsageWindow
from conftest import insert_runs
from export_rows import gke_labels, row, write_parquet
from test_cost_model_example import doc_table, money


def test_shares_by_day_match_the_page(workspace, tmp_path):
    rows = []
    for r in doc_table("Shares by day example: export rows"):
        day = dt.date.fromisoformat(r["day"])
        start = dt.datetime(day.year, day.month, day.day, 18, tzinfo=dt.timezone.utc)   # 10:00 US/Pacific
        rows.append(row(start=start, sku="N2 Instance Core running in Americas", cost=float(r["net"]),
                        labels=gke_labels("prod", pool="cpu-pool", namespace=r["namespace"], run=r["run"] or None)))
    insert_runs(workspace, [{"run_id": "run-a", "pipeline": "taxi"}, {"run_id": "run-b", "pipeline": "vision"}])
    load_billing(workspace, str(write_parquet(rows, tmp_path / "export.parquet")))
    attribute(workspace, Policy(idle="share"), UsageWindow(dt.date(2026, 3, 2), dt.date(2026, 3, 3)))
    name = "attribution_lines"
    got: dict[tuple[str, dt.date], dict[str, Decimal]] = {}
    for run_id, day, bucket, cost in workspace.con.execute(
            f"SELECT run_id, usage_day, bucket, sum(cost) FROM {name} WHERE run_id IS NOT NULL "
            "GROUP BY ALL").fetchall():
        got.setdefault((run_id, day), {})[bucket] = cost
    want = doc_table("Shares by day example: result")
    assert set(got) == {(r["run"], dt.date.fromisoformat(r["day"])) for r in want}
    for r in want:
        buckets = got[(r["run"], dt.date.fromisoformat(r["day"]))]
        assert buckets.get("direct", 0) == money(r["direct"]) and buckets.get("idle_share", 0) == money(r["idle_share"])
        assert sum(buckets.values()) == money(r["total"]), r
    # Nothing created or lost: the days add up to the attribution, and no line is left without a day.
    total, undated = workspace.con.execute(
        f"SELECT sum(cost), count(*) FILTER (WHERE usage_day IS NULL) FROM {name}").fetchone()
    assert total == Decimal("8.00") and undated == 0
    # Each day alone gives that day's lines of the two-day attribution.
    two_days = got
    for r in want:
        day = dt.date.fromisoformat(r["day"])
        attribute(workspace, Policy(idle="share"), UsageWindow(day, day))
        alone = {b: c for _, b, c in workspace.con.execute(
            "SELECT run_id, bucket, sum(cost) FROM attribution_lines WHERE run_id = ? GROUP BY ALL",
            [r["run"]]).fetchall()}
        assert alone == two_days[(r["run"], day)]
