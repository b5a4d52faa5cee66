"""Estimate vs billed actual (actuals.py) as a table (people), JSON or CSV (machines), or Markdown (a pull request),
the formats of `aipipe estimate`. Every row of a view has the same keys; amounts are exact in JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from aipipe_ops.output import render
from aipipe_ops.pricing.actuals import (
    ABOVE, BELOW, NOT_BILLED, NOT_ESTIMATED, VERDICT_TEXT, ActualLine, Comparison, describe_scaling)
from aipipe_ops.pricing.estimate_report import exact, money
from aipipe_ops.pricing.lines import HOURS_PER_MONTH

ROW_KEYS = ("cluster", "node_pool", "part", "estimate_monthly_min", "estimate_monthly_max", "billed_cost",
            "billed_credits", "billed_net_cost", "billed_monthly", "verdict", "excess_skus", "note")
TABLE_COLUMNS = ["cluster", "node pool", "line", "estimate min", "estimate max", "billed (net)", "billed monthly",
                 "verdict"]


def _skus_text(line: ActualLine, currency: str) -> str:
    return "; ".join(f"{s.sku} ({s.sku_id}) {money(s.monthly)} {currency}/month" for s in line.excess_skus)


def line_row(line: ActualLine) -> dict[str, Any]:
    return {
        "cluster": line.cluster, "node_pool": line.node_pool, "part": line.part,
        "estimate_monthly_min": exact(line.estimate_min), "estimate_monthly_max": exact(line.estimate_max),
        "billed_cost": exact(line.cost) if line.billed else None,
        "billed_credits": exact(line.credits) if line.billed else None,
        "billed_net_cost": exact(line.net_cost) if line.billed else None,
        "billed_monthly": exact(line.billed_monthly), "verdict": line.verdict,
        "excess_skus": [{"sku_id": s.sku_id, "sku": s.sku, "resource_kind": s.resource_kind,
                         "billed_monthly": exact(s.monthly)} for s in line.excess_skus],
        "note": line.note or None,
    }


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    planned = comparison.planned
    return {
        "stack": planned.stack, "stack_label": planned.stack_label, "clusters": list(planned.clusters),
        "currency": comparison.currency,
        "since": comparison.window.since.isoformat() if comparison.window.since else None,
        "until": comparison.window.until.isoformat() if comparison.window.until else None,
        "billed_from": comparison.start.isoformat() if comparison.start else None,
        "billed_to": comparison.end.isoformat() if comparison.end else None,
        "hours_billed": format(comparison.hours.normalize(), "f"),
        "hours_per_month": int(HOURS_PER_MONTH),
        "scaling": describe_scaling(comparison),
        "other_currencies": comparison.other_currencies,
        "lines": [line_row(line) for line in comparison.lines],
    }


def comparison_csv(comparison: Comparison) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ROW_KEYS + ("currency",))
    for line in comparison.lines:
        row = line_row(line)
        row["excess_skus"] = _skus_text(line, comparison.currency)
        writer.writerow([row[k] if row[k] is not None else "" for k in ROW_KEYS] + [comparison.currency])
    return buffer.getvalue().rstrip("\n")


def _amount(value) -> str:
    return "-" if value is None else money(value)


def _header(comparison: Comparison) -> list[str]:
    planned = comparison.planned
    target = f"stack {planned.stack}" if planned.stack else "plan"
    scope = ", ".join(planned.clusters) or "no cluster"
    label = f" and rows labelled {planned.stack_label!r}" if planned.stack_label else ""
    return [f"Estimate vs billed actual of {target}: clusters {scope}{label}, {comparison.currency}.",
            f"Billed = cost + credits (effective); {describe_scaling(comparison)}."]


def _footer(comparison: Comparison, bullet: str = "  - ") -> list[str]:
    out = []
    for line in comparison.lines:
        if line.verdict == ABOVE and line.excess_skus:
            out.append(f"{_where(line)} is above the maximum; the excess is in: "
                       f"{_skus_text(line, comparison.currency)}")
    for verdict, title in ((NOT_BILLED, "Estimated, not billed"), (NOT_ESTIMATED, "Billed, not estimated")):
        listed = [line for line in comparison.lines if line.verdict == verdict]
        if listed:
            out.append(f"{title}: " + ", ".join(_where(line) for line in listed))
    for line in comparison.lines:
        if line.verdict == BELOW:
            out.append(f"{_where(line)}: {line.note}")
    if comparison.other_currencies:
        out.append(f"Rows in {', '.join(comparison.other_currencies)} are not compared (the estimate is in "
                   f"{comparison.currency}).")
    return [bullet + text for text in out]


def _where(line: ActualLine) -> str:
    if line.node_pool:
        return f"{line.cluster} / {line.node_pool}"
    return f"{line.cluster or '(no cluster)'} {line.part}"


def comparison_table(comparison: Comparison) -> str:
    rows = [{"cluster": line.cluster or "", "node pool": line.node_pool or "", "line": line.part,
             "estimate min": _amount(line.estimate_min), "estimate max": _amount(line.estimate_max),
             "billed (net)": _amount(line.net_cost if line.billed else None),
             "billed monthly": _amount(line.billed_monthly), "verdict": VERDICT_TEXT[line.verdict]}
            for line in comparison.lines]
    text = _header(comparison) + ["", render(rows, TABLE_COLUMNS, "table", right_align=(
        "estimate min", "estimate max", "billed (net)", "billed monthly"))]
    footer = _footer(comparison)
    return "\n".join(text + ([""] + footer if footer else []))


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def comparison_markdown(comparison: Comparison) -> str:
    counts = {v: comparison.count(v) for v in (BELOW, ABOVE, NOT_BILLED, NOT_ESTIMATED)}
    summary = ", ".join(f"{n} {VERDICT_TEXT[v]}" for v, n in counts.items() if n) or "every line within"
    target = f"stack `{comparison.planned.stack}`" if comparison.planned.stack else "plan"
    out = [f"### aipipe estimate vs billed actual: {target}", "", f"**{summary}.** " + _cell(_header(comparison)[1]),
           "", f"| Cluster | Node pool | Line | Estimate min | Estimate max | Billed monthly | Verdict |",
           "|---|---|---|---:|---:|---:|---|"]
    for line in comparison.lines:
        out.append(f"| {_cell(line.cluster or '')} | {_cell(line.node_pool or '')} | {_cell(line.part)} | "
                   f"{_amount(line.estimate_min)} | {_amount(line.estimate_max)} | {_amount(line.billed_monthly)} | "
                   f"{VERDICT_TEXT[line.verdict]} |")
    footer = _footer(comparison, bullet="- ")
    if footer:
        out += [""] + [_cell(text) for text in footer]
    out += ["", f"<sub>Monthly amounts in {comparison.currency}; a month is {HOURS_PER_MONTH} hours.</sub>"]
    return "\n".join(out)


FORMATS = {"table": comparison_table, "csv": comparison_csv, "markdown": comparison_markdown,
           "json": lambda c: json.dumps(comparison_json(c), indent=2)}


def render_comparison(comparison: Comparison, fmt: str) -> str:
    return FORMATS[fmt](comparison)
