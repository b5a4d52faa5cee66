"""The pipeline cost report's numbers on the tiny fleet, against values worked out by hand (see conftest)."""

import datetime as dt
import json
from decimal import Decimal as D

from aipipe_ops.workspace import Workspace

from .conftest import UTC, build_document, fill_tiny_fleet


def _rows(doc, currency, table):
    block = next(b for b in doc.blocks if b.currency == currency)
    return block.tables[table].rows


def test_currencies_are_separate_blocks_largest_first(tiny_workspace):
    _, doc = build_document(tiny_workspace, "pipeline_costs")
    assert doc.currencies == ["USD", "EUR"]
    assert {r["pipeline"] for r in _rows(doc, "EUR", "pipelines")} == {"eu-scoring"}
    assert _rows(doc, "EUR", "summary")[0]["export_total"] == D("10.00")


def test_pipeline_totals_buckets_and_policy(tiny_workspace):
    _, doc = build_document(tiny_workspace, "pipeline_costs")
    by = {r["pipeline"]: r for r in _rows(doc, "USD", "pipelines")}
    assert by["llm-tune"]["cost"] == D("121.00") and by["taxi"]["cost"] == D("16.00")
    assert by["llm-tune"]["idle_share"] == D("11.00") and by["llm-tune"]["direct"] == D("110.00")
    assert by["taxi"]["failed_runs"] == 1 and by["taxi"]["runs"] == 2
    assert [r["pipeline"] for r in _rows(doc, "USD", "pipelines")] == ["llm-tune", "taxi"]   # costliest first
    summary = _rows(doc, "USD", "summary")[0]
    assert summary["cost"] == D("137.00") and summary["runs"] == 4
    assert doc.extras["policy"]["idle"] == "shared to workloads" and doc.extras["policy"]["overhead"] == "kept separate"


def test_waste_follows_lineage_through_the_cache(tiny_workspace):
    """llm-1 pushed nothing itself, but its prep output was re-used by llm-2's pushed model: only its train and
    eval steps are waste. taxi-2 failed; taxi-1's ExampleValidator fed nothing."""
    _, doc = build_document(tiny_workspace, "pipeline_costs")
    waste = {(r["pipeline"], r["category"]): (r["items"], r["cost"]) for r in _rows(doc, "USD", "waste")}
    assert waste == {
        ("llm-tune", "dead_end_steps"): (2, D("44.00")),
        ("taxi", "failed_runs"): (1, D("3.00")),
        ("taxi", "dead_end_steps"): (1, D("0.50")),
    }
    assert _rows(doc, "USD", "summary")[0]["waste"] == D("47.50")
    # eu-scoring never pushes a model (it scores): it is judged on failed runs only, and has none.
    assert _rows(doc, "EUR", "waste") == []
    assert doc.blocks[1].extras["pushing_pipelines"] == {"taxi", "llm-tune"}
    top = {r["run_id"]: (r["reached_push"], r["reached_push_text"]) for r in _rows(doc, "USD", "top_runs")}
    assert top == {"llm-2": (True, "yes"), "llm-1": (True, "yes"), "taxi-1": (True, "yes"), "taxi-2": (False, "no")}


def test_a_declined_push_is_no_push(tiny_workspace):
    with Workspace.open(tiny_workspace) as ws:
        ws.con.execute("""UPDATE artifacts SET properties = '{"pushed": 0}' WHERE artifact_id = 4""")
    _, doc = build_document(tiny_workspace, "pipeline_costs")
    waste = {(r["pipeline"], r["category"]): r["cost"] for r in _rows(doc, "USD", "waste")}
    # taxi never pushed now: it is judged on its failed run only, and taxi-1 is not waste but "not judged".
    assert waste == {("llm-tune", "dead_end_steps"): D("44.00"), ("taxi", "failed_runs"): D("3.00")}
    assert [r["artifact_id"] for r in _rows(doc, "USD", "models")] == [11]
    top = {r["run_id"]: (r["reached_push"], r["reached_push_text"]) for r in _rows(doc, "USD", "top_runs")}
    assert top["taxi-1"] == (None, "n/a (pushes no models)") and top["taxi-2"] == (False, "no")


def test_a_run_that_pushed_nothing_in_a_pushing_pipeline_is_waste(tiny_workspace):
    with Workspace.open(tiny_workspace) as ws:   # llm-2 re-used nothing from llm-1: llm-1 fed no push at all
        ws.con.execute("UPDATE events SET artifact_id = 6 WHERE execution_id = 11 AND artifact_id = 7")
        ws.con.execute("UPDATE events SET artifact_id = 6 WHERE execution_id = 12 AND artifact_id = 7")
        from aipipe_ops.lineage.graph import refresh_index
        refresh_index(ws.con)
    _, doc = build_document(tiny_workspace, "pipeline_costs")
    waste = {(r["pipeline"], r["category"]): (r["items"], r["cost"]) for r in _rows(doc, "USD", "waste")}
    assert waste[("llm-tune", "runs_without_push")] == (1, D("48.40"))
    assert ("llm-tune", "dead_end_steps") not in waste


def test_models_idle_gpu_and_resources(tiny_workspace):
    _, doc = build_document(tiny_workspace, "pipeline_costs")
    models = {r["artifact_id"]: r for r in _rows(doc, "USD", "models")}
    assert models[11]["cost"] == D("77.00") and models[11]["contributing_runs"] == 2
    assert models[11]["pipeline"] == "llm-tune" and models[11]["run_id"] == "llm-2"
    assert models[4]["cost"] == D("12.50")
    assert _rows(doc, "USD", "summary")[0]["cost_per_pushed_model"] == D("44.75")
    (gpu,) = _rows(doc, "USD", "idle_accelerators")
    assert (gpu["node_pool"], gpu["accelerator"], gpu["accelerator_cost"], gpu["idle_cost"], gpu["idle_hours"]) == (
        "gpu-pool", "gpu", D("111.00"), D("11.00"), D("4.000"))
    summary = _rows(doc, "USD", "summary")[0]
    assert summary["idle_gpu_hours"] == D("4.000") and summary["idle_tpu_cost"] == 0
    resources = {(r["scope"], r["pipeline"], r["resource"]): r["cost"] for r in _rows(doc, "USD", "resources")}
    assert resources[("pipeline", "llm-tune", "gpu")] == D("111.00")
    assert resources[("pipeline", "taxi", "ram")] == D("2.00")
    assert resources[("whole_export", None, "cluster_fee")] == D("2.40")
    assert sum(v for (scope, _, _), v in resources.items() if scope == "whole_export") == D("144.70")


def test_reconciliation_balances_per_currency(tiny_workspace):
    _, doc = build_document(tiny_workspace, "pipeline_costs")
    rows = {r["part"]: r["cost"] for r in _rows(doc, "USD", "reconciliation")}
    assert rows["direct"] == D("126.00") and rows["idle_share"] == D("11.00")
    assert rows["overhead"] == D("2.70") and rows["unattributed"] == D("5.00")
    assert rows["export_total"] == D("144.70") and rows["difference"] == 0
    assert _rows(doc, "USD", "summary")[0]["reconciled"] is True
    assert not doc.extras["warnings"]


def test_reconciliation_catches_a_lost_line(tiny_workspace):
    with Workspace.open(tiny_workspace) as ws:
        ws.con.execute("DELETE FROM attribution_lines WHERE run_id = 'taxi-2' AND usage_day = DATE '2026-11-10'")
    _, doc = build_document(tiny_workspace, "pipeline_costs")
    summary = _rows(doc, "USD", "summary")[0]
    assert summary["reconciled"] is False and summary["difference"] == D("-3.00")
    assert any("USD" in w for w in doc.extras["warnings"])
    assert _rows(doc, "EUR", "summary")[0]["reconciled"] is True


def test_pipeline_filter_keeps_the_whole_export_reconciled(tiny_workspace):
    _, doc = build_document(tiny_workspace, "pipeline_costs", pipeline="taxi")
    assert [r["pipeline"] for r in _rows(doc, "USD", "pipelines")] == ["taxi"]
    assert doc.currencies == ["USD", "EUR"]
    assert _rows(doc, "USD", "summary")[0]["export_total"] == D("144.70")


def test_a_period_is_attributed_by_the_engine(tiny_workspace):
    _, doc = build_document(tiny_workspace, "pipeline_costs", since=dt.date(2026, 11, 11),
                            until=dt.date(2026, 11, 16))
    assert {r["run_id"] for r in _rows(doc, "USD", "top_runs")} == {"llm-1", "llm-2"}
    rows = {r["part"]: r["cost"] for r in _rows(doc, "USD", "reconciliation")}
    # Usage days Nov 11-16: llm-1 44.00 + llm-2 66.00 direct, idle 11.00, unattributed 5.00.
    assert rows["export_total"] == D("126.00") and rows["direct"] == D("110.00")
    assert rows["difference"] == 0
    with Workspace.open(tiny_workspace) as ws:
        assert ws.con.execute("SELECT since, until FROM attributions ORDER BY attribution_id DESC LIMIT 1"
                              ).fetchone() == (dt.date(2026, 11, 11), dt.date(2026, 11, 16))


def test_trend_by_day_then_week(tiny_workspace):
    _, doc = build_document(tiny_workspace, "pipeline_costs")
    trend = {(r["period"], r["pipeline"]): r["cost"] for r in _rows(doc, "USD", "trend")}
    # Each day's idle GPU goes to that day's run, on its own day: Nov 12 4.40 to llm-1, Nov 15 6.60 to llm-2.
    assert trend[(dt.date(2026, 11, 15), "llm-tune")] == D("66.00") + D("6.60")
    assert trend[(dt.date(2026, 11, 12), "llm-tune")] == D("44.00") + D("4.40")
    assert sum(trend.values()) == D("137.00")
    # The chart shows every day between the first and the last, quiet days included (Nov 2 to Nov 15).
    assert len(doc.blocks[0].extras["charts"]["trend_pivot"]["rows"]) == 14
    _, doc = build_document(tiny_workspace, "pipeline_costs", since=dt.date(2026, 6, 1), until=dt.date(2026, 11, 30))
    weeks = {r["period"] for r in _rows(doc, "USD", "trend")}
    assert all(w.weekday() == 0 for w in weeks) and dt.date(2026, 11, 9) in weeks


def test_week_over_week(tiny_workspace):
    _, doc = build_document(tiny_workspace, "pipeline_costs")
    summary = _rows(doc, "USD", "summary")[0]
    # Period Nov 02-16 (15 days): last 7 days = Nov 10-16, the 7 before = Nov 03-09 (nothing: taxi-1 ran on Nov 02).
    assert summary["period_days"] == 15
    assert summary["last_7_days"] == D("124.00") and summary["previous_7_days"] == 0
    assert summary["change"] is None


def test_week_over_week_needs_14_days(tiny_workspace):
    """13 days: last 7 days and change are not available (null), not 0.00; 14 days: they are."""
    from aipipe_ops.reports.rendering import render

    spec, doc = build_document(tiny_workspace, "pipeline_costs", since=dt.date(2026, 11, 3),
                               until=dt.date(2026, 11, 15))
    summary = _rows(doc, "USD", "summary")[0]
    assert summary["period_days"] == 13
    assert (summary["last_7_days"], summary["previous_7_days"], summary["change"]) == (None, None, None)
    for row in _rows(doc, "USD", "pipelines"):
        assert (row["last_7_days"], row["previous_7_days"], row["change"]) == (None, None, None)
    html, md = render(doc, spec, "html"), render(doc, spec, "md")
    assert 'data-key="last_7_days"><div class="label">Last 7 days</div><div class="value">not available' in html
    assert "| not available | not available |" in md   # the pipelines table's last 7 days and change
    assert any("not available" in sentence for sentence in doc.blocks[0].extras["headline"])
    data = json.loads(render(doc, spec, "json"))
    assert data["by_currency"]["USD"]["summary"]["rows"][0]["last_7_days"] is None
    # Nov 02-15 is 14 days: last 7 = Nov 09-15 (taxi-2 3.00, llm-1 48.40, llm-2 72.60), the 7 before taxi-1 13.00.
    _, doc = build_document(tiny_workspace, "pipeline_costs", since=dt.date(2026, 11, 2),
                            until=dt.date(2026, 11, 15))
    summary = _rows(doc, "USD", "summary")[0]
    assert summary["period_days"] == 14
    assert summary["last_7_days"] == D("3.00") + D("48.40") + D("72.60") and summary["previous_7_days"] == D("13.00")
    assert summary["change"] == ((D("124.00") - D("13.00")) / D("13.00")).quantize(D("0.000001"))


def _add_lines(path, lines):
    """Billing lines added to the tiny fleet (with their export totals and a load), attributed again."""
    with Workspace.open(path) as ws:
        for day, service, sku, cluster, namespace, cost, cost_type in lines:
            ws.con.execute(
                "INSERT INTO cost_lines (usage_start, usage_day, cluster, namespace, resource_kind, sku_id, sku, cost, "
                "credits, net_cost, currency, service, cost_type, source) "
                "VALUES (?, ?, ?, ?, 'other', ?, ?, ?, 0, ?, 'USD', ?, ?, 'more')",
                [dt.datetime(2026, 11, day, 18, tzinfo=UTC), dt.date(2026, 11, day), cluster, namespace, f"{sku}-id",
                 sku, D(cost), D(cost), service, cost_type])
        ws.con.execute("DELETE FROM billing_export_totals")
        ws.con.execute("""
            INSERT INTO billing_export_totals (load_id, source, usage_day, currency, cost, credits, net_cost, export_rows)
            SELECT 1, 'test', usage_day, currency, sum(cost), sum(credits), sum(net_cost), count(*)
            FROM cost_lines GROUP BY usage_day, currency""")
        ws.con.execute("INSERT INTO loads (load_id, kind, source, loaded_at, rows) "
                       "VALUES (2, 'billing', 'more', current_timestamp, 1)")


def test_the_whole_bill_adds_up_to_the_export_total(tiny_workspace):
    """By hand (conftest) plus a tax line (0.75) and a BigQuery line on no cluster (1.25): pipelines 137.00 (126.00
    direct + 11.00 idle shared to runs), overhead 2.70, the network line on cluster prod 5.00, other services
    1.25, tax 0.75; 146.70 in all. EUR: eu-1 9.00 and its cluster's disk 1.00."""
    _add_lines(tiny_workspace, [(16, "Invoice", "Tax", None, None, "0.75", "tax"),
                                (14, "BigQuery", "Analysis", None, None, "1.25", "regular")])
    _, doc = build_document(tiny_workspace, "pipeline_costs")
    bill = {r["part"]: r["cost"] for r in _rows(doc, "USD", "bill")}
    assert {k: v for k, v in bill.items() if v} == {
        "pipelines": D("137.00"), "overhead": D("2.70"), "cluster_unattributed": D("5.00"),
        "other_services": D("1.25"), "tax": D("0.75")}
    summary = _rows(doc, "USD", "summary")[0]
    assert sum(bill.values()) == summary["export_total"] == D("146.70") and summary["reconciled"] is True
    assert bill["pipelines"] == summary["cost"] == sum(r["cost"] for r in _rows(doc, "USD", "pipelines"))
    shares = {r["part"]: r["share"] for r in _rows(doc, "USD", "bill")}
    assert shares["tax"] == (D("0.75") / D("146.70")).quantize(D("0.000001"))
    assert [r["part"] for r in _rows(doc, "USD", "bill")][:8] == [
        "pipelines", "other_workloads", "idle", "overhead", "unused_commitment", "cluster_unattributed",
        "other_services", "tax"]
    eur = {r["part"]: r["cost"] for r in _rows(doc, "EUR", "bill") if r["cost"]}
    assert eur == {"pipelines": D("9.00"), "cluster_unattributed": D("1.00")}
    # The team table: every pipeline cent in its namespace (kubeflow; eu-1 in scoring), the received shares apart.
    namespaces = {r["namespace"]: r for r in _rows(doc, "USD", "namespaces")}
    assert (namespaces["kubeflow"]["pipelines"], namespaces["kubeflow"]["shares"]) == (D("126.00"), D("11.00"))
    assert sum(r["total"] for r in namespaces.values()) == bill["pipelines"] + bill["other_workloads"]
    assert [(r["namespace"], r["total"]) for r in _rows(doc, "EUR", "namespaces")] == [("scoring", D("9.00"))]
    # Idle accelerator hours at their effective price: 11.00 over 4 GPU-hours.
    assert summary["idle_gpu_hourly"] == D("2.75") and summary["idle_tpu_hourly"] is None


def test_the_first_screen_shows_the_whole_bill(tiny_workspace):
    """The HTML's first section (before the pipelines) holds every part of the bill and the team table, each amount
    the document's exact value; the Markdown has the same table."""
    from aipipe_ops.reports import formatting
    from aipipe_ops.reports.rendering import render

    spec, doc = build_document(tiny_workspace, "pipeline_costs")
    html = render(doc, spec, "html")
    for block in doc.blocks:
        c = block.currency
        glance = html[html.index(f'id="glance-{c}"'):html.index(f'id="pipelines-{c}"')]
        for row in block.tables["bill"].rows:
            assert f'<td>{row["label"]}</td><td class="num" data-value="{formatting.exact(row["cost"])}">' in glance
        export_total = block.tables["summary"].rows[0]["export_total"]
        assert f'data-value="{formatting.exact(export_total)}"' in glance and "reconciled" in glance
        for row in block.tables["namespaces"].rows:
            assert f'<td>{row["namespace"]}</td>' in glance
        assert 'data-key="idle_accelerator_cost"' in glance and "/h" in glance
    md = render(doc, spec, "md")
    first = md[:md.index("### Cost by pipeline")]
    assert "### The whole bill ✓ reconciled" in first and "| Pipeline runs | $137.00 |" in first
    assert "| **Total** | **$144.70** |" in first and "Cost by team" in first


def test_empty_workspace_says_so(tmp_path):
    path = tmp_path / "empty.duckdb"
    Workspace.open(path).close()
    _, doc = build_document(path, "pipeline_costs")
    assert doc.blocks == [] and any("billing" in n for n in doc.notes)


def test_billing_loaded_after_the_attribution_is_attributed_again(tiny_workspace):
    with Workspace.open(tiny_workspace) as ws:
        ws.con.execute("""
            INSERT INTO cost_lines (usage_start, usage_day, cluster, namespace, resource_kind, cost, credits, net_cost,
                                    currency, service, sku_id, cost_type, source)
            VALUES (TIMESTAMPTZ '2026-11-16 01:00:00+00', DATE '2026-11-16', 'prod', 'kube-system', 'cpu', 2.00, 0,
                    2.00, 'USD', 'Compute Engine', 'cpu-sku', 'regular', 'late')""")
        ws.con.execute("INSERT INTO billing_export_totals (load_id, source, usage_day, currency, cost, credits, "
                       "net_cost, export_rows) VALUES (2, 'late', DATE '2026-11-16', 'USD', 2.00, 0, 2.00, 1)")
        ws.con.execute("INSERT INTO loads (load_id, kind, source, loaded_at, rows) "
                       "VALUES (2, 'billing', 'late', current_timestamp, 1)")
    _, doc = build_document(tiny_workspace, "pipeline_costs")
    rows = {r["part"]: r["cost"] for r in _rows(doc, "USD", "reconciliation")}
    # The late kube-system line is another workload's (direct) or, for an engine without workloads, unattributed.
    assert rows["direct"] + rows["unattributed"] == D("126.00") + D("5.00") + D("2.00")
    assert rows["export_total"] == D("146.70") and rows["difference"] == 0


def test_shares_land_on_the_days_their_money_was_spent(tmp_path):
    """The engine shares idle and overhead per day; the trend puts each run's part on the shared money's own day,
    and the days still add up to each pipeline's total."""
    from aipipe_ops.billing.attribution.policies import Policy

    from .conftest import fill_tiny_fleet

    path = tmp_path / "weighted.duckdb"
    with Workspace.open(path) as ws:
        fill_tiny_fleet(ws, Policy(idle="share", shared="weighted"))
    _, doc = build_document(path, "pipeline_costs", policy=Policy(idle="share", shared="weighted"))
    trend = _rows(doc, "USD", "trend")
    by_day = {(r["period"], r["pipeline"]): r["cost"] for r in trend}
    # Nov 15's idle GPU (6.60) goes to Nov 15's run in the pool, llm-2, on Nov 15.
    assert by_day[(dt.date(2026, 11, 15), "llm-tune")] == D("66.00") + D("6.60")
    pipelines = {r["pipeline"]: r["cost"] for r in _rows(doc, "USD", "pipelines")}
    for pipeline, total in pipelines.items():
        assert sum(c for (_, p), c in by_day.items() if p == pipeline) == total, pipeline
    # The cluster fee (no node pool) and the CPU overhead were shared too: nothing is left undated.
    assert sum(by_day.values()) == sum(pipelines.values())


def test_idle_tpu_hours_found_by_sku_description_when_the_book_lacks_the_id(tmp_path):
    """The shipped price book carries placeholder ids for SKUs no public source gave the id of (TPU v5e): an
    export's real id is unknown there, but its description prices the idle chip-hours."""
    from aipipe_ops.billing.attribution.attribute import attribute
    from aipipe_ops.billing.attribution.policies import Policy
    from aipipe_ops.billing.normalise import UsageWindow
    from aipipe_ops.pricing.price_book import PriceBook
    from aipipe_ops.workspace import Workspace

    book = PriceBook.load()
    chip = book.price_described("TpuV5e chip running in Americas")
    assert chip is not None and chip.placeholder_id and chip.usage_unit == "h"
    assert book.price_described("no such SKU description") is None
    path = tmp_path / "tpu.duckdb"
    with Workspace.open(path) as ws:
        fill_tiny_fleet(ws)
        cost = chip.unit_price * 3  # three idle chip-hours at the list price
        ws.con.execute(
            "INSERT INTO cost_lines (usage_start, usage_day, cluster, node_pool, namespace, resource_kind, sku_id, "
            "sku, cost, credits, net_cost, currency, service, cost_type, source) VALUES (?, ?, 'prod', 'tpu-pool', "
            "'kube:unallocated', 'tpu', '1A2B-3C4D-5E6F', 'TpuV5e chip running in Americas', ?, 0, ?, 'USD', "
            "'Compute Engine', 'regular', 'test')",
            [dt.datetime(2026, 11, 14, 3, tzinfo=UTC), dt.date(2026, 11, 13), cost, cost])
        ws.con.execute("DELETE FROM billing_export_totals")
        ws.con.execute("""
            INSERT INTO billing_export_totals (load_id, source, usage_day, currency, cost, credits, net_cost, export_rows)
            SELECT 1, 'test', usage_day, currency, sum(cost), sum(credits), sum(net_cost), count(*)
            FROM cost_lines GROUP BY usage_day, currency""")
        attribute(ws, Policy(idle="separate"), UsageWindow())
    _, doc = build_document(path, "pipeline_costs", policy=Policy(idle="separate"))
    tpu = {r["node_pool"]: r for r in _rows(doc, "USD", "idle_accelerators")}["tpu-pool"]
    assert (tpu["accelerator"], tpu["idle_cost"], tpu["idle_hours"]) == ("tpu", cost, D("3.000"))
    summary = _rows(doc, "USD", "summary")[0]
    assert summary["idle_tpu_hours"] == D("3.000") and summary["reconciled"] is True


def test_a_pusher_that_declined_is_no_push_however_it_says_so(tiny_workspace):
    """`pushed` = 0, 0.0, "0" or false: the Pusher declined, as the audit rules read it (audit/sql.is_push)."""
    baseline = {r["artifact_id"] for r in _rows(build_document(tiny_workspace, "pipeline_costs")[1], "USD", "models")}
    assert 11 in baseline
    for verdict in (0, 0.0, "0", False):
        with Workspace.open(tiny_workspace) as ws:
            ws.con.execute("UPDATE artifacts SET properties = ?::JSON WHERE artifact_id = 11",
                           [json.dumps({"pushed": verdict})])
        _, doc = build_document(tiny_workspace, "pipeline_costs")
        assert {r["artifact_id"] for r in _rows(doc, "USD", "models")} == baseline - {11}, verdict
