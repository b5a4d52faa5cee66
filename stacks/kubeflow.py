"""Kubeflow Pipelines (standalone, single user) from the upstream kustomize manifests, pinned.

Installed as two `kustomize.v2.Directory` components on the upstream repository at a release tag:
`cluster-scoped-resources` (CRDs and the `kubeflow` namespace) first, then `env/platform-agnostic`
(never `env/dev`: from 2.14.0 it overrides eleven KFP images to `:master`, and it adds the inverse
proxy agent, which runs with hostNetwork). Why remote kustomize rather than vendored YAML: the
manifests stay byte-for-byte upstream, a version bump is one config value, and KFP 2.14+ itself
references Argo's manifests remotely, so a vendored copy would still need GitHub at build time.
The cost: `pulumi preview` needs GitHub access (and git), and under Pulumi's mocks the two components
are captured with their inputs but without the objects kustomize would build.

What this stack adds on top, as its own resources: the pipeline root on GCS (`kfp-launcher`
ConfigMap), Workload Identity annotations on the runner and UI service accounts, a NetworkPolicy
that keeps the lineage endpoint reachable from Pods only, and a transform that keeps every KFP
Service inside the cluster (the UI stays ClusterIP; users reach it with `kubectl port-forward`).

The lineage endpoint follows the release: up to 2.17 it is the MLMD gRPC server (`metadata = "mlmd"`);
the releases after 2.17 drop ML Metadata (kubeflow/pipelines #13986) and keep tasks and artifacts in
the API server (`metadata = "none"`), which `aipipe lineage snapshot --kfp` reads.
"""

from __future__ import annotations

from typing import Sequence

import pulumi
import pulumi_kubernetes as k8s

KFP_NAMESPACE = "kubeflow"
PIPELINE_RUNNER_KSA = "pipeline-runner"
UI_KSA = "ml-pipeline-ui"
UI_SERVICE = "ml-pipeline-ui"
MLMD_SERVICE = "metadata-grpc-service"
MLMD_PORT = 8080
MLMD_POD_SELECTOR = {"component": "metadata-grpc-server"}
API_SERVICE = "ml-pipeline"
API_HTTP_PORT = 8888
API_GRPC_PORT = 8887
API_POD_SELECTOR = {"app": "ml-pipeline"}
MANIFESTS = "github.com/kubeflow/pipelines/manifests/kustomize"
WORKLOAD_IDENTITY_ANNOTATION = "iam.gke.io/gcp-service-account"


def manifest_url(path: str, version: str) -> str:
    return f"{MANIFESTS}/{path}?ref={version}"


def keep_services_in_cluster(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """Transform for the KFP objects: no Service of the install may be exposed outside the cluster.

    KFP standalone has no authentication; a LoadBalancer or NodePort on any of its Services would
    publish an open UI / API / MLMD. Upstream ships ClusterIP; this keeps it so whatever upstream does.
    """
    if args.type_ != "kubernetes:core/v1:Service":
        return None
    spec = dict(args.props.get("spec") or {})
    if spec.get("type", "ClusterIP") in ("ClusterIP", "None"):
        return None
    spec["type"] = "ClusterIP"
    for exposed in ("loadBalancerIP", "loadBalancerSourceRanges", "externalTrafficPolicy",
                    "healthCheckNodePort", "allocateLoadBalancerNodePorts", "loadBalancerClass"):
        spec.pop(exposed, None)
    spec["ports"] = [{k: v for k, v in dict(port).items() if k != "nodePort"} for port in spec.get("ports") or []]
    props = dict(args.props)
    props["spec"] = spec
    return pulumi.ResourceTransformResult(props=props, opts=args.opts)


class KubeflowPipelines(pulumi.ComponentResource):
    install: k8s.kustomize.v2.Directory

    def __init__(self, name: str, *, version: str, pipeline_root: pulumi.Input[str],
                 runner_email: pulumi.Input[str], ui_email: pulumi.Input[str], labels: dict[str, str],
                 after: Sequence[pulumi.Resource] = (), metadata: str = "mlmd",
                 opts: pulumi.ResourceOptions | None = None):
        """`after`: what must exist first (the pool KFP runs on); children do not inherit depends_on."""
        super().__init__("aipipe:kfp:KubeflowPipelines", name, None, opts)

        # CRDs and the namespace first: the namespaced install has custom resources of those kinds.
        cluster_scoped = k8s.kustomize.v2.Directory(
            "kfp-cluster-scoped", directory=manifest_url("cluster-scoped-resources", version),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(after), transforms=[keep_services_in_cluster]))
        self.install = k8s.kustomize.v2.Directory(
            "kfp-platform-agnostic", directory=manifest_url("env/platform-agnostic", version),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster_scoped],
                                        transforms=[keep_services_in_cluster]))

        after_install = pulumi.ResourceOptions(parent=self, depends_on=[self.install])
        # The version annotation makes a KFP upgrade re-apply these patches after the new manifests.
        patch_annotations = {"aipipe.dev/kfp-version": version}
        for ksa, email in ((PIPELINE_RUNNER_KSA, runner_email), (UI_KSA, ui_email)):
            k8s.core.v1.ServiceAccountPatch(
                f"{ksa}-workload-identity",
                metadata={"name": ksa, "namespace": KFP_NAMESPACE,
                          "annotations": {WORKLOAD_IDENTITY_ANNOTATION: email, **patch_annotations}},
                opts=after_install)
        # The KFP v2 driver reads the default pipeline root from this ConfigMap at each run.
        k8s.core.v1.ConfigMapPatch(
            "kfp-launcher-pipeline-root",
            metadata={"name": "kfp-launcher", "namespace": KFP_NAMESPACE,
                      # The manifests own defaultPipelineRoot (a placeholder); this patch takes it over.
                      "annotations": {"pulumi.com/patchForce": "true", **patch_annotations}},
            data={"defaultPipelineRoot": pipeline_root},
            opts=after_install)
        if metadata == "mlmd":
            policy_name, selector, ports = "mlmd-in-cluster-only", MLMD_POD_SELECTOR, [MLMD_PORT]
        else:  # no MLMD: the API server holds the lineage (and serves `--kfp`)
            policy_name, selector, ports = "kfp-api-in-cluster-only", API_POD_SELECTOR, [API_HTTP_PORT, API_GRPC_PORT]
        k8s.networking.v1.NetworkPolicy(
            policy_name,
            metadata={"name": f"aipipe-{policy_name}", "namespace": KFP_NAMESPACE, "labels": labels},
            spec={
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Ingress"],
                # Any Pod in any namespace (pipeline steps, the aipipe lineage reader); nothing from
                # outside the Pod network. `kubectl port-forward` goes through the kubelet and still works.
                "ingress": [{"from": [{"namespaceSelector": {}}],
                             "ports": [{"protocol": "TCP", "port": port} for port in ports]}],
            },
            opts=after_install)
        self.register_outputs({"namespace": KFP_NAMESPACE, "version": version, "metadata": metadata})
