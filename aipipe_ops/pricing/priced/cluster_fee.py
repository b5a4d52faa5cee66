"""GKE cluster management fee, per cluster-hour, and the GKE free tier.

Google (prices.md s7): "$0.10 per cluster per hour ... applies to all GKE clusters irrespective of the mode
of operation" (zonal, regional, Autopilot); SKUs "Zonal / Regional / Autopilot Kubernetes Clusters" in the
Kubernetes Engine service, region global. A cluster is zonal when its location is a zone.

Free tier: "$74.40 monthly credit per billing account", "equivalent to one free Autopilot or zonal Standard
cluster" for a 744-hour month; only zonal and Autopilot cluster fees; unused credit does not roll over.
aipipe applies it once per estimate, to the first zonal or Autopilot cluster, as 744 hours of that
cluster's fee rate (so it follows the price book's currency): in a 730-hour month it covers the whole fee.
`aipipe estimate --no-free-tier` drops it when another cluster of the billing account already uses it.

Lines: "Cluster management fee (<zonal|regional|autopilot>)" in clusters, and
"GKE free tier credit (one <zonal|autopilot> cluster per billing account)".

Limitations: the extended-support surcharge (EXTENDED channel after standard support) and GKE
Enterprise per-vCPU fees are not priced.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from aipipe_ops.gcp.regions import is_zone
from aipipe_ops.pricing.catalog_skus import cluster_fee_selector
from aipipe_ops.pricing.lines import HOURS_PER_MONTH, CostLine
from aipipe_ops.pricing.plans.resource import PlannedResource
from aipipe_ops.pricing.priced.context import PricingContext
from aipipe_ops.pricing.priced.inputs import flag, get

FREE_TIER_HOURS = Decimal(744)
FREE_TIER_MODES = ("zonal", "autopilot")
CREDIT_COMPONENT = "GKE free tier credit (one {mode} cluster per billing account)"


def cluster_mode(cluster: PlannedResource) -> str:
    if flag(cluster.inputs, "enableAutopilot"):
        return "autopilot"
    location = get(cluster.inputs, "location") or ""
    return "zonal" if location and is_zone(location) else "regional"


def lines(cluster: PlannedResource, ctx: PricingContext) -> list[CostLine]:
    mode = cluster_mode(cluster)
    one = Decimal(1)
    return [ctx.line(cluster, component=f"Cluster management fee ({mode})", kind="cluster_fee",
                     selector=cluster_fee_selector(mode), region="global", purchase=None, quantity_min=one,
                     quantity_max=one, unit="clusters")]


def with_free_tier(lines_: list[CostLine]) -> list[CostLine]:
    """The lines with one free-tier credit after the first priced zonal or Autopilot cluster fee."""
    result: list[CostLine] = []
    applied = False
    for line in lines_:
        result.append(line)
        if applied or line.kind != "cluster_fee" or not line.priced:
            continue
        mode = next((m for m in FREE_TIER_MODES if line.component.endswith(f"({m})")), None)
        if mode is None:
            continue
        credit_monthly = min(FREE_TIER_HOURS * line.price.unit_price, line.monthly_max)
        hourly = -credit_monthly / HOURS_PER_MONTH
        result.append(replace(line, component=CREDIT_COMPONENT.format(mode=mode), kind="credit", credit=True,
                              fixed_hourly=(hourly, hourly), purchase=None, alternative=None,
                              note=f"{FREE_TIER_HOURS} hours of the {mode} fee per month ({FREE_TIER_HOURS} x "
                                   f"{line.price.unit_price} {line.price.currency}), capped at the fee"))
        applied = True
    return result
