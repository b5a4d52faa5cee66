"""The VPC the private cluster lives in: a subnet with Pod/Service ranges, and Cloud NAT.

Nodes have no public IPs. Google APIs and gcr.io / Artifact Registry are reached through Private
Google Access on the subnet; KFP's images on ghcr.io, quay.io and docker.io need Cloud NAT. NAT covers
every range of the subnet (Pods pull nothing themselves, but pipeline steps call out from Pod IPs).
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from stacks.config import StackConfig

PODS_RANGE = "pods"
SERVICES_RANGE = "services"


class Network(pulumi.ComponentResource):
    network: gcp.compute.Network
    subnetwork: gcp.compute.Subnetwork

    def __init__(self, name: str, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aipipe:gke:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = cfg.cluster_name

        self.network = gcp.compute.Network(
            "vpc", name=f"{prefix}-vpc", project=cfg.project, auto_create_subnetworks=False,
            routing_mode="REGIONAL", description=f"aipipe stack {cfg.stack}: private GKE nodes", opts=child)
        self.subnetwork = gcp.compute.Subnetwork(
            "nodes", name=f"{prefix}-nodes", project=cfg.project, region=cfg.region, network=self.network.id,
            ip_cidr_range=cfg.subnet_cidr, private_ip_google_access=True,
            secondary_ip_ranges=[
                {"range_name": PODS_RANGE, "ip_cidr_range": cfg.pods_cidr},
                {"range_name": SERVICES_RANGE, "ip_cidr_range": cfg.services_cidr},
            ],
            opts=child)
        router = gcp.compute.Router(
            "router", name=f"{prefix}-router", project=cfg.project, region=cfg.region, network=self.network.id,
            opts=child)
        gcp.compute.RouterNat(
            "nat", name=f"{prefix}-nat", project=cfg.project, region=cfg.region, router=router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
            subnetworks=[{"name": self.subnetwork.id, "source_ip_ranges_to_nats": ["ALL_IP_RANGES"]}],
            # Dynamic ports: a node pulling many image layers in parallel does not run out of NAT ports.
            enable_dynamic_port_allocation=True, min_ports_per_vm=64, max_ports_per_vm=4096,
            enable_endpoint_independent_mapping=False,
            log_config={"enable": True, "filter": "ERRORS_ONLY"},
            opts=child)
        self.register_outputs({"network": self.network.id, "subnetwork": self.subnetwork.id})
