"""Where a planned resource shows up in the billing export: the GKE cluster and node pool its rows are labelled with
(`goog-k8s-cluster-name`, `goog-k8s-node-pool-name`), from the plan's `name` inputs rather than Pulumi's logical
names. The estimate's JSON carries them as fields; the estimate-vs-actual comparison (actuals.py) matches on them."""

from __future__ import annotations

from aipipe_ops.pricing.plans.resource import PlannedResource
from aipipe_ops.pricing.priced.context import CLUSTER_TYPE, PricingContext

NODE_POOL_TYPE = "gcp:container/nodePool:NodePool"
DEFAULT_POOL = "default-pool"  # GKE's name for a cluster's default node pool
# stacks/labels.py STACK_LABEL (the stacks are the Pulumi program; the engine does not import them).
STACK_LABEL = "aipipe-stack"


def gke_name(resource: PlannedResource) -> str:
    return str(resource.inputs.get("name") or resource.name)


def bill_places(resources: list[PlannedResource]) -> dict[str, tuple[str | None, str | None]]:
    """(cluster, node pool) by logical resource name, for every resource of the plan: a cluster is (its name,
    None), a node pool (its cluster's name, its name), anything else (the plan's only cluster, None) — a
    PersistentVolumeClaim's disk is labelled with the cluster it runs on."""
    ctx = PricingContext(book=None, resources=resources)  # cluster_of reads the plan only
    clusters = ctx.clusters()
    names = list(dict.fromkeys(gke_name(c) for c in clusters))
    only = names[0] if len(names) == 1 else None
    places: dict[str, tuple[str | None, str | None]] = {}
    for resource in resources:
        if resource.type == CLUSTER_TYPE:
            places[resource.name] = (gke_name(resource), None)
        elif resource.type == NODE_POOL_TYPE:
            owner = ctx.cluster_of(resource)
            places[resource.name] = (gke_name(owner) if owner is not None else None, gke_name(resource))
        else:
            places[resource.name] = (only, None)
    return places


def cluster_names(resources: list[PlannedResource]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(gke_name(r) for r in resources if r.type == CLUSTER_TYPE))


def stack_label(resources: list[PlannedResource]) -> str | None:
    """The `aipipe-stack` label value the plan's clusters carry (the stack's billing rows carry it too)."""
    for resource in resources:
        if resource.type == CLUSTER_TYPE:
            labels = resource.inputs.get("resourceLabels") or {}
            if isinstance(labels, dict) and labels.get(STACK_LABEL):
                return str(labels[STACK_LABEL])
    return None
