"""Priced things, found by a registry: a resource type maps to the module that prices it; a node pool's
VMs are priced component by component (pool_components.py), one module per priced thing, each listing its
limitations beside its code. Resources that cost nothing, or only with usage, are listed with the reason,
so every planned resource is accounted for and none is silently $0.

Adding a priced resource: one module exposing `price_<thing>(resource, ctx) -> list[CostLine |
ResourceNote]`, one entry in PRICED_TYPES, a test, and a golden line in tests/pricing/golden/.
"""

from __future__ import annotations

from typing import Callable

from aipipe_ops.pricing.priced import cluster, persistent_volume
from aipipe_ops.pricing.priced.node_pool import price_node_pool

PRICED_TYPES: dict[str, Callable] = {
    "gcp:container/cluster:Cluster": cluster.price_cluster,
    "gcp:container/nodePool:NodePool": price_node_pool,
    "kubernetes:core/v1:PersistentVolumeClaim": persistent_volume.price_claim,
    "kubernetes:kustomize/v2:Directory": persistent_volume.price_kustomization,
    "kubernetes:kustomize:Directory": persistent_volume.price_kustomization,
}

# No charge of their own (prices.md; Google's pricing pages for IAM, VPC, Resource Manager, Budgets).
FREE_TYPES: dict[str, str] = {
    "gcp:serviceaccount/account:Account": "service accounts are free",
    "gcp:serviceaccount/iAMMember:IAMMember": "IAM bindings are free",
    "gcp:serviceaccount/iAMBinding:IAMBinding": "IAM bindings are free",
    "gcp:projects/iAMMember:IAMMember": "IAM bindings are free",
    "gcp:projects/iAMBinding:IAMBinding": "IAM bindings are free",
    "gcp:projects/service:Service": "enabling an API is free",
    "gcp:storage/bucketIAMMember:BucketIAMMember": "IAM bindings are free",
    "gcp:storage/bucketIAMBinding:BucketIAMBinding": "IAM bindings are free",
    "gcp:bigquery/datasetIamMember:DatasetIamMember": "IAM bindings are free",
    "gcp:compute/network:Network": "a VPC network is free",
    "gcp:compute/subnetwork:Subnetwork": "a subnet is free (traffic is billed as network usage)",
    "gcp:compute/router:Router": "a Cloud Router without VPN/Interconnect sessions is free",
    "gcp:compute/firewall:Firewall": "firewall rules are free",
    "gcp:billing/budget:Budget": "budgets are free",
    "gcp:logging/projectSink:ProjectSink": "a sink is free (the logs it routes are billed as usage)",
}

# Fixed price unknown before use: storage grows, traffic flows. Listed, never priced as $0.
USAGE_BASED_TYPES: dict[str, str] = {
    "gcp:storage/bucket:Bucket": "Cloud Storage bills stored GiB-months, operations and egress: usage-based",
    "gcp:bigquery/dataset:Dataset": "BigQuery bills stored bytes and queries: usage-based",
    "gcp:compute/routerNat:RouterNat": "Cloud NAT bills gateway uptime per VM served (up to $0.0448/h per gateway) "
                                       "and $0.045 per GiB processed (prices.md s8): usage-based, not estimated",
    "gcp:artifactregistry/repository:Repository": "Artifact Registry bills stored GiB and egress: usage-based",
    "gcp:pubsub/topic:Topic": "Pub/Sub bills messages: usage-based",
}

KUBERNETES_REASON = "a Kubernetes object runs on the cluster's nodes, which the node pools price"
PROVIDER_REASON = "a provider configuration is not a cloud resource"
COMPONENT_REASON = "a component groups resources that are priced on their own"


def classify(resource_type: str, custom: bool) -> tuple[str, str] | None:
    """(status, reason) for a resource with no pricer; None when it has one."""
    if resource_type in PRICED_TYPES:
        return None
    if not custom:
        return "component", COMPONENT_REASON
    if resource_type.startswith("pulumi:providers:"):
        return "free", PROVIDER_REASON
    if resource_type in FREE_TYPES:
        return "free", FREE_TYPES[resource_type]
    if resource_type in USAGE_BASED_TYPES:
        return "usage-based", USAGE_BASED_TYPES[resource_type]
    if resource_type.startswith("kubernetes:"):
        return "free", KUBERNETES_REASON
    return "unsupported", f"aipipe has no pricing for {resource_type}: it may cost money"
