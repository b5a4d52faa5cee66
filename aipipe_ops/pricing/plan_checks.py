"""What makes an estimate meaningless, refused before it is shown: a cluster in a region the price book does not
price (every line would be "not priced" and the total 0.00), or a plan in which nothing at all could be priced.

Both are ConfigErrors (exit 2) of one line naming the config key (`aipipe:location`) or the plan, so a CI gate
(`aipipe estimate --budget`) cannot pass on a typo.
"""

from __future__ import annotations

from aipipe_ops.errors import ConfigError
from aipipe_ops.gcp.regions import region_of
from aipipe_ops.output import plural
from aipipe_ops.pricing.estimate import Estimate
from aipipe_ops.pricing.plans.resource import PlannedResource
from aipipe_ops.pricing.price_book import PriceBook

CLUSTER_TYPE = "gcp:container/cluster:Cluster"
NODE_POOL_TYPE = "gcp:container/nodePool:NodePool"
_FEE_KINDS = ("cluster_fee", "credit")


def check_priceable(estimate: Estimate, resources: list[PlannedResource], book: PriceBook, what: str) -> None:
    """Raise ConfigError when the plan's cluster is outside the book's regions, or no line is priced."""
    regions = book.regions
    for resource in resources:
        if resource.type not in (CLUSTER_TYPE, NODE_POOL_TYPE):
            continue
        location = resource.inputs.get("location")
        if not isinstance(location, str) or not location:
            continue
        region = region_of(location)
        if region not in regions:
            key = "aipipe:location" if resource.type == CLUSTER_TYPE else f"location of node pool {resource.name}"
            raise ConfigError(
                f"{what}: {key} {location}: region {region} is not in the price book ({book.label}; regions: "
                f"{', '.join(regions)}); price it with `aipipe prices refresh --region {region}` or fix the location")
    usage_lines = [line for line in estimate.lines if line.kind not in _FEE_KINDS]
    if usage_lines and not any(line.priced for line in usage_lines):
        reasons = sorted({line.unpriced_reason or "no price" for line in usage_lines})
        raise ConfigError(f"{what}: nothing could be priced ({plural(len(usage_lines), 'line')}, e.g. {reasons[0]}); "
                          "an estimate of 0.00 would be wrong")
