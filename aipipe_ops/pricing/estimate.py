"""The estimate engine: a stack's planned resources + a price book -> cost lines per resource and
component, hourly and monthly, at the autoscaling minimum and maximum, with every resource accounted for.

    estimate = estimate_resources(resources, PriceBook.load(), stack="prod")
    estimate.totals.monthly_max        # Decimal, in estimate.currency

Every planned resource ends up either in `lines` (priced, or unpriced with the reason) or in `notes`
(free, usage-based, a component, or a type aipipe does not price). Totals add priced lines only and count
the unpriced ones; a budget check with unpriced lines cannot be proven and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Iterable

from aipipe_ops.pricing.bill_places import bill_places, cluster_names, stack_label
from aipipe_ops.pricing.catalog_skus import ON_DEMAND, SPOT
from aipipe_ops.pricing.lines import CostLine, PurchaseComparison, ResourceNote, Totals
from aipipe_ops.pricing.plans.resource import STACK_TYPE, PlannedResource
from aipipe_ops.pricing.price_book import PriceBook
from aipipe_ops.pricing.priced import PRICED_TYPES, classify, cluster_fee
from aipipe_ops.pricing.priced.context import PricingContext
from aipipe_ops.pricing.priced.inputs import Unknown, get, number

BUDGET_TYPE = "gcp:billing/budget:Budget"


@dataclass(frozen=True)
class StackBudget:
    """A monthly budget the stack itself declares (a gcp:billing/budget:Budget with a specified amount)."""

    amount: Decimal
    currency: str
    resource: str


@dataclass
class Estimate:
    lines: list[CostLine]
    notes: list[ResourceNote]
    currency: str
    price_book: str  # the book's label: origin, date, currency
    stack: str | None = None
    project: str | None = None
    plan_source: str = ""
    budgets: list[StackBudget] = field(default_factory=list)
    # Where each resource shows up in the bill: logical name -> (GKE cluster, node pool) (bill_places.py).
    places: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    clusters: tuple[str, ...] = ()  # the GKE names of the plan's clusters
    stack_label: str | None = None  # the clusters' `aipipe-stack` label

    @property
    def totals(self) -> Totals:
        totals = Totals()
        for line in self.lines:
            totals.add(line)
        return totals

    @property
    def unpriced(self) -> list[CostLine]:
        return [line for line in self.lines if not line.priced]

    def resource_names(self) -> list[str]:
        seen: dict[str, None] = {}
        for line in self.lines:
            seen.setdefault(line.resource, None)
        return list(seen)

    def resource_totals(self) -> dict[str, Totals]:
        result: dict[str, Totals] = {}
        for line in self.lines:
            result.setdefault(line.resource, Totals()).add(line)
        return result

    def component_totals(self) -> dict[str, Totals]:
        """Totals per ComponentResource of the stack (the resource's parent), for a per-component view."""
        result: dict[str, Totals] = {}
        for line in self.lines:
            result.setdefault(line.parent or "(stack)", Totals()).add(line)
        return result

    def comparison(self) -> PurchaseComparison:
        """The monthly maximum with every line that has a spot variant bought on-demand, and bought spot."""
        result = PurchaseComparison(on_demand=Decimal(0), spot=Decimal(0))
        for line in self.lines:
            for purchase, missing in ((ON_DEMAND, result.missing_on_demand), (SPOT, result.missing_spot)):
                amount = line.monthly_max_as(purchase)
                if amount is None:
                    missing.append(f"{line.resource}: {line.component}")
                elif purchase == ON_DEMAND:
                    result.on_demand += amount
                else:
                    result.spot += amount
        if result.missing_on_demand:
            result.on_demand = None
        if result.missing_spot:
            result.spot = None
        return result

    @property
    def has_spot_choice(self) -> bool:
        return any(line.purchase is not None for line in self.lines)


def stack_budgets(resources: Iterable[PlannedResource]) -> list[StackBudget]:
    budgets = []
    for resource in resources:
        if resource.type != BUDGET_TYPE:
            continue
        try:
            amount = get(resource.inputs, "amount.specifiedAmount")
        except Unknown:
            continue
        if not amount:
            continue
        units = number(amount, "units", Decimal(0)) or Decimal(0)
        nanos = number(amount, "nanos", Decimal(0)) or Decimal(0)
        budgets.append(StackBudget(amount=units + nanos.scaleb(-9), currency=str(amount.get("currencyCode") or "USD"),
                                   resource=resource.name))
    return budgets


def _parent_names(resources: list[PlannedResource]) -> dict[str, str]:
    """Logical name of each component by URN (the parents lines are grouped by)."""
    return {r.urn: r.name for r in resources if not r.custom and r.type != STACK_TYPE}


def estimate_resources(resources: list[PlannedResource], book: PriceBook, *, free_tier: bool = True,
                       stack: str | None = None, project: str | None = None, plan_source: str = "",
                       project_dir: Path | None = None) -> Estimate:
    ctx = PricingContext(book=book, resources=resources, project_dir=project_dir)
    parents = _parent_names(resources)
    lines: list[CostLine] = []
    notes: list[ResourceNote] = []
    for resource in resources:
        if resource.type == STACK_TYPE:
            continue
        parent = parents.get(resource.parent or "")
        pricer = PRICED_TYPES.get(resource.type)
        if pricer is None:
            status, reason = classify(resource.type, resource.custom)
            notes.append(ResourceNote(resource=resource.name, resource_type=resource.type, urn=resource.urn,
                                      status=status, reason=reason, parent=parent))
            continue
        for item in pricer(resource, ctx):
            if isinstance(item, ResourceNote):
                notes.append(item)
            else:
                lines.append(item.with_parent(parent))
    if free_tier:
        lines = cluster_fee.with_free_tier(lines)
    return Estimate(lines=lines, notes=notes, currency=book.currency, price_book=book.label, stack=stack,
                    project=project, plan_source=plan_source, budgets=stack_budgets(resources),
                    places=bill_places(resources), clusters=cluster_names(resources),
                    stack_label=stack_label(resources))
