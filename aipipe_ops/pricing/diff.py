"""What changes in cost from one estimate (the baseline) to another: per line, per resource, in total.

Lines are matched by (resource, component). Component names carry their parameters, so switching a pool
from n2-standard-8 to n2-standard-16 shows one line removed and one added, as on a bill.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from aipipe_ops.errors import ConfigError
from aipipe_ops.output import render
from aipipe_ops.pricing.estimate import Estimate
from aipipe_ops.pricing.estimate_report import exact, money
from aipipe_ops.pricing.lines import CostLine, Totals


@dataclass(frozen=True)
class LineChange:
    resource: str
    component: str
    status: str  # added | removed | changed | unchanged
    before: CostLine | None
    after: CostLine | None

    def _value(self, line: CostLine | None, attribute: str) -> Decimal | None:
        if line is None:
            return Decimal(0)
        return getattr(line, attribute)

    def delta(self, attribute: str = "monthly_max") -> Decimal | None:
        before, after = self._value(self.before, attribute), self._value(self.after, attribute)
        if before is None or after is None:
            return None
        return after - before


@dataclass
class EstimateDiff:
    before: Estimate
    after: Estimate
    changes: list[LineChange]

    @property
    def changed(self) -> list[LineChange]:
        return [c for c in self.changes if c.status != "unchanged"]

    def total_delta(self, attribute: str) -> Decimal:
        return getattr(self.after.totals, attribute) - getattr(self.before.totals, attribute)


def _key(line: CostLine) -> tuple[str, str]:
    return line.resource, line.component


def diff_estimates(before: Estimate, after: Estimate) -> EstimateDiff:
    if before.currency != after.currency:
        raise ConfigError(f"cannot diff an estimate in {before.currency} against one in {after.currency}")
    old = {_key(line): line for line in before.lines}
    new = {_key(line): line for line in after.lines}
    changes = []
    for key, line in new.items():
        previous = old.get(key)
        if previous is None:
            status = "added"
        elif (previous.monthly_min, previous.monthly_max, previous.priced) == \
                (line.monthly_min, line.monthly_max, line.priced):
            status = "unchanged"
        else:
            status = "changed"
        changes.append(LineChange(key[0], key[1], status, previous, line))
    for key, line in old.items():
        if key not in new:
            changes.append(LineChange(key[0], key[1], "removed", line, None))
    return EstimateDiff(before=before, after=after, changes=changes)


def _name(estimate: Estimate) -> str:
    return estimate.stack or estimate.plan_source


def _signed(value: Decimal | None) -> str:
    if value is None:
        return "unknown"
    text = money(value)
    return text if value < 0 else f"+{text}"


def diff_table(diff: EstimateDiff) -> str:
    marks = {"added": "+", "removed": "-", "changed": "~"}
    rows = [{"": marks[c.status], "resource": c.resource, "component": c.component,
             "monthly max before": money(c.before.monthly_max) if c.before else "",
             "monthly max after": money(c.after.monthly_max) if c.after else "",
             "change": _signed(c.delta())} for c in diff.changed]
    head = [f"Cost change from {_name(diff.before)} (baseline) to {_name(diff.after)}, {diff.after.currency}"
            f" per month", ""]
    body = render(rows, ["", "resource", "component", "monthly max before", "monthly max after", "change"], "table",
                  right_align=("monthly max before", "monthly max after", "change")) if rows else "No cost changes."
    totals = _totals_rows(diff)
    tail = ["", render(totals, ["", "before", "after", "change"], "table", right_align=("before", "after", "change"))]
    unpriced = _unpriced_warning(diff)
    return "\n".join(head + [body] + tail + (["", unpriced] if unpriced else []))


def _totals_rows(diff: EstimateDiff) -> list[dict]:
    rows = []
    for label, attribute in (("monthly minimum", "monthly_min"), ("monthly maximum", "monthly_max")):
        before, after = getattr(diff.before.totals, attribute), getattr(diff.after.totals, attribute)
        rows.append({"": label, "before": money(before), "after": money(after), "change": _signed(after - before)})
    return rows


def _unpriced_warning(diff: EstimateDiff) -> str | None:
    counts = (diff.before.totals.unpriced, diff.after.totals.unpriced)
    if not any(counts):
        return None
    return (f"Unpriced lines (left out of the totals): {counts[0]} in {_name(diff.before)}, "
            f"{counts[1]} in {_name(diff.after)}.")


def diff_markdown(diff: EstimateDiff) -> str:
    currency = diff.after.currency
    out = [f"### aipipe cost estimate: `{_name(diff.before)}` -> `{_name(diff.after)}`", "",
           "| | Before | After | Change |", "|---|---:|---:|---:|"]
    for row in _totals_rows(diff):
        out.append(f"| {row['']} | {row['before']} {currency} | {row['after']} {currency} | {row['change']} |")
    out.append("")
    if diff.changed:
        out += ["| | Resource | Component | Monthly max before | Monthly max after | Change |",
                "|---|---|---|---:|---:|---:|"]
        marks = {"added": "+", "removed": "-", "changed": "~"}
        for c in diff.changed:
            out.append(f"| {marks[c.status]} | `{c.resource}` | {c.component} | "
                       f"{money(c.before.monthly_max) if c.before else ''} | "
                       f"{money(c.after.monthly_max) if c.after else ''} | {_signed(c.delta())} |")
    else:
        out.append("No cost changes.")
    warning = _unpriced_warning(diff)
    if warning:
        out += ["", f"**{warning}**"]
    return "\n".join(out)


def diff_json(diff: EstimateDiff) -> str:
    def totals(t: Totals) -> dict:
        return {"monthly_min": exact(t.monthly_min), "monthly_max": exact(t.monthly_max),
                "hourly_min": exact(t.hourly_min), "hourly_max": exact(t.hourly_max), "unpriced_lines": t.unpriced}

    return json.dumps({
        "currency": diff.after.currency,
        "before": {"name": _name(diff.before), "totals": totals(diff.before.totals)},
        "after": {"name": _name(diff.after), "totals": totals(diff.after.totals)},
        "change": {"monthly_min": exact(diff.total_delta("monthly_min")),
                   "monthly_max": exact(diff.total_delta("monthly_max"))},
        "lines": [{"resource": c.resource, "component": c.component, "status": c.status,
                   "monthly_max_before": exact(c.before.monthly_max) if c.before else None,
                   "monthly_max_after": exact(c.after.monthly_max) if c.after else None,
                   "monthly_max_change": exact(c.delta())} for c in diff.changes],
    }, indent=2)


def render_diff(diff: EstimateDiff, fmt: str) -> str:
    if fmt == "json":
        return diff_json(diff)
    if fmt == "markdown":
        return diff_markdown(diff)
    if fmt == "csv":
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["status", "resource", "component", "monthly_max_before", "monthly_max_after", "change"])
        for c in diff.changes:
            writer.writerow([c.status, c.resource, c.component, exact(c.before.monthly_max) if c.before else "",
                             exact(c.after.monthly_max) if c.after else "", exact(c.delta()) or ""])
        return buffer.getvalue().rstrip("\n")
    return diff_table(diff)
