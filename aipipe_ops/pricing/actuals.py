"""Estimate vs billed actual: a stack's estimated monthly minimum and maximum beside what the billing export in
the workspace charged for the same clusters and node pools, scaled to a month, with a verdict per line.

    planned = planned_from_estimate(estimate, plan.resources)       # or saved_plan(con): `estimate --save`
    comparison = compare_with_bill(con, planned, UsageWindow(since, until))

Lines are the bill's identifiers, not Pulumi's: a node pool is (cluster, node pool) as the export labels it
(`goog-k8s-cluster-name`, `goog-k8s-node-pool-name`: the `cluster` and `node_pool` of cost_lines); the cluster's
own lines are its management fee (with the free-tier credit) and its persistent disks (PersistentVolumeClaims:
labelled with the cluster, on no node pool). Rows labelled `aipipe-stack=<stack>` (cost_lines.kept_labels) outside
the stack's clusters are the stack's too, one line per service.

The billed amount is the effective cost: cost + credits (committed-use and sustained-use discounts, the free tier),
over the usage window, scaled to a month as amount x 730 / hours billed. The hours billed are the window's US/Pacific
days clipped to the hours the workspace's export covers (its first to its last usage hour), so a window longer than
the export is not read as a quiet month. Commitment fees carry no cluster label and are not a pool's: a pool whose
usage a commitment covers shows its credits and a note.

Verdicts: below the minimum (capacity the plan keeps is missing or scaled down, or credits cover it), within, above
the maximum (something runs that the plan does not price: the SKUs of the resource kinds over their estimated
maximum are named), not billed (the estimate has the line, the bill does not), not estimated (the reverse).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable

from aipipe_ops.billing.normalise import UsageWindow
from aipipe_ops.errors import InputError
from aipipe_ops.pricing.estimate import Estimate
from aipipe_ops.pricing.lines import HOURS_PER_MONTH
from aipipe_ops.billing.breakdowns import label_value_sql
from aipipe_ops.pricing.bill_places import DEFAULT_POOL, STACK_LABEL
from aipipe_ops.pricing.priced.context import CLUSTER_TYPE
from aipipe_ops.sql import DUCKDB, usage_days

# The record `estimate --save` leaves in `loads`: which stack the saved estimate_lines price and where each line
# sits in the bill (estimate_lines holds Pulumi's names and amounts only).
SAVED_KIND = "estimate"

# Parts of a line: what a row of the bill or of the estimate is, inside its cluster.
NODE_POOL = "node pool"
CLUSTER_FEE = "cluster fee"
PERSISTENT_DISKS = "persistent disks"

BELOW, WITHIN, ABOVE, NOT_BILLED, NOT_ESTIMATED, NOT_PRICED = (
    "below_minimum", "within", "above_maximum", "not_billed", "not_estimated", "not_priced")
VERDICT_TEXT = {BELOW: "below the minimum", WITHIN: "within", ABOVE: "above the maximum", NOT_BILLED: "not billed",
                NOT_ESTIMATED: "not estimated", NOT_PRICED: "not priced"}
# A pool whose credits cover more than this share of its cost says so beside a "below" verdict.
CREDIT_NOTE_SHARE = Decimal("0.5")


@dataclass(frozen=True)
class PlannedLine:
    """One estimate line placed on the bill's identifiers."""

    cluster: str | None
    node_pool: str | None
    kind: str  # the estimate's kind; a free-tier credit counts as cluster_fee, as the bill nets it on the fee row
    resource: str
    component: str
    monthly_min: Decimal | None
    monthly_max: Decimal | None

    @property
    def part(self) -> str:
        if self.node_pool:
            return NODE_POOL
        return _part_of_kind(self.kind)


@dataclass(frozen=True)
class Planned:
    """What the estimate expects of the bill: the stack's clusters and its lines, in one currency."""

    stack: str | None
    stack_label: str | None
    clusters: tuple[str, ...]
    currency: str
    lines: tuple[PlannedLine, ...]


def _part_of_kind(kind: str) -> str:
    if kind in ("cluster_fee", "credit"):
        return CLUSTER_FEE
    if kind == "disk":
        return PERSISTENT_DISKS
    return kind


def planned_from_estimate(estimate: Estimate) -> Planned:
    """The estimate's lines placed on the GKE cluster and node-pool names their resources get (bill_places.py)."""
    lines = []
    for line in estimate.lines:
        cluster, pool = estimate.places.get(line.resource, (None, None))
        if line.resource_type == CLUSTER_TYPE and line.kind not in ("cluster_fee", "credit"):
            pool = DEFAULT_POOL  # a cluster's own VM lines are its default node pool's
        kind = "cluster_fee" if line.kind == "credit" else line.kind
        lines.append(PlannedLine(cluster=cluster, node_pool=pool, kind=kind, resource=line.resource,
                                 component=line.component, monthly_min=line.monthly_min,
                                 monthly_max=line.monthly_max))
    return Planned(stack=estimate.stack, stack_label=estimate.stack_label, clusters=estimate.clusters,
                   currency=estimate.currency, lines=tuple(lines))


# -- the saved estimate (`estimate --save`) -----------------------------------------------------------------------

def saved_record(planned: Planned) -> str:
    """The `loads` watermark of a saved estimate: the stack and where each saved line sits in the bill."""
    return json.dumps({"stack": planned.stack, "stack_label": planned.stack_label, "clusters": list(planned.clusters),
                       "currency": planned.currency,
                       "lines": [[p.resource, p.component, p.kind, p.cluster, p.node_pool] for p in planned.lines]},
                      separators=(",", ":"))


def saved_plan(con) -> Planned | None:
    """The estimate `estimate --save` left in the workspace (estimate_lines + its `loads` record); None when
    there is none, or only lines saved before the record existed."""
    record = con.execute(f"SELECT watermark FROM loads WHERE kind = '{SAVED_KIND}' "
                         "ORDER BY load_id DESC LIMIT 1").fetchone()
    if record is None or not record[0]:
        return None
    try:
        meta = json.loads(record[0])
        places = {(r, c): (k, cl, np) for r, c, k, cl, np in meta["lines"]}
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"workspace table loads, kind {SAVED_KIND!r}: the saved estimate's record is unreadable "
                         f"({exc}); save it again with `aipipe estimate --stack NAME --save`") from exc
    rows = con.execute("SELECT resource, component, monthly_min, monthly_max FROM estimate_lines").fetchall()
    lines = []
    for resource, component, low, high in rows:
        kind, cluster, pool = places.get((resource, component), ("other", None, None))
        lines.append(PlannedLine(cluster=cluster, node_pool=pool, kind=kind, resource=resource, component=component,
                                 monthly_min=low, monthly_max=high))
    if not lines:
        return None
    return Planned(stack=meta.get("stack"), stack_label=meta.get("stack_label"),
                   clusters=tuple(meta.get("clusters") or ()), currency=str(meta.get("currency") or "USD"),
                   lines=tuple(lines))


# -- the comparison -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BilledSku:
    sku_id: str | None
    sku: str | None
    resource_kind: str
    net_cost: Decimal
    monthly: Decimal


@dataclass
class ActualLine:
    cluster: str | None
    node_pool: str | None
    part: str  # node pool | cluster fee | persistent disks | a resource kind | a service (stack-labelled rows)
    estimate_min: Decimal | None = None
    estimate_max: Decimal | None = None
    planned_lines: int = 0
    unpriced_lines: int = 0
    cost: Decimal = Decimal(0)
    credits: Decimal = Decimal(0)
    net_cost: Decimal = Decimal(0)
    billed_monthly: Decimal | None = None
    verdict: str = ""
    excess_skus: list[BilledSku] = field(default_factory=list)
    note: str = ""
    billed: bool = False
    kind_max: dict[str, Decimal] = field(default_factory=dict)
    skus: list[BilledSku] = field(default_factory=list)

    @property
    def key(self) -> tuple:
        return (self.cluster or "", self.node_pool or "", self.part)


@dataclass
class Comparison:
    planned: Planned
    window: UsageWindow
    start: dt.datetime | None  # the hours billed: [start, end)
    end: dt.datetime | None
    hours: Decimal
    lines: list[ActualLine]
    other_currencies: list[str]

    @property
    def factor(self) -> Decimal | None:
        """Billed amount -> monthly amount: 730 hours / hours billed."""
        return HOURS_PER_MONTH / self.hours if self.hours else None

    @property
    def currency(self) -> str:
        return self.planned.currency

    def count(self, verdict: str) -> int:
        return sum(1 for line in self.lines if line.verdict == verdict)


def _scope_sql(planned: Planned) -> str:
    """The cost_lines rows of the stack: on its clusters, or labelled with its stack label."""
    conditions = []
    if planned.clusters:
        conditions.append(f"cluster IN ({', '.join(DUCKDB.literal(c) for c in planned.clusters)})")
    if planned.stack_label:
        conditions.append(f"{label_value_sql(STACK_LABEL)} = {DUCKDB.literal(planned.stack_label)}")
    return "(" + " OR ".join(conditions) + ")" if conditions else "FALSE"


def billed_hours(con, window: UsageWindow) -> tuple[dt.datetime | None, dt.datetime | None, Decimal]:
    """[start, end) and its hours: the window's days clipped to the usage hours the workspace's export covers."""
    first, last = con.execute(
        f"SELECT min(usage_start), max(usage_start) FROM cost_lines WHERE cost_type = 'regular' "
        f"AND {usage_days(window.since, window.until)}").fetchone()
    if first is None:
        return None, None, Decimal(0)
    start, end = first, last + dt.timedelta(hours=1)
    low, high = window.bounds()
    start = max(start, low) if low else start
    end = min(end, high) if high else end
    return start, end, Decimal(int((end - start).total_seconds())) / 3600


def _bill_part(cluster: str | None, node_pool: str | None, kind: str, service: str | None) -> tuple:
    if cluster is None:
        return (None, None, service or "other")
    if node_pool:
        return (cluster, node_pool, NODE_POOL)
    return (cluster, None, _part_of_kind(kind))


def compare_with_bill(con, planned: Planned, window: UsageWindow = UsageWindow()) -> Comparison:
    start, end, hours = billed_hours(con, window)
    factor = HOURS_PER_MONTH / hours if hours else None
    lines: dict[tuple, ActualLine] = {}

    def line_for(cluster, node_pool, part) -> ActualLine:
        key = (cluster or "", node_pool or "", part)
        if key not in lines:
            lines[key] = ActualLine(cluster=cluster, node_pool=node_pool, part=part)
        return lines[key]

    for p in planned.lines:
        line = line_for(p.cluster, p.node_pool, p.part)
        line.planned_lines += 1
        if p.monthly_max is None or p.monthly_min is None:
            line.unpriced_lines += 1
            continue
        line.estimate_min = (line.estimate_min or Decimal(0)) + p.monthly_min
        line.estimate_max = (line.estimate_max or Decimal(0)) + p.monthly_max
        line.kind_max[p.kind] = line.kind_max.get(p.kind, Decimal(0)) + p.monthly_max

    scope = _scope_sql(planned)
    rows = con.execute(
        f"SELECT cluster, node_pool, resource_kind, any_value(service), sku_id, any_value(sku), sum(cost), "
        f"sum(credits), sum(net_cost) FROM cost_lines WHERE {scope} AND currency = ? AND "
        f"{usage_days(window.since, window.until)} GROUP BY cluster, node_pool, resource_kind, sku_id "
        f"ORDER BY cluster, node_pool, resource_kind, sku_id", [planned.currency]).fetchall()
    for cluster, node_pool, kind, service, sku_id, sku, cost, credits, net in rows:
        line = line_for(*_bill_part(cluster, node_pool, kind, service))
        line.billed = True
        line.cost += cost
        line.credits += credits
        line.net_cost += net
        line.skus.append(BilledSku(sku_id=sku_id, sku=sku, resource_kind=kind, net_cost=net,
                                   monthly=net * factor if factor else Decimal(0)))
    others = [r[0] for r in con.execute(
        f"SELECT DISTINCT currency FROM cost_lines WHERE {scope} AND currency <> ? AND "
        f"{usage_days(window.since, window.until)} ORDER BY 1", [planned.currency]).fetchall()]

    for line in lines.values():
        _judge(line, factor)
    ordered = sorted(lines.values(), key=lambda l: (l.cluster is None, l.cluster or "", l.node_pool is None,
                                                    l.node_pool or "", l.part))
    return Comparison(planned=planned, window=window, start=start, end=end, hours=hours, lines=ordered,
                      other_currencies=others)


def _judge(line: ActualLine, factor: Decimal | None) -> None:
    if line.billed and factor is not None:
        line.billed_monthly = line.net_cost * factor
    notes = []
    if line.unpriced_lines:
        notes.append(f"{line.unpriced_lines} of its {line.planned_lines} estimate lines are not priced")
    if not line.planned_lines:
        line.verdict = NOT_ESTIMATED
        notes.insert(0, "billed, but the estimate has no such line: something runs that the plan does not describe")
    elif not line.billed:
        line.verdict = NOT_BILLED
        notes.insert(0, "estimated, but the bill has no row for it in the window: not created, renamed, or "
                        "scaled to zero")
    elif line.estimate_max is None:
        line.verdict = NOT_PRICED
    elif line.billed_monthly < line.estimate_min:
        line.verdict = BELOW
        notes.insert(0, "capacity the plan keeps is missing or scaled down: check the plan")
    elif line.billed_monthly > line.estimate_max:
        line.verdict = ABOVE
        line.excess_skus = _excess_skus(line)
        notes.insert(0, "something runs that the plan does not price")
    else:
        line.verdict = WITHIN
    if line.billed and line.cost > 0 and -line.credits > line.cost * CREDIT_NOTE_SHARE:
        notes.append(f"credits offset {(-line.credits / line.cost * 100).quantize(Decimal('1'))}% of its cost "
                     "(committed-use or other discounts; commitment fees are billed on no cluster)")
    line.note = "; ".join(notes)


def _excess_skus(line: ActualLine) -> list[BilledSku]:
    """The SKUs of the resource kinds whose billed monthly amount exceeds their estimated maximum (a kind the
    estimate does not price at all, such as network egress, has a maximum of 0), largest first."""
    by_kind: dict[str, Decimal] = {}
    for sku in line.skus:
        by_kind[sku.resource_kind] = by_kind.get(sku.resource_kind, Decimal(0)) + sku.monthly
    over = {kind for kind, amount in by_kind.items() if amount > line.kind_max.get(kind, Decimal(0))}
    return sorted((s for s in line.skus if s.resource_kind in over and s.net_cost > 0),
                  key=lambda s: (-s.monthly, s.sku_id or ""))


def describe_scaling(comparison: Comparison) -> str:
    """How the billed amounts became monthly ones, in one sentence."""
    if not comparison.hours:
        return "the workspace holds no billed usage in the window"
    days = (comparison.hours / 24).quantize(Decimal("0.01"))
    start, end = (t.astimezone(dt.timezone.utc) for t in (comparison.start, comparison.end))
    return (f"billed {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC, "
            f"{comparison.hours.normalize():f} hours ({days.normalize():f} days); monthly = billed x "
            f"{HOURS_PER_MONTH} / {comparison.hours.normalize():f} (a month is {HOURS_PER_MONTH} hours)")


def lines_of(comparison: Comparison, verdicts: Iterable[str]) -> list[ActualLine]:
    wanted = set(verdicts)
    return [line for line in comparison.lines if line.verdict in wanted]
