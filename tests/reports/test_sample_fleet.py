"""End to end on a small sample fleet: `aipipe sample` -> lineage snapshot -> billing load -> `aipipe report`, as
`make demo` runs it. The report's numbers must agree with the fleet's ground truth and the billing engine's own
breakdown, and both HTML reports must render in Chromium."""

import json
from decimal import Decimal

import pytest

from aipipe_ops.billing.breakdowns import breakdown
from aipipe_ops.cli import main
from aipipe_ops.reports.browser import check_page
from aipipe_ops.workspace import Workspace


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    root = tmp_path_factory.mktemp("fleet")
    ws, sample, out = root / "ws.duckdb", root / "sample", root / "reports"
    for args in (["sample", "--runs", "24", "--days", "7", "--seed", "3", "--out", sample, "--billing-format", "parquet"],
                 ["lineage", "snapshot", "--mlmd", sample / "mlmd.sqlite"],
                 ["billing", "load", "--billing", sample / "billing"],
                 ["report", "--out", out]):
        assert main(["--workspace", str(ws), *map(str, args)]) == 0, args
    return {"ws": ws, "sample": sample, "out": out}


def test_report_reconciles_to_the_fleet_ground_truth(fleet):
    truth = json.loads((fleet["sample"] / "ground_truth.json").read_text())
    data = json.loads((fleet["out"] / "pipeline-costs.json").read_text())
    assert data["currencies"] == sorted(truth["export_total"])
    for currency, total in truth["export_total"].items():
        summary = data["by_currency"][currency]["summary"]["rows"][0]
        assert Decimal(summary["export_total"]) == Decimal(total)
        assert summary["reconciled"] == "yes" and Decimal(summary["difference"]) == 0


def test_pipeline_totals_are_the_billing_engines(fleet):
    data = json.loads((fleet["out"] / "pipeline-costs.json").read_text())
    with Workspace.open(fleet["ws"]) as ws:
        rows, _ = breakdown(ws.con, "pipeline")
    engine = {(r["name"], r["currency"]): r["total"] for r in rows if r["class"] == "pipeline"}
    for currency, tables in data["by_currency"].items():
        report = {(r["pipeline"], currency): Decimal(r["cost"]) for r in tables["pipelines"]["rows"]}
        assert report == {k: v for k, v in engine.items() if k[1] == currency}
        for row in tables["pipelines"]["rows"]:
            parts = sum(Decimal(row[k]) for k in ("direct", "idle_share", "overhead_share", "shared"))
            assert parts == Decimal(row["cost"]) and Decimal(row["waste"]) <= Decimal(row["cost"])


def test_audit_report_lists_the_audits_findings(fleet):
    data = json.loads((fleet["out"] / "lineage-audit.json").read_text())
    findings = next(t for t in data["tables"] if t["id"] == "findings")["rows"]
    with Workspace.open(fleet["ws"]) as ws:
        from aipipe_ops.lineage.audit.finding import AuditContext
        from aipipe_ops.lineage.audit.registry import run_audit, snapshot_time
        audit = run_audit(AuditContext(con=ws.con, as_of=snapshot_time(ws.con)))
    assert sorted((f["rule"], f["subject"]) for f in findings) == sorted((f.rule, f.subject) for f in audit)


@pytest.mark.browser
@pytest.mark.parametrize("name", ["pipeline-costs", "lineage-audit"])
def test_sample_reports_render_in_chromium(fleet, name):
    page = check_page(fleet["out"] / f"{name}.html", screenshot=False)
    assert page.errors == [] and page.external_requests == [] and page.overflowing == []
    assert page.chart_count >= 2 and all(page.marks_per_chart)
