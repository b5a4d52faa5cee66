"""The lineage audit report: the audit's own findings, ordered for a reader, with the cost they put at stake."""

import datetime as dt
from decimal import Decimal as D

from aipipe_ops.reports.document import ReportParameters
from aipipe_ops.reports.registry import get_report
from aipipe_ops.workspace import Workspace

from .conftest import UTC, build_document


def _findings(doc):
    return next(t for t in doc.common if t.id == "findings").rows


def test_errors_first_then_the_costliest(tiny_workspace):
    _, doc = build_document(tiny_workspace, "lineage_audit")
    rows = _findings(doc)
    assert [r["severity"] for r in rows] == ["error", "warning", "warning", "info"]
    costs = {r["finding"]: r["cost"] for r in doc.blocks[0].tables["finding_costs"].rows}
    warnings = [costs[r["finding"]] for r in rows if r["severity"] == "warning"]
    assert warnings == sorted(warnings, reverse=True)
    # Errors and warnings name llm-2, llm-1 and taxi-2 (twice): 72.60 + 48.40 + 3.00, each run once.
    assert doc.extras["at_stake"] == {"USD": D("124.00")}


def test_a_pipeline_keeps_the_findings_that_name_its_runs(tiny_workspace):
    _, doc = build_document(tiny_workspace, "lineage_audit", pipeline="taxi")
    assert {r["rule"] for r in _findings(doc)} == {"model_never_pushed", "run_produced_nothing"}
    _, doc = build_document(tiny_workspace, "lineage_audit", since=dt.date(2026, 11, 14))
    # Only llm-2 started on or after Nov 14; the finding that names no run stays (it is about no period).
    assert {r["rule"] for r in _findings(doc)} == {"pushed_without_blessing", "orphan_artifact"}


def test_the_real_audit_rules_run_when_no_findings_are_given(tiny_workspace):
    spec = get_report("lineage_audit")
    with Workspace.open(tiny_workspace) as ws:
        doc = spec.build(ws, ReportParameters(), now=dt.datetime(2026, 11, 20, tzinfo=UTC))
    rows = _findings(doc)
    failed = [r for r in rows if r["run_ids"] == ["taxi-2"] and r["severity"] == "warning"]
    assert failed, rows   # taxi-2 failed: the audit's failed-run rule names it
    costs = {r["finding"]: r["cost"] for r in doc.blocks[0].tables["finding_costs"].rows}
    assert costs[failed[0]["finding"]] == D("3.00")
