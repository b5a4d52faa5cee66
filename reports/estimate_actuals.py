"""The pipeline cost report's "Estimate vs billed actual" section: when `aipipe estimate --save` left an estimate in
the workspace, its monthly minimum and maximum per node pool beside what the report's window billed, scaled to a
month, with the verdicts of `aipipe estimate --actual` (the engine is aipipe_ops/pricing/actuals.py; this module
only lays its result out as a report table). As in `aipipe estimate --actual --format json`, `verdict` holds the
engine's id (`within`, `above_maximum`, ...) and a line on no cluster or node pool has none (null); the text people
read is the row's `label`."""

from __future__ import annotations

from aipipe_ops.pricing.actuals import VERDICT_TEXT, compare_with_bill, describe_scaling, saved_plan
from aipipe_ops.billing.normalise import UsageWindow
from aipipe_ops.workspace import Workspace

from .document import Column, ReportDocument, ReportParameters, Table

TABLE_ID = "estimate_actuals"


def estimate_actuals_table(workspace: Workspace, params: ReportParameters) -> Table | None:
    """None when no estimate was saved with its places (`aipipe estimate --stack NAME --save`)."""
    planned = saved_plan(workspace.con)
    if planned is None:
        return None
    comparison = compare_with_bill(workspace.con, planned, UsageWindow(params.since, params.until))
    rows = [{"cluster": line.cluster, "node_pool": line.node_pool, "line": line.part,
             "estimate_min": line.estimate_min, "estimate_max": line.estimate_max,
             "billed": line.net_cost if line.billed else None, "billed_monthly": line.billed_monthly,
             "verdict": line.verdict, "label": VERDICT_TEXT[line.verdict],
             "detail": "; ".join(filter(None, [line.note] + [f"{s.sku} ({s.sku_id})" for s in line.excess_skus]))}
            for line in comparison.lines]
    stack = f"stack {planned.stack}" if planned.stack else "the saved plan"
    return Table(TABLE_ID, f"Estimate vs billed actual ({stack})", [
        Column("cluster", "Cluster"), Column("node_pool", "Node pool"), Column("line", "Line"),
        Column("estimate_min", "Estimate min / month", "money"), Column("estimate_max", "Estimate max / month", "money"),
        Column("billed", "Billed (net)", "money"), Column("billed_monthly", "Billed / month", "money"),
        Column("verdict", "Verdict id"), Column("label", "Verdict"), Column("detail", "Detail")], rows,
        note=f"The estimate saved by `aipipe estimate --save`, beside the billed cost net of credits: "
             f"{describe_scaling(comparison)}.")


def add_estimate_actuals(workspace: Workspace, params: ReportParameters, doc: ReportDocument) -> None:
    """Add the section to the block of the estimate's currency (when the report has one)."""
    table = estimate_actuals_table(workspace, params)
    if table is None:
        return
    for block in doc.blocks:
        if block.currency == saved_plan(workspace.con).currency:
            block.add(table)
