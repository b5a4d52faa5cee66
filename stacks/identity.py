"""Google service accounts: a least-privilege node identity, and Workload Identity for KFP.

Nodes never run as the Compute Engine default account (Editor on the project in many orgs): they get
an account holding only what kubelet, logging, monitoring and image pulls need. Pipeline Pods reach
Google APIs as their own Google account through Workload Identity, never through the node's.
"""

from __future__ import annotations

import hashlib

import pulumi
import pulumi_gcp as gcp

from stacks.config import StackConfig
from stacks.kubeflow import KFP_NAMESPACE, PIPELINE_RUNNER_KSA, UI_KSA

NODE_ROLES = (
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/artifactregistry.reader",
)


def account_id(cluster_name: str, suffix: str) -> str:
    """A service account ID (6-30 chars) unique per cluster; long cluster names keep a short hash."""
    room = 30 - len(suffix) - 1
    base = cluster_name
    if len(base) > room:
        digest = hashlib.sha256(cluster_name.encode()).hexdigest()[:4]
        base = f"{cluster_name[:room - 5].rstrip('-')}-{digest}"
    return f"{base}-{suffix}"


class NodeIdentity(pulumi.ComponentResource):
    account: gcp.serviceaccount.Account

    def __init__(self, name: str, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aipipe:iam:NodeIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.account = gcp.serviceaccount.Account(
            "nodes", project=cfg.project, account_id=account_id(cfg.cluster_name, "nodes"),
            display_name=f"GKE nodes of {cfg.cluster_name}",
            description="Least-privilege node identity (logs, metrics, image pulls); used instead of the "
                        "Compute Engine default service account.",
            opts=child)
        self.roles = [
            gcp.projects.IAMMember(
                f"nodes-{role.split('/')[1].replace('.', '-')}", project=cfg.project, role=role,
                member=self.account.member, opts=child)
            for role in NODE_ROLES
        ]
        self.register_outputs({"email": self.account.email})


def workload_identity_member(project: str, namespace: str, ksa: str) -> str:
    return f"serviceAccount:{project}.svc.id.goog[{namespace}/{ksa}]"


class PipelineIdentity(pulumi.ComponentResource):
    """Google accounts for the KFP pipeline runner and UI, bound to their Kubernetes accounts.

    Needs the cluster: the identity pool <project>.svc.id.goog exists only once Workload Identity is on.
    """

    runner: gcp.serviceaccount.Account
    ui: gcp.serviceaccount.Account

    def __init__(self, name: str, cfg: StackConfig, cluster: pulumi.Resource,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("aipipe:iam:PipelineIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        after_cluster = pulumi.ResourceOptions(parent=self, depends_on=[cluster])

        self.runner = gcp.serviceaccount.Account(
            "kfp-runner", project=cfg.project, account_id=account_id(cfg.cluster_name, "kfp-runner"),
            display_name=f"KFP pipeline runner of {cfg.cluster_name}",
            description=f"Workload Identity of {KFP_NAMESPACE}/{PIPELINE_RUNNER_KSA}: pipeline steps write "
                        "the pipeline root with it.",
            opts=child)
        self.ui = gcp.serviceaccount.Account(
            "kfp-ui", project=cfg.project, account_id=account_id(cfg.cluster_name, "kfp-ui"),
            display_name=f"KFP UI of {cfg.cluster_name}",
            description=f"Workload Identity of {KFP_NAMESPACE}/{UI_KSA}: reads artifacts for the UI.",
            opts=child)
        for account, ksa in ((self.runner, PIPELINE_RUNNER_KSA), (self.ui, UI_KSA)):
            gcp.serviceaccount.IAMMember(
                f"{ksa}-workload-identity", service_account_id=account.name,
                role="roles/iam.workloadIdentityUser",
                member=workload_identity_member(cfg.project, KFP_NAMESPACE, ksa), opts=after_cluster)
        self.register_outputs({"runner": self.runner.email, "ui": self.ui.email})
