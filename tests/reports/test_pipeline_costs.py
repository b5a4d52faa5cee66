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
    assert doc.extras["policy"]["idle"] == "shared to runs" and doc.extras["policy"]["overhead"] == "kept separate"


def test_waste_follows_lineage_through_the_cache(tiny_workspace):
    """llm-1 pushed nothing itself, but its prep output was re-used by llm-2's pushed model: only its train and
    eval steps are waste. taxi-2 failed; taxi-1's ExampleValidator fed nothing."""
    _, doc = build_document(tiny_workspace, "pipeline_costs")
    waste = {(r["pipeline"], r["category"]): (r["items"], r["cost"]) for r in _rows(doc, "USD", "waste")}
    assert waste == {
        ("llm-tune", "Steps that fed no pushed model"): (2, D("44.00")),
        ("taxi", "Failed runs"): (1, D("3.00")),
        ("taxi", "Steps that fed no pushed model"): (1, D("0.50")),
    }
    assert _rows(doc, "USD", "summary")[0]["waste"] == D("47.50")
    # eu-scoring never pushes a model (it scores): it is judged on failed runs only, and has none.
    assert _rows(doc, "EUR", "waste") == []
    assert doc.blocks[1].extras["pushing_pipelines"] == {"taxi", "llm-tune"}
    top = {r["run_id"]: r["reached_push"] for r in _rows(doc, "USD", "top_runs")}
    assert top == {"llm-2": "yes", "llm-1": "yes", "taxi-1": "yes", "taxi-2": "no"}


def test_a_declined_push_is_no_push(tiny_workspace):
    with Workspace.open(tiny_workspace) as ws:
        ws.con.execute("""UPDATE artifacts SET properties = '{"pushed": 0}' WHERE artifact_id = 4""")
    _, doc = build_document(tiny_workspace, "pipeline_costs")
    waste = {(r["pipeline"], r["category"]): r["cost"] for r in _rows(doc, "USD", "waste")}
    # taxi never pushed now: it is judged on its failed run only, and taxi-1 is not waste but "not judged".
    assert waste == {("llm-tune", "Steps that fed no pushed model"): D("44.00"), ("taxi", "Failed runs"): D("3.00")}
    assert [r["artifact_id"] for r in _rows(doc, "USD", "models")] == [11]
    top = {r["run_id"]: r["reached_push"] for r in _rows(doc, "USD", "top_runs")}
    assert top["taxi-1"] == "n/a (pushes no models)" and top["taxi-2"] == "no"


def test_a_run_that_pushed_nothing_in_a_pushing_pipeline_is_waste(tiny_workspace):
    with Workspace.open(tiny_workspace) as ws:   # llm-2 re-used nothing from llm-1: llm-1 fed no push at all
        ws.con.execute("UPDATE events SET artifact_id = 6 WHERE execution_id = 11 AND artifact_id = 7")
        ws.con.execute("UPDATE events SET artifact_id = 6 WHERE execution_id = 12 AND artifact_id = 7")
        from aipipe_ops.lineage.graph import refresh_index
        refresh_index(ws.con)
    _, doc = build_document(tiny_workspace, "pipeline_costs")
    waste = {(r["pipeline"], r["category"]): (r["items"], r["cost"]) for r in _rows(doc, "USD", "waste")}
    assert waste[("llm-tune", "Runs that pushed no model")] == (1, D("48.40"))
    assert ("llm-tune", "Steps that fed no pushed model") not in waste


def test_models_idle_gpu_and_resources(tiny_workspace):
    _, doc = build_document(tiny_workspace, "pipeline_costs")
    models = {r["artifact_id"]: r for r in _rows(doc, "USD", "models")}
    assert models[11]["cost"] == D("77.00") and models[11]["contributing_runs"] == 2
    assert models[11]["pipeline"] == "llm-tune" and models[11]["run_id"] == "llm-2"
    assert models[4]["cost"] == D("12.50")
    assert _rows(doc, "USD", "summary")[0]["cost_per_pushed_model"] == D("44.75")
    (gpu,) = _rows(doc, "USD", "idle_accelerators")
    assert (gpu["node_pool"], gpu["accelerator"], gpu["accelerator_cost"], gpu["idle_cost"], gpu["idle_hours"]) == (
        "gpu-pool", "GPU", D("111.00"), D("11.00"), D("4.000"))
    summary = _rows(doc, "USD", "summary")[0]
    assert summary["idle_gpu_hours"] == D("4.000") and summary["idle_tpu_cost"] == 0
    resources = {(r["pipeline"], r["resource"]): r["cost"] for r in _rows(doc, "USD", "resources")}
    assert resources[("llm-tune", "GPU")] == D("111.00") and resources[("taxi", "Memory")] == D("2.00")
    assert resources[("Whole export", "Cluster fee")] == D("2.40")
    assert sum(v for (p, _), v in resources.items() if p == "Whole export") == D("144.70")


def test_reconciliation_balances_per_currency(tiny_workspace):
    _, doc = build_document(tiny_workspace, "pipeline_costs")
    rows = {r["component"]: r["cost"] for r in _rows(doc, "USD", "reconciliation")}
    assert rows["Attributed to runs: direct"] == D("126.00") and rows["Idle: shared to runs"] == D("11.00")
    assert rows["Overhead: kept separate"] == D("2.70") and rows["Unattributed"] == D("5.00")
    assert rows["Billing export total"] == D("144.70") and rows["Difference"] == 0
    assert _rows(doc, "USD", "summary")[0]["reconciled"] == "yes"
    assert not doc.extras["warnings"]


def test_reconciliation_catches_a_lost_line(tiny_workspace):
    with Workspace.open(tiny_workspace) as ws:
        ws.con.execute("DELETE FROM attribution_lines WHERE run_id = 'taxi-2' AND usage_day = DATE '2026-11-10'")
    _, doc = build_document(tiny_workspace, "pipeline_costs")
    summary = _rows(doc, "USD", "summary")[0]
    assert summary["reconciled"] == "no" and summary["difference"] == D("-3.00")
    assert any("USD" in w for w in doc.extras["warnings"])
    assert _rows(doc, "EUR", "summary")[0]["reconciled"] == "yes"


def test_pipeline_filter_keeps_the_whole_export_reconciled(tiny_workspace):
    _, doc = build_document(tiny_workspace, "pipeline_costs", pipeline="taxi")
    assert [r["pipeline"] for r in _rows(doc, "USD", "pipelines")] == ["taxi"]
    assert doc.currencies == ["USD", "EUR"]
    assert _rows(doc, "USD", "summary")[0]["export_total"] == D("144.70")


def test_a_period_is_attributed_by_the_engine(tiny_workspace):
    _, doc = build_document(tiny_workspace, "pipeline_costs", since=dt.date(2026, 11, 11),
                            until=dt.date(2026, 11, 16))
    assert {r["run_id"] for r in _rows(doc, "USD", "top_runs")} == {"llm-1", "llm-2"}
    rows = {r["component"]: r["cost"] for r in _rows(doc, "USD", "reconciliation")}
    # Usage days Nov 11-16: llm-1 44.00 + llm-2 66.00 direct, idle 11.00, unattributed 5.00.
    assert rows["Billing export total"] == D("126.00") and rows["Attributed to runs: direct"] == D("110.00")
    assert rows["Difference"] == 0
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
    # Period Nov 01-16: last 7 days = Nov 10-16, the 7 before = Nov 03-09 (nothing: taxi-1 ran on Nov 02).
    assert summary["last_7_days"] == D("124.00") and summary["previous_7_days"] == 0
    assert summary["change"] is None


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
    rows = {r["component"]: r["cost"] for r in _rows(doc, "USD", "reconciliation")}
    assert rows["Unattributed"] == D("7.00") and rows["Billing export total"] == D("146.70")
    assert rows["Difference"] == 0


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
    assert (tpu["accelerator"], tpu["idle_cost"], tpu["idle_hours"]) == ("TPU", cost, D("3.000"))
    summary = _rows(doc, "USD", "summary")[0]
    assert summary["idle_tpu_hours"] == D("3.000") and summary["reconciled"] == "yes"


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
