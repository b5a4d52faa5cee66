"""An estimate (or a diff of two) as Markdown for a pull-request comment: the totals and the budget
verdict first, the per-resource lines folded in <details>, what is not priced spelled out."""

from __future__ import annotations

from decimal import Decimal

from aipipe_ops.output import plural
from aipipe_ops.pricing.estimate import Estimate
from aipipe_ops.pricing.estimate_report import budget_check, money, quantity_text, unit_price_text
from aipipe_ops.pricing.lines import HOURS_PER_MONTH

TITLE = "aipipe cost estimate"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _amount(value: Decimal | None, currency: str, places: int = 2) -> str:
    return "not priced" if value is None else f"{money(value, places)} {currency}"


def budget_markdown(estimate: Estimate, budget: Decimal | None = None) -> list[str]:
    """The budget verdict (--budget AMOUNT, or the stack's own Budget), as the lines of a Markdown paragraph;
    nothing when there is no budget to compare with. The diff's Markdown carries it too."""
    currency = estimate.currency
    totals = estimate.totals
    check = budget_check(estimate, budget)
    if check and check["comparable"]:
        amount = Decimal(check["amount"])
        if check["over"]:
            verdict = f"**over budget** by {money(totals.monthly_max - amount)} {currency}"
        else:
            verdict = f"within budget ({money(amount - totals.monthly_max)} {currency} to spare)"
        proven = "" if check["proven"] else " Not proven: some lines are not priced."
        return [f"**Budget** ({check['source']}): {money(amount)} {check['currency']}/month. "
                f"Monthly maximum: {verdict}.{proven}", ""]
    if check:
        return [f"**Budget** ({check['source']}) is in {check['currency']}, the estimate in {currency}: not "
                "compared.", ""]
    return []


def unverified_markdown(estimate: Estimate) -> list[str]:
    doubted = [line for line in estimate.lines if line.unverified]
    if not doubted:
        return []
    out = [f"**Unverified prices ({len(doubted)}):** the price book doubts these; check them before relying on "
           "the totals."]
    out += [f"- `{line.resource}` {_cell(line.component)}: SKU `{line.price.sku_id}`: {_cell(line.unverified)}"
            for line in doubted]
    return out + [""]


def estimate_markdown(estimate: Estimate, budget: Decimal | None = None) -> str:
    currency = estimate.currency
    totals = estimate.totals
    target = f"stack `{estimate.stack}`" if estimate.stack else "plan"
    out = [f"### {TITLE}: {target}", ""]
    out += ["| | Hourly | Monthly |", "|---|---:|---:|",
            f"| Minimum (autoscaling minimum) | {_amount(totals.hourly_min, currency, 4)} | "
            f"{_amount(totals.monthly_min, currency)} |",
            f"| Maximum (autoscaling maximum) | {_amount(totals.hourly_max, currency, 4)} | "
            f"{_amount(totals.monthly_max, currency)} |", ""]
    out += budget_markdown(estimate, budget)
    comparison = estimate.comparison()
    if estimate.has_spot_choice:
        out += [f"Spot vs on-demand (monthly maximum): all on-demand "
                f"{_amount(comparison.on_demand, currency)}, all spot {_amount(comparison.spot, currency)}.", ""]
    unpriced = estimate.unpriced
    if unpriced:
        out += [f"**Not priced ({len(unpriced)}):** the totals leave these lines out."]
        out += [f"- `{line.resource}` {_cell(line.component)}: {_cell(line.unpriced_reason)}" for line in unpriced]
        out.append("")
    out += unverified_markdown(estimate)
    out += [f"<details><summary>{plural(len(estimate.lines), 'line')} in "
            f"{plural(len(estimate.resource_names()), 'resource')}</summary>",
            "", "| Resource | Component | Quantity | Unit price | Monthly min | Monthly max |",
            "|---|---|---:|---:|---:|---:|"]
    for line in estimate.lines:
        flag = " (unverified price)" if line.unverified else ""
        out.append(f"| `{_cell(line.resource)}` | {_cell(line.component)}{flag} | {_cell(quantity_text(line))} | "
                   f"{_cell(unit_price_text(line))} | {money(line.monthly_min)} | {money(line.monthly_max)} |")
    out += ["", "</details>", ""]
    others = [n for n in estimate.notes if n.status in ("usage-based", "unsupported")]
    if others:
        out += ["<details><summary>Costs not in the totals (usage-based or not supported)</summary>", ""]
        out += [f"- `{n.resource}` ({n.resource_type}): {_cell(n.reason)}" for n in others]
        out += ["", "</details>", ""]
    out.append(f"<sub>{_cell(estimate.plan_source)}; price book: {_cell(estimate.price_book)}; "
               f"{HOURS_PER_MONTH} hours per month; list prices before credits and discounts.</sub>")
    return "\n".join(out)
