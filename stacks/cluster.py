"""The GKE Standard cluster: private, Workload Identity, Dataplane V2, cost allocation on.

Its default node pool is removed at creation; node_pools.py adds the pools. The kubeconfig it exports
authenticates with gke-gcloud-auth-plugin (kubectl >= 1.26 has no built-in gcp auth), so no token is
stored in the Pulumi state.
"""

from __future__ import annotations

import textwrap

import pulumi
import pulumi_gcp as gcp

from stacks.config import StackConfig
from stacks.network import PODS_RANGE, SERVICES_RANGE, Network


def kubeconfig(name: str, endpoint: str, ca_certificate: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: v1
        kind: Config
        clusters:
        - name: {name}
          cluster:
            certificate-authority-data: {ca_certificate}
            server: https://{endpoint}
        contexts:
        - name: {name}
          context:
            cluster: {name}
            user: {name}
        current-context: {name}
        users:
        - name: {name}
          user:
            exec:
              apiVersion: client.authentication.k8s.io/v1beta1
              command: gke-gcloud-auth-plugin
              installHint: Install gke-gcloud-auth-plugin (gcloud components install gke-gcloud-auth-plugin)
              provideClusterInfo: true
        """)


class Cluster(pulumi.ComponentResource):
    cluster: gcp.container.Cluster
    kubeconfig: pulumi.Output[str]

    def __init__(self, name: str, cfg: StackConfig, network: Network, labels: dict[str, str],
                 usage_metering_dataset: pulumi.Input[str] | None = None,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("aipipe:gke:Cluster", name, None, opts)

        usage_export = None
        if usage_metering_dataset is not None:
            usage_export = {
                "bigquery_destination": {"dataset_id": usage_metering_dataset},
                "enable_resource_consumption_metering": True,
                # Egress metering runs a DaemonSet on every node; the billing export already has egress.
                "enable_network_egress_metering": False,
            }

        self.cluster = gcp.container.Cluster(
            "gke", name=cfg.cluster_name, project=cfg.project, location=cfg.location,
            description=f"aipipe stack {cfg.stack}: Kubeflow Pipelines + TFX",
            network=network.network.id, subnetwork=network.subnetwork.id,
            networking_mode="VPC_NATIVE",
            ip_allocation_policy={"cluster_secondary_range_name": PODS_RANGE,
                                  "services_secondary_range_name": SERVICES_RANGE},
            # Separately managed pools: GKE needs one node to create the cluster, then drops the pool.
            remove_default_node_pool=True, initial_node_count=1,
            release_channel={"channel": cfg.release_channel},
            # MutatingAdmissionPolicy (stacks/pod_cost_labels.py) is GA from 1.36; config.py refuses older.
            min_master_version=cfg.min_master_version,
            workload_identity_config={"workload_pool": f"{cfg.project}.svc.id.goog"},
            private_cluster_config={"enable_private_nodes": True, "enable_private_endpoint": False,
                                    "master_ipv4_cidr_block": cfg.master_cidr},
            master_authorized_networks_config={
                "cidr_blocks": [{"cidr_block": cidr, "display_name": f"allowed-{i}"}
                                for i, cidr in enumerate(cfg.master_authorized_networks)],
                "gcp_public_cidrs_access_enabled": False,
            },
            master_auth={"client_certificate_config": {"issue_client_certificate": False}},
            enable_shielded_nodes=True, enable_legacy_abac=False,
            datapath_provider="ADVANCED_DATAPATH",
            addons_config={"gce_persistent_disk_csi_driver_config": {"enabled": True}},
            cost_management_config={"enabled": True},
            resource_usage_export_config=usage_export,
            deletion_protection=cfg.deletion_protection,
            resource_labels=labels,
            opts=pulumi.ResourceOptions(parent=self))

        self.kubeconfig = pulumi.Output.all(
            self.cluster.name, self.cluster.endpoint, self.cluster.master_auth.cluster_ca_certificate,
        ).apply(lambda args: kubeconfig(f"{cfg.project}_{cfg.location}_{args[0]}", args[1], args[2]))
        self.register_outputs({"name": self.cluster.name, "endpoint": self.cluster.endpoint})
