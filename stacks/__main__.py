"""aipipe stack: GKE with CPU/GPU/TPU pools, Kubeflow Pipelines with TFX images, and the cost plumbing.

Reads and validates the stack config before any resource exists, composes the components, and
exports the outputs aipipe reads (`pulumi stack output --json`).
"""

import sys
from pathlib import Path

# Pulumi runs this file with stacks/ on sys.path; the modules import each other as `stacks.*`.
_PROJECT_DIR = str(Path(__file__).resolve().parent.parent)
if _PROJECT_DIR not in sys.path:
    sys.path.insert(0, _PROJECT_DIR)

import pulumi  # noqa: E402
import pulumi_kubernetes as k8s  # noqa: E402

from stacks.artifact_store import ArtifactStore  # noqa: E402
from stacks.cluster import Cluster  # noqa: E402
from stacks.config import load_config, read_pulumi_config  # noqa: E402
from stacks.cost_controls import CostControls  # noqa: E402
from stacks.identity import NodeIdentity, PipelineIdentity  # noqa: E402
from stacks.kubeflow import (API_HTTP_PORT, API_SERVICE, KFP_NAMESPACE, MLMD_PORT, MLMD_SERVICE,  # noqa: E402
                             UI_SERVICE, KubeflowPipelines)
from stacks.labels import cost_labels  # noqa: E402
from stacks.network import Network  # noqa: E402
from stacks.node_pools import NodePools  # noqa: E402
from stacks.tfx_images import TfxImagePrepull  # noqa: E402

cfg = load_config(read_pulumi_config(), project=pulumi.Config("gcp").get("project"), stack=pulumi.get_stack())
for warning in cfg.warnings:
    pulumi.log.warn(warning)
labels = cost_labels(cfg.stack, cfg.team, cfg.cost_center)

costs = CostControls("cost-controls", cfg, labels)
network = Network("network", cfg)
node_identity = NodeIdentity("node-identity", cfg)
cluster = Cluster("cluster", cfg, network, labels,
                  usage_metering_dataset=costs.usage_metering.dataset_id if costs.usage_metering else None)
pools = NodePools("node-pools", cfg, cluster.cluster, node_identity.account.email, labels,
                  after=[node_identity])
pipeline_identity = PipelineIdentity("pipeline-identity", cfg, cluster.cluster)
store = ArtifactStore("artifact-store", cfg, pipeline_identity.runner.member, pipeline_identity.ui.member, labels)

kubernetes = k8s.Provider("gke", kubeconfig=cluster.kubeconfig, enable_server_side_apply=True,
                          opts=pulumi.ResourceOptions(depends_on=[cluster.cluster]))
in_cluster = pulumi.ResourceOptions(providers=[kubernetes])
KubeflowPipelines("kfp", version=cfg.kfp_version, pipeline_root=store.pipeline_root,
                  runner_email=pipeline_identity.runner.email, ui_email=pipeline_identity.ui.email,
                  labels=labels, after=[pools.system], metadata=cfg.kfp_metadata, opts=in_cluster)
# Cost labels aipipe/pipeline|step|run on every KFP run pod (issue 15; Kubernetes >= 1.36).
from stacks.pod_cost_labels import PodCostLabels  # noqa: E402
PodCostLabels("pod-cost-labels", namespaces=[KFP_NAMESPACE], labels=labels, opts=in_cluster)
if cfg.tfx_pools:
    TfxImagePrepull("tfx-prepull", image=cfg.tfx_image, pools=list(cfg.tfx_pools), labels=labels, opts=in_cluster)

pulumi.export("project", cfg.project)
pulumi.export("region", cfg.region)
pulumi.export("clusterName", cluster.cluster.name)
pulumi.export("clusterLocation", cfg.location)
pulumi.export("getCredentials", cluster.cluster.name.apply(
    lambda name: f"gcloud container clusters get-credentials {name} --location {cfg.location} "
                 f"--project {cfg.project}"))
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("nodePools", list(cfg.pool_names))
pulumi.export("nodeServiceAccount", node_identity.account.email)
pulumi.export("kfpNamespace", KFP_NAMESPACE)
pulumi.export("kfpVersion", cfg.kfp_version)
pulumi.export("kfpUiPortForward", f"kubectl port-forward -n {KFP_NAMESPACE} svc/{UI_SERVICE} 8080:80")
if cfg.mlmd:  # KFP <= 2.17: lineage in ML Metadata (`aipipe lineage snapshot --mlmd grpc://...`)
    pulumi.export("mlmdAddress", f"{MLMD_SERVICE}.{KFP_NAMESPACE}.svc.cluster.local:{MLMD_PORT}")
    pulumi.export("mlmdPortForward",
                  f"kubectl port-forward -n {KFP_NAMESPACE} svc/{MLMD_SERVICE} {MLMD_PORT}:{MLMD_PORT}")
else:  # a KFP without MLMD: lineage from its API server (`aipipe lineage snapshot --kfp http://...`)
    pulumi.export("kfpApiAddress", f"http://{API_SERVICE}.{KFP_NAMESPACE}.svc.cluster.local:{API_HTTP_PORT}")
    pulumi.export("kfpApiPortForward",
                  f"kubectl port-forward -n {KFP_NAMESPACE} svc/{API_SERVICE} {API_HTTP_PORT}:{API_HTTP_PORT}")
pulumi.export("kfpMetadata", cfg.kfp_metadata)
pulumi.export("pipelineRootBucket", store.bucket.name)
pulumi.export("pipelineRoot", store.pipeline_root)
pulumi.export("pipelineRunnerServiceAccount", pipeline_identity.runner.email)
pulumi.export("tfxImage", cfg.tfx_image)
pulumi.export("billingExportDataset",
              costs.billing_export.dataset_id.apply(lambda d: f"{cfg.project}.{d}") if costs.billing_export else None)
pulumi.export("usageMeteringDataset",
              costs.usage_metering.dataset_id.apply(lambda d: f"{cfg.project}.{d}") if costs.usage_metering else None)
pulumi.export("budget", costs.budget.name if costs.budget else None)
pulumi.export("costLabels", labels)
