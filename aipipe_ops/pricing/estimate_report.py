"""An estimate as a table (people), JSON or CSV (machines). Markdown for pull requests is markdown.py.

Amounts keep their exact value in JSON and CSV, quantized to nanos (1e-9, the Catalog's precision; a
disk's hourly cost is its monthly price / 730 and would not terminate otherwise). Tables round for
reading: unit prices as the price book has them, hourly amounts to 4 decimals, monthly to 2.
"""

from __future__ import annotations

import csv
import io
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from aipipe_ops.output import render
from aipipe_ops.pricing.estimate import Estimate, StackBudget
from aipipe_ops.pricing.lines import HOURS_PER_MONTH, CostLine, Totals

NANO = Decimal("0.000000001")
JSON_VERSION = "1"


def exact(value: Decimal | None) -> str | None:
    """A money amount as a JSON string, to the nano."""
    if value is None:
        return None
    return format(value.quantize(NANO, rounding=ROUND_HALF_EVEN).normalize() + 0, "f")


def plain(value: Decimal | None) -> str | None:
    if value is None:
        return None
    return format(value.normalize(), "f")


def money(value: Decimal | None, places: int = 2) -> str:
    if value is None:
        return "-"
    quantum = Decimal(1).scaleb(-places)
    return f"{value.quantize(quantum, rounding=ROUND_HALF_EVEN):,.{places}f}"


def quantity_text(line: CostLine) -> str:
    if line.credit:
        return ""
    low, high = plain(line.quantity_min), plain(line.quantity_max)
    return f"{low} {line.unit}" if low == high else f"{low}-{high} {line.unit}"


def unit_price_text(line: CostLine) -> str:
    if line.price is None or line.credit:
        return "-"
    return f"{plain(line.price.unit_price)} /{line.price_unit}"


# -- JSON ----------------------------------------------------------------------------------------------

def line_json(line: CostLine) -> dict[str, Any]:
    price = line.price
    return {
        "component": line.component,
        "kind": line.kind,
        "purchase": line.purchase,
        "quantityMin": plain(line.quantity_min),
        "quantityMax": plain(line.quantity_max),
        "unit": line.unit,
        "per": line.per,
        "unitPrice": plain(price.unit_price) if price else None,
        "priceUnit": line.price_unit if price else None,
        "skuId": price.sku_id if price else None,
        "skuDescription": price.description if price else None,
        "priceSource": price.source if price else None,
        "priceDate": price.source_date if price else None,
        "priceUnverified": line.unverified,
        "hourlyMin": exact(line.hourly_min),
        "hourlyMax": exact(line.hourly_max),
        "monthlyMin": exact(line.monthly_min),
        "monthlyMax": exact(line.monthly_max),
        "priced": line.priced,
        "unpricedReason": line.unpriced_reason,
        "alternativeUnitPrice": plain(line.alternative.unit_price) if line.alternative else None,
        "note": line.note,
    }


def totals_json(totals: Totals) -> dict[str, Any]:
    return {"hourlyMin": exact(totals.hourly_min), "hourlyMax": exact(totals.hourly_max),
            "monthlyMin": exact(totals.monthly_min), "monthlyMax": exact(totals.monthly_max),
            "unpricedLines": totals.unpriced}


def budget_check(estimate: Estimate, budget: Decimal | None = None) -> dict[str, Any] | None:
    """How the monthly maximum compares with `budget` (else the stack's own budget)."""
    source, amount, currency = "--budget", budget, estimate.currency
    if amount is None:
        if not estimate.budgets:
            return None
        stack_budget: StackBudget = estimate.budgets[0]
        source = f"the stack's Budget resource {stack_budget.resource}"
        amount, currency = stack_budget.amount, stack_budget.currency
    totals = estimate.totals
    comparable = currency == estimate.currency
    return {
        "source": source, "amount": plain(amount), "currency": currency,
        "monthlyMax": exact(totals.monthly_max), "comparable": comparable,
        "over": bool(comparable and totals.monthly_max > amount),
        "headroom": exact(amount - totals.monthly_max) if comparable else None,
        "proven": totals.unpriced == 0,
    }


def estimate_json(estimate: Estimate, budget: Decimal | None = None) -> dict[str, Any]:
    resources: dict[str, dict] = {}
    for line in estimate.lines:
        entry = resources.setdefault(line.resource, {
            "name": line.resource, "type": line.resource_type, "urn": line.urn, "parent": line.parent,
            "lines": []})
        entry["lines"].append(line_json(line))
    per_resource = estimate.resource_totals()
    for name, entry in resources.items():
        entry.update({k: v for k, v in totals_json(per_resource[name]).items()})
    comparison = estimate.comparison()
    return {
        "version": JSON_VERSION,
        "stack": estimate.stack,
        "project": estimate.project,
        "planSource": estimate.plan_source,
        "priceBook": estimate.price_book,
        "currency": estimate.currency,
        "hoursPerMonth": int(HOURS_PER_MONTH),
        "totals": totals_json(estimate.totals),
        "spotComparison": {"monthlyMaxAllOnDemand": exact(comparison.on_demand),
                           "monthlyMaxAllSpot": exact(comparison.spot),
                           "missingOnDemand": comparison.missing_on_demand, "missingSpot": comparison.missing_spot},
        "budget": budget_check(estimate, budget),
        "resources": list(resources.values()),
        "unpriced": [{"resource": line.resource, "component": line.component, "reason": line.unpriced_reason}
                     for line in estimate.unpriced],
        "notPriced": [{"name": n.resource, "type": n.resource_type, "status": n.status, "reason": n.reason}
                      for n in estimate.notes if n.status != "component"],
    }


# -- CSV -------------------------------------------------------------------------------------------

CSV_COLUMNS = ("resource", "resource_type", "component", "kind", "purchase", "quantity_min", "quantity_max",
               "unit", "unit_price", "price_unit", "sku_id", "hourly_min", "hourly_max", "monthly_min",
               "monthly_max", "currency", "unpriced_reason", "note")


def estimate_csv(estimate: Estimate) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in estimate.lines:
        writer.writerow([line.resource, line.resource_type, line.component, line.kind, line.purchase or "",
                         plain(line.quantity_min), plain(line.quantity_max), line.unit,
                         plain(line.unit_price) or "", line.price_unit if line.price else "",
                         line.price.sku_id if line.price else "", exact(line.hourly_min) or "",
                         exact(line.hourly_max) or "", exact(line.monthly_min) or "", exact(line.monthly_max) or "",
                         estimate.currency, line.unpriced_reason or "", line.note or ""])
    return buffer.getvalue().rstrip("\n")


# -- Table -----------------------------------------------------------------------------------------

TABLE_COLUMNS = ["resource", "component", "quantity", "unit price", "hourly min", "hourly max", "monthly min",
                 "monthly max"]


def _amounts(line_or_totals, priced: bool) -> dict[str, str]:
    if not priced:
        return {"hourly min": "not priced", "hourly max": "", "monthly min": "", "monthly max": ""}
    return {"hourly min": money(line_or_totals.hourly_min, 4), "hourly max": money(line_or_totals.hourly_max, 4),
            "monthly min": money(line_or_totals.monthly_min), "monthly max": money(line_or_totals.monthly_max)}


def header_text(estimate: Estimate) -> str:
    target = f"stack {estimate.stack}" if estimate.stack else "plan"
    project = f" (project {estimate.project})" if estimate.project else ""
    return (f"Estimate of {target}{project} from {estimate.plan_source}\n"
            f"Price book: {estimate.price_book}. A month is {HOURS_PER_MONTH} hours; min/max are at the "
            f"autoscaling minimum/maximum.")


def estimate_table(estimate: Estimate, budget: Decimal | None = None) -> str:
    rows = []
    previous = None
    for line in estimate.lines:
        rows.append({"resource": line.resource if line.resource != previous else "",
                     "component": line.component + ("  *" if not line.priced else "") +
                     ("  !" if line.unverified else ""),
                     "quantity": quantity_text(line), "unit price": unit_price_text(line),
                     **_amounts(line, line.priced)})
        previous = line.resource
    totals = estimate.totals
    rows.append({"resource": "TOTAL", "component": f"{estimate.currency}", "quantity": "", "unit price": "",
                 **_amounts(totals, True)})
    text = [header_text(estimate), "", render(rows, TABLE_COLUMNS, "table",
                                              right_align=("quantity", "hourly min", "hourly max", "monthly min",
                                                           "monthly max"))]
    text += summary_lines(estimate, budget)
    return "\n".join(text)


def summary_lines(estimate: Estimate, budget: Decimal | None = None) -> list[str]:
    out: list[str] = [""]
    comparison = estimate.comparison()
    if estimate.has_spot_choice:
        on_demand = money(comparison.on_demand) if comparison.on_demand is not None else "unknown"
        spot = money(comparison.spot) if comparison.spot is not None else "unknown"
        out.append(f"Spot vs on-demand, monthly maximum: all on-demand {on_demand}, all spot {spot} "
                   f"{estimate.currency}" + (f" (no spot price: {len(comparison.missing_spot)} lines)"
                                             if comparison.missing_spot else ""))
    check = budget_check(estimate, budget)
    if check:
        if not check["comparable"]:
            out.append(f"Budget ({check['source']}): {check['amount']} {check['currency']}, not comparable with "
                       f"an estimate in {estimate.currency}")
        else:
            state = "OVER BUDGET" if check["over"] else "within budget"
            out.append(f"Budget ({check['source']}): {money(Decimal(check['amount']))} {check['currency']}/month; "
                       f"maximum {money(estimate.totals.monthly_max)}: {state}"
                       + ("" if check["proven"] else " (not proven: some lines are not priced)"))
    unpriced = estimate.unpriced
    if unpriced:
        out.append(f"* Not priced ({len(unpriced)} line{'s' if len(unpriced) > 1 else ''}; totals leave them out):")
        out += [f"  - {line.resource}: {line.component}: {line.unpriced_reason}" for line in unpriced]
    doubted = [line for line in estimate.lines if line.unverified]
    if doubted:
        out.append(f"! Unverified price ({len(doubted)} line{'s' if len(doubted) > 1 else ''}; the price book "
                   "doubts it, check before relying on the total):")
        out += [f"  - {line.resource}: {line.component}: SKU {line.price.sku_id}: {line.unverified}"
                for line in doubted]
    notes = [n for n in estimate.lines if n.note]
    if notes:
        out.append("Notes:")
        out += [f"  - {line.resource}: {line.component}: {line.note}" for line in notes]
    others = [n for n in estimate.notes if n.status in ("usage-based", "unsupported")]
    free = sum(1 for n in estimate.notes if n.status == "free")
    if others:
        out.append("Resources with costs not in the totals:")
        out += [f"  - {n.resource} ({n.resource_type}): {n.status}: {n.reason}" for n in others]
    if free:
        out.append(f"{free} more resources cost nothing themselves (IAM, networks, Kubernetes objects, providers).")
    return out
