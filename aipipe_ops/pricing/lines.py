"""What an estimate is made of: cost lines (one priced component of one resource) and resource notes
(resources that cost nothing, cost only with usage, or that aipipe cannot price).

Line-item names are stable and say what is priced with the parameters in brackets, like Infracost's:
"Instance vCPUs (spot, g2-standard-8)", "GPUs (on-demand, NVIDIA A100 40GB)", "TPU chips (on-demand, v5e
2x4 slice)", "Boot disk (pd-balanced, 100 GiB)", "Cluster management fee (regional)". Quantities are
what runs at the same time (vCPUs, GiB, GPUs, chips) for hourly-priced things, or what is stored (GiB)
for monthly-priced ones; `minimum`/`maximum` are at the autoscaling minimum and maximum.

Money is exact: Decimal throughout, a month is Google's 730 hours, nothing is rounded before display.
A line that cannot be priced has no amounts and says why (`unpriced_reason`); it never counts as $0.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from aipipe_ops.pricing.price_book import SkuPrice

HOURS_PER_MONTH = Decimal(730)
HOURLY = "hour"
MONTHLY = "month"


# Units are named in the plural (CostLine.unit); their singular, where it differs.
UNIT_SINGULAR = {"vCPUs": "vCPU", "GPUs": "GPU", "chips": "chip", "clusters": "cluster", "nodes": "node"}


@dataclass(frozen=True)
class CostLine:
    resource: str  # the Pulumi resource's logical name
    resource_type: str
    urn: str
    component: str  # stable line-item name
    kind: str  # cpu | ram | gpu | tpu | disk | cluster_fee | credit
    quantity_min: Decimal
    quantity_max: Decimal
    unit: str  # what the quantity counts, plural ("vCPUs", "GiB", "GPUs", "chips", "clusters")
    per: str  # HOURLY: quantity x price is $/hour; MONTHLY: quantity x price is $/month
    price: SkuPrice | None = None
    purchase: str | None = None  # on-demand | spot (None: no such choice)
    unpriced_reason: str | None = None
    alternative: SkuPrice | None = None  # the price of the other purchase option, for spot vs on-demand
    note: str | None = None
    credit: bool = False  # a credit line: its amounts are negative
    parent: str | None = None  # logical name of the ComponentResource the resource belongs to
    # Explicit amounts (credits): when set they replace quantity x price.
    fixed_hourly: tuple[Decimal, Decimal] | None = None

    @property
    def priced(self) -> bool:
        return self.unpriced_reason is None and (self.price is not None or self.fixed_hourly is not None)

    @property
    def unverified(self) -> str | None:
        """Why the price book doubts the price this line uses (None: no doubt, or not priced)."""
        return self.price.unverified if self.price is not None and not self.credit else None

    @property
    def unit_price(self) -> Decimal | None:
        return self.price.unit_price if self.price is not None else None

    @property
    def unit_singular(self) -> str:
        """The unit for a quantity of exactly one: "1 cluster", "1 GPU"."""
        return UNIT_SINGULAR.get(self.unit, self.unit)

    @property
    def price_unit(self) -> str:
        return f"{self.unit_singular}-{self.per}"

    def _hourly(self, quantity: Decimal, price: SkuPrice | None) -> Decimal | None:
        if price is None:
            return None
        if self.per == HOURLY:
            return quantity * price.unit_price
        return quantity * price.unit_price / HOURS_PER_MONTH

    def _monthly(self, quantity: Decimal, price: SkuPrice | None) -> Decimal | None:
        if price is None:
            return None
        if self.per == HOURLY:
            return quantity * price.unit_price * HOURS_PER_MONTH
        return quantity * price.unit_price

    @property
    def hourly_min(self) -> Decimal | None:
        if not self.priced:
            return None
        if self.fixed_hourly is not None:
            return self.fixed_hourly[0]
        return self._hourly(self.quantity_min, self.price)

    @property
    def hourly_max(self) -> Decimal | None:
        if not self.priced:
            return None
        if self.fixed_hourly is not None:
            return self.fixed_hourly[1]
        return self._hourly(self.quantity_max, self.price)

    @property
    def monthly_min(self) -> Decimal | None:
        if not self.priced:
            return None
        if self.fixed_hourly is not None:
            return self.fixed_hourly[0] * HOURS_PER_MONTH
        return self._monthly(self.quantity_min, self.price)

    @property
    def monthly_max(self) -> Decimal | None:
        if not self.priced:
            return None
        if self.fixed_hourly is not None:
            return self.fixed_hourly[1] * HOURS_PER_MONTH
        return self._monthly(self.quantity_max, self.price)

    def monthly_max_as(self, purchase: str) -> Decimal | None:
        """Monthly maximum if this line were bought `purchase` (on-demand or spot); None if unknown."""
        if self.purchase is None or self.purchase == purchase:
            return self.monthly_max
        if self.alternative is None or self.fixed_hourly is not None:
            return None
        return self._monthly(self.quantity_max, self.alternative)

    def with_parent(self, parent: str | None) -> "CostLine":
        return replace(self, parent=parent)


@dataclass(frozen=True)
class ResourceNote:
    """A planned resource with no cost line: free, usage-based, a component, or not supported."""

    resource: str
    resource_type: str
    urn: str
    status: str  # free | usage-based | unsupported | component
    reason: str
    parent: str | None = None


@dataclass
class Totals:
    hourly_min: Decimal = Decimal(0)
    hourly_max: Decimal = Decimal(0)
    monthly_min: Decimal = Decimal(0)
    monthly_max: Decimal = Decimal(0)
    unpriced: int = 0

    def add(self, line: CostLine) -> None:
        if not line.priced:
            self.unpriced += 1
            return
        self.hourly_min += line.hourly_min
        self.hourly_max += line.hourly_max
        self.monthly_min += line.monthly_min
        self.monthly_max += line.monthly_max


@dataclass
class PurchaseComparison:
    """The stack's monthly maximum with every spot-capable line bought one way; None when a price is missing."""

    on_demand: Decimal | None
    spot: Decimal | None
    missing_on_demand: list[str] = field(default_factory=list)
    missing_spot: list[str] = field(default_factory=list)
