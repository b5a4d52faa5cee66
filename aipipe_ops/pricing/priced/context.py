"""What every priced-resource module receives: the price book, the whole plan (a node pool needs its
cluster), the options of the estimate, and one way to turn "this many units of that SKU" into a line."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from aipipe_ops.pricing.catalog_skus import ON_DEMAND, SPOT, SkuSelector
from aipipe_ops.pricing.lines import HOURLY, CostLine
from aipipe_ops.pricing.plans.resource import PlannedResource
from aipipe_ops.pricing.price_book import PriceBook

CLUSTER_TYPE = "gcp:container/cluster:Cluster"


@dataclass
class PricingContext:
    book: PriceBook
    resources: list[PlannedResource]
    # The project folder the plan came from. Google Cloud facts (machine types, GPUs, TPUs) no longer come
    # from it: they ship in aipipe_ops.gcp.
    project_dir: Path | None = None

    def clusters(self) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == CLUSTER_TYPE]

    def cluster_of(self, pool: PlannedResource) -> PlannedResource | None:
        """The cluster a node pool belongs to: matched on the pool's `cluster` input (a name or an id
        `projects/p/locations/l/clusters/name`), else the plan's only cluster."""
        clusters = self.clusters()
        reference = pool.inputs.get("cluster")
        if isinstance(reference, str):
            wanted = reference.rstrip("/").rpartition("/")[2]
            for cluster in clusters:
                if wanted in (cluster.inputs.get("name"), cluster.name):
                    return cluster
        return clusters[0] if len(clusters) == 1 else None

    def line(self, resource: PlannedResource, *, component: str, kind: str, selector: SkuSelector | None,
             region: str | None, purchase: str | None, quantity_min: Decimal, quantity_max: Decimal, unit: str,
             per: str = HOURLY, note: str | None = None, missing: str | None = None) -> CostLine:
        """A line pricing `quantity` units of what `selector` prices in `region`.

        `purchase` None means the thing has no spot variant (disks, cluster fees). `missing` is the
        reason to give when there is no selector at all (a GPU model aipipe does not know, say).
        """
        base = dict(resource=resource.name, resource_type=resource.type, urn=resource.urn, component=component,
                    kind=kind, quantity_min=quantity_min, quantity_max=quantity_max, unit=unit, per=per,
                    purchase=purchase, note=note)
        if selector is None:
            return CostLine(**base, unpriced_reason=missing or f"aipipe has no SKU selector for {component}")
        if region is None:
            return CostLine(**base, unpriced_reason="the resource's region is not known (no location input)")
        wanted = purchase or ON_DEMAND
        price = self.book.find(selector, region, wanted)
        alternative = None
        if purchase is not None:
            alternative = self.book.find(selector, region, SPOT if purchase == ON_DEMAND else ON_DEMAND)
        if price is None:
            where = "global" if selector.global_sku else region
            return CostLine(**base, alternative=alternative,
                            unpriced_reason=f"no {wanted} price for {selector.label} in {where} in the price book "
                                            f"({self.book.label})")
        return CostLine(**base, price=price, alternative=alternative)
