"""Lineage audit report: the audit's findings by severity, each with its lineage path and the cost attached.

Findings come from the audit rules (aipipe_ops.lineage.audit, the same as `aipipe audit`); this report only adds
what a reader needs around them: counts by severity and rule, and the money each finding puts at stake, which is
the attributed cost of the runs it names under the report's policy (per currency; a run named by several findings
is counted once in totals).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Iterable

from aipipe_ops.sql import DUCKDB
from aipipe_ops.lineage.audit.finding import AuditContext
from aipipe_ops.lineage.audit.registry import run_audit, snapshot_time
from aipipe_ops.output import plural
from aipipe_ops.workspace import Workspace

from . import charts, formatting
from .document import Column, CurrencyBlock, ReportDocument, ReportParameters, Table
from .ledger import open_ledger
from .registry import ReportSpec

SEVERITY_ORDER = ("error", "warning", "info")
SEVERITY_COLORS = {"error": "#B42318", "warning": "#E69F00", "info": "#999999"}
SEVERITY_MEANING = {
    "error": "breaks a governance rule (e.g. a model pushed without a blessing)",
    "warning": "costs money or weakens lineage (e.g. a run that produced nothing)",
    "info": "worth knowing",
}


def build(workspace: Workspace, params: ReportParameters, *, now: dt.datetime,
          findings: Iterable[Any] | None = None) -> ReportDocument:
    ledger = open_ledger(workspace, params)
    con = workspace.con
    as_of = snapshot_time(con)
    if findings is None:
        findings = run_audit(AuditContext(con=con, as_of=as_of))
    runs_in_scope = _runs_in_scope(con, params)
    rows = []
    for finding in findings:
        runs = list(getattr(finding, "runs", ()) or ())
        if not _in_scope(runs, runs_in_scope, params):
            continue
        rows.append({
            "severity": str(finding.severity), "rule": finding.rule, "subject": getattr(finding, "subject", ""),
            "message": finding.message, "evidence": list(getattr(finding, "evidence", ()) or ()), "run_ids": runs,
        })
    run_costs = _run_costs(con, {r for row in rows for r in row["run_ids"]})
    currencies = sorted({c for costs in run_costs.values() for c in costs})

    def at_stake(row) -> Decimal:   # the most expensive findings first within a severity (main currency)
        return sum((run_costs.get(run, {}).get(currencies[0], Decimal(0)) for run in row["run_ids"]), Decimal(0)) \
            if currencies else Decimal(0)

    rows.sort(key=lambda r: (_severity_rank(r["severity"]), -at_stake(r), r["rule"], r["subject"]))
    for number, row in enumerate(rows, 1):
        row["finding"] = f"F{number}"
    doc = ReportDocument(report=REPORT.name, title="Lineage audit" + (f": {params.pipeline}" if params.pipeline else ""),
                         generated_at=now, parameters=params, blocks=[], notes=list(ledger.notes))
    doc.common.append(_severity_table(rows))
    doc.common.append(_rules_table(rows))
    doc.common.append(Table("findings", "Findings", [
        Column("finding", "#"), Column("severity", "Severity"), Column("rule", "Rule"), Column("subject", "Subject"),
        Column("message", "Finding"), Column("evidence", "Lineage path (evidence)", "list"),
        Column("run_ids", "Runs", "list"),
    ], rows))
    for currency in currencies:
        block = CurrencyBlock(currency)
        block.add(_finding_costs(rows, run_costs, currency))
        block.add(_severity_costs(rows, run_costs, currency))
        doc.blocks.append(block)
    # Errors and warnings together, each run once: what a reader may add up from the cards must not double count.
    doc.extras["at_stake"] = {
        block.currency: sum((run_costs[run][block.currency] for run in {
            run for r in rows if r["severity"] in ("error", "warning") for run in r["run_ids"]
            if block.currency in run_costs.get(run, {})}), Decimal(0))
        for block in doc.blocks}
    doc.extras["cost_by_finding"] = {
        (block.currency, r["finding"]): r["cost"] for block in doc.blocks for r in block.tables["finding_costs"].rows}
    doc.extras["charts"] = _charts(doc)
    doc.extras["headline"] = _headline(doc)
    doc.extras["severity_meaning"] = SEVERITY_MEANING
    doc.extras["as_of"] = as_of
    doc.extras["policy"] = ledger.policy()
    return doc


def _severity_rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


def _runs_in_scope(con, params: ReportParameters) -> set[str] | None:
    if not (params.since or params.until or params.pipeline):
        return None
    since = dt.datetime.combine(params.since, dt.time(), dt.timezone.utc) if params.since else None
    until = dt.datetime.combine(params.until + dt.timedelta(days=1), dt.time(), dt.timezone.utc) if params.until else None
    rows = con.execute(DUCKDB.inline(
        """
        SELECT run_id FROM runs
        WHERE (CAST(? AS TIMESTAMPTZ) IS NULL OR created_at >= ?) AND (CAST(? AS TIMESTAMPTZ) IS NULL OR created_at < ?)
          AND (CAST(? AS VARCHAR) IS NULL OR pipeline = ?)
        """, [since, since, until, until, params.pipeline, params.pipeline])).fetchall()
    return {r[0] for r in rows}


def _in_scope(runs: list[str], scope: set[str] | None, params: ReportParameters) -> bool:
    """A finding is in scope when one of its runs is; a finding about no run only when no pipeline is asked."""
    if scope is None:
        return True
    if not runs:
        return not params.pipeline
    return any(r in scope for r in runs)


def _run_costs(con, run_ids: set[str]) -> dict[str, dict[str, Decimal]]:
    if not run_ids:
        return {}
    rows = con.execute(DUCKDB.inline(
        "SELECT run_id, currency, sum(cost) FROM report_costs WHERE run_id IN (SELECT unnest(CAST(? AS VARCHAR[]))) "
        "GROUP BY ALL", [sorted(run_ids)])).fetchall()
    costs: dict[str, dict[str, Decimal]] = {}
    for run_id, currency, cost in rows:
        costs.setdefault(run_id, {})[currency] = cost
    return costs


def _severity_table(rows) -> Table:
    counts = []
    for severity in SEVERITY_ORDER:
        mine = [r for r in rows if r["severity"] == severity]
        counts.append({"severity": severity, "findings": len(mine), "rules": len({r["rule"] for r in mine}),
                       "runs": len({run for r in mine for run in r["run_ids"]})})
    return Table("by_severity", "Findings by severity", [
        Column("severity", "Severity"), Column("findings", "Findings", "count"), Column("rules", "Rules", "count"),
        Column("runs", "Runs involved", "count"),
    ], counts)


def _rules_table(rows) -> Table:
    by_rule: dict[str, dict[str, Any]] = {}
    for r in rows:
        entry = by_rule.setdefault(r["rule"], {"rule": r["rule"], "severity": r["severity"], "findings": 0})
        entry["findings"] += 1
        if _severity_rank(r["severity"]) < _severity_rank(entry["severity"]):
            entry["severity"] = r["severity"]
    ordered = sorted(by_rule.values(), key=lambda e: (_severity_rank(e["severity"]), -e["findings"], e["rule"]))
    return Table("by_rule", "Findings by rule", [
        Column("rule", "Rule"), Column("severity", "Severity"), Column("findings", "Findings", "count"),
    ], ordered)


def _finding_costs(rows, run_costs, currency: str) -> Table:
    out = []
    for r in rows:
        amounts = [run_costs[run][currency] for run in r["run_ids"] if currency in run_costs.get(run, {})]
        if amounts:
            out.append({"finding": r["finding"], "rule": r["rule"], "subject": r["subject"],
                        "cost": sum(amounts, Decimal(0))})
    return Table("finding_costs", "Cost attached to each finding", [
        Column("finding", "#"), Column("rule", "Rule"), Column("subject", "Subject"), Column("cost", "Cost", "money"),
    ], out, note="The attributed cost of the runs a finding names.")


def _severity_costs(rows, run_costs, currency: str) -> Table:
    out = []
    for severity in SEVERITY_ORDER:
        runs = {run for r in rows if r["severity"] == severity for run in r["run_ids"]
                if currency in run_costs.get(run, {})}
        out.append({"severity": severity, "runs": len(runs),
                    "cost": sum((run_costs[run][currency] for run in runs), Decimal(0))})
    return Table("cost_by_severity", "Cost at stake by severity", [
        Column("severity", "Severity"), Column("runs", "Runs with cost", "count"), Column("cost", "Cost", "money"),
    ], out, note="Each run counted once per severity, however many findings name it.")


def _charts(doc: ReportDocument) -> dict[str, Any]:
    by_rule = next(t for t in doc.common if t.id == "by_rule")
    out: dict[str, Any] = {}
    if by_rule.rows:
        out["rules"] = charts.horizontal_bars(
            [(r["rule"], Decimal(r["findings"])) for r in by_rule.rows], fmt=lambda v: f"{int(v):,}",
            colors=[SEVERITY_COLORS.get(r["severity"], "#999999") for r in by_rule.rows], width=580,
            title="Findings by rule, coloured by severity", desc="Number of findings per audit rule.")
        out["rules_legend"] = charts.legend({s: SEVERITY_COLORS[s] for s in SEVERITY_ORDER})
    for block in doc.blocks:
        rows = block.tables["cost_by_severity"].rows
        if any(r["cost"] for r in rows):
            out[f"cost_{block.currency}"] = charts.horizontal_bars(
                [(r["severity"], r["cost"]) for r in rows], width=580,
                fmt=lambda v, c=block.currency: formatting.money(v, c),
                colors=[SEVERITY_COLORS[r["severity"]] for r in rows],
                title=f"Cost at stake by severity ({block.currency})",
                desc="Attributed cost of the runs named by findings of each severity.")
    return out


def _headline(doc: ReportDocument) -> list[str]:
    counts = {r["severity"]: r["findings"] for r in doc.common[0].rows}
    total = sum(counts.values())
    if not total:
        return ["No audit rule found anything to report in this selection."]
    # "info" is a mass noun: 2 info, as `aipipe audit` says.
    parts = [plural(counts[s], s, s if s == "info" else None) for s in SEVERITY_ORDER if counts.get(s)]
    out = [f"The audit found {plural(total, 'finding')}: {', '.join(parts)}."]
    for block in doc.blocks:
        at_stake = {r["severity"]: r["cost"] for r in block.tables["cost_by_severity"].rows}
        money = [f"{formatting.money(at_stake[s], block.currency)} behind {s} findings" for s in SEVERITY_ORDER
                 if at_stake.get(s)]
        if money:
            out.append("Runs named by findings cost " + ", ".join(money) + ".")
    return out


REPORT = ReportSpec(
    name="lineage_audit",
    title="Lineage audit",
    summary="Audit findings by severity, each with its lineage path as evidence and the cost attached.",
    order=20,
    build=build,
)
