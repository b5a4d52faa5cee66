"""GKE cluster (`gcp:container/cluster:Cluster`): its management fee (cluster_fee.py) and the node pools it
declares itself: inline `nodePools`, or the default pool unless `removeDefaultNodePool` is true (both priced
like separately managed pools, node_pool.py).

Limitations: with `removeDefaultNodePool`, GKE still creates the default pool's `initialNodeCount` nodes for
the minutes it takes to create the cluster; that is not priced. Autopilot Pods are billed on their resource
requests, which the plan does not hold: an Autopilot cluster is its fee plus a usage-based note.
"""

from __future__ import annotations

from aipipe_ops.pricing.lines import ResourceNote
from aipipe_ops.pricing.plans.resource import PlannedResource
from aipipe_ops.pricing.priced.cluster_fee import cluster_mode
from aipipe_ops.pricing.priced.cluster_fee import lines as fee_lines
from aipipe_ops.pricing.priced.context import PricingContext
from aipipe_ops.pricing.priced.inputs import flag, get
from aipipe_ops.pricing.priced.node_pool import price_node_pool

NODE_POOL_TYPE = "gcp:container/nodePool:NodePool"


def declared_pools(cluster: PlannedResource) -> list[PlannedResource]:
    """The cluster's own pools as NodePool resources: inline `nodePools`, else the default pool."""
    inputs = cluster.inputs
    shared = {"cluster": get(inputs, "name") or cluster.name, "location": get(inputs, "location")}
    inline = get(inputs, "nodePools") or []
    pools = []
    for index, pool in enumerate(inline):
        name = pool.get("name") or pool.get("namePrefix") or f"pool-{index}"
        pools.append(PlannedResource(urn=f"{cluster.urn}#nodePools[{index}]", type=NODE_POOL_TYPE,
                                     name=f"{cluster.name}/{name}", inputs={**shared, **pool},
                                     parent=cluster.urn, custom=True))
    if not inline and not flag(inputs, "removeDefaultNodePool") and not flag(inputs, "enableAutopilot"):
        default = {key: inputs[key] for key in ("nodeConfig", "initialNodeCount", "nodeLocations") if key in inputs}
        pools.append(PlannedResource(urn=f"{cluster.urn}#default-pool", type=NODE_POOL_TYPE,
                                     name=f"{cluster.name}/default-pool", inputs={**shared, **default},
                                     parent=cluster.urn, custom=True))
    return pools


def price_cluster(cluster: PlannedResource, ctx: PricingContext) -> list:
    result: list = list(fee_lines(cluster, ctx))
    if cluster_mode(cluster) == "autopilot":
        result.append(ResourceNote(resource=cluster.name, resource_type=cluster.type, urn=cluster.urn,
                                   status="usage-based", reason="Autopilot Pods are billed on their CPU, memory "
                                   "and storage requests, which a plan does not hold: not estimated"))
    for pool in declared_pools(cluster):
        result += price_node_pool(pool, ctx)
    return result
