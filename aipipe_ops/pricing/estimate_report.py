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

from aipipe_ops.output import noun, plural, render
from aipipe_ops.pricing.estimate import Estimate, StackBudget
from aipipe_ops.pricing.lines import HOURS_PER_MONTH, CostLine, Totals

NANO = Decimal("0.000000001")
JSON_VERSION = "2"  # 2: snake_case keys, resources carry cluster and node_pool


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
    if low == high:
        return f"{low} {noun(line.quantity_min, line.unit_singular, line.unit)}"
    return f"{low}-{high} {line.unit}"


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
        "quantity_min": plain(line.quantity_min),
        "quantity_max": plain(line.quantity_max),
        "unit": line.unit,
        "per": line.per,
        "unit_price": plain(price.unit_price) if price else None,
        "price_unit": line.price_unit if price else None,
        "sku_id": price.sku_id if price else None,
        "sku_description": price.description if price else None,
        "price_source": price.source if price else None,
        "price_date": price.source_date if price else None,
        "price_unverified": line.unverified,
        "hourly_min": exact(line.hourly_min),
        "hourly_max": exact(line.hourly_max),
        "monthly_min": exact(line.monthly_min),
        "monthly_max": exact(line.monthly_max),
        "priced": line.priced,
        "unpriced_reason": line.unpriced_reason,
        "alternative_unit_price": plain(line.alternative.unit_price) if line.alternative else None,
        "note": line.note,
    }


def totals_json(totals: Totals) -> dict[str, Any]:
    return {"hourly_min": exact(totals.hourly_min), "hourly_max": exact(totals.hourly_max),
            "monthly_min": exact(totals.monthly_min), "monthly_max": exact(totals.monthly_max),
            "unpriced_lines": totals.unpriced}


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
        "monthly_max": exact(totals.monthly_max), "comparable": comparable,
        "over": bool(comparable and totals.monthly_max > amount),
        "headroom": exact(amount - totals.monthly_max) if comparable else None,
        "proven": totals.unpriced == 0,
    }


def estimate_json(estimate: Estimate, budget: Decimal | None = None) -> dict[str, Any]:
    resources: dict[str, dict] = {}
    for line in estimate.lines:
        cluster, node_pool = estimate.places.get(line.resource, (None, None))
        entry = resources.setdefault(line.resource, {
            "resource": line.resource, "resource_type": line.resource_type, "urn": line.urn, "parent": line.parent,
            "cluster": cluster, "node_pool": node_pool, "lines": []})
        entry["lines"].append(line_json(line))
    per_resource = estimate.resource_totals()
    for name, entry in resources.items():
        entry.update({k: v for k, v in totals_json(per_resource[name]).items()})
    comparison = estimate.comparison()
    return {
        "version": JSON_VERSION,
        "stack": estimate.stack,
        "project": estimate.project,
        "plan_source": estimate.plan_source,
        "price_book": estimate.price_book,
        "currency": estimate.currency,
        "hours_per_month": int(HOURS_PER_MONTH),
        "totals": totals_json(estimate.totals),
        "spot_comparison": {"monthly_max_all_on_demand": exact(comparison.on_demand),
                            "monthly_max_all_spot": exact(comparison.spot),
                            "missing_on_demand": comparison.missing_on_demand,
                            "missing_spot": comparison.missing_spot},
        "budget": budget_check(estimate, budget),
        "resources": list(resources.values()),
        "unpriced": [{"resource": line.resource, "component": line.component, "reason": line.unpriced_reason}
                     for line in estimate.unpriced],
        "not_priced": [{"resource": n.resource, "resource_type": n.resource_type, "status": n.status,
                        "reason": n.reason} for n in estimate.notes if n.status != "component"],
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
                   f"{estimate.currency}" + (f" (no spot price: {plural(len(comparison.missing_spot), 'line')})"
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
        out.append(f"* Not priced ({plural(len(unpriced), 'line')}; totals leave them out):")
        out += [f"  - {line.resource}: {line.component}: {line.unpriced_reason}" for line in unpriced]
    doubted = [line for line in estimate.lines if line.unverified]
    if doubted:
        out.append(f"! Unverified price ({plural(len(doubted), 'line')}; the price book "
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
        out.append(f"{plural(free, 'more resource')} "
                   f"{'costs nothing itself' if free == 1 else 'cost nothing themselves'} "
                   "(IAM, networks, Kubernetes objects, providers).")
    return out
