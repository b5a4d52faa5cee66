"""The Kubeflow Pipelines install: pinned, ordered, in-cluster only, wired to GCS and Workload Identity."""

from __future__ import annotations

import pulumi
import pytest
from stack_helpers import BASE_CONFIG, PROJECT_DIR

from aipipe_ops.pricing.plans import run_stack
from stacks.kubeflow import keep_services_in_cluster

DIRECTORY = "kubernetes:kustomize/v2:Directory"
RELEASE_TAG = "?ref=2.17.2"
MANIFESTS = "github.com/kubeflow/pipelines/manifests/kustomize"


def directories(run) -> dict[str, str]:
    return {d.name: d.inputs["directory"] for d in run.of_type(DIRECTORY)}


def test_kfp_comes_from_a_pinned_release_of_platform_agnostic_never_env_dev(example):
    dirs = directories(example)
    assert dirs == {
        "kfp-cluster-scoped": f"{MANIFESTS}/cluster-scoped-resources{RELEASE_TAG}",
        "kfp-platform-agnostic": f"{MANIFESTS}/env/platform-agnostic{RELEASE_TAG}",
    }
    for url in dirs.values():
        assert "env/dev" not in url and "master" not in url


def test_cluster_scoped_resources_come_first_and_kfp_waits_for_the_system_pool(example):
    cluster_scoped = example.resource(DIRECTORY, "kfp-cluster-scoped")
    install = example.resource(DIRECTORY, "kfp-platform-agnostic")
    system_pool = example.resource("gcp:container/nodePool:NodePool", "system")
    assert example.dependencies[install.urn] == [cluster_scoped.urn]
    assert system_pool.urn in example.dependencies[cluster_scoped.urn]
    for patch in ("kubernetes:core/v1:ServiceAccountPatch", "kubernetes:core/v1:ConfigMapPatch",
                  "kubernetes:networking.k8s.io/v1:NetworkPolicy"):
        for resource in example.of_type(patch):
            assert install.urn in example.dependencies[resource.urn], resource.urn


def test_everything_in_the_cluster_goes_through_the_gke_provider(example):
    provider = example.resource("pulumi:providers:kubernetes", "gke")
    assert "gke-gcloud-auth-plugin" in provider.inputs["kubeconfig"]  # no token in the state
    in_cluster = [r for r in example.resources if r.type.startswith("kubernetes:")]
    assert in_cluster
    for resource in in_cluster:
        assert example.providers[resource.urn] == provider.urn, resource.urn


def test_kfp_services_are_kept_in_the_cluster_by_a_transform(example):
    for name in ("kfp-cluster-scoped", "kfp-platform-agnostic"):
        registered = example.transforms[example.resource(DIRECTORY, name).urn]
        assert [f"{t.__module__}.{t.__qualname__}" for t in registered] == [
            f"{keep_services_in_cluster.__module__}.{keep_services_in_cluster.__qualname__}"]


def _transform(type_: str, props: dict):
    args = pulumi.ResourceTransformArgs(custom=True, type_=type_, name="kubeflow/x", props=props,
                                        opts=pulumi.ResourceOptions())
    return keep_services_in_cluster(args)


def test_transform_turns_a_load_balancer_or_node_port_into_cluster_ip():
    service = {"metadata": {"name": "ml-pipeline-ui"},
               "spec": {"type": "LoadBalancer", "loadBalancerSourceRanges": ["0.0.0.0/0"],
                        "ports": [{"port": 80, "targetPort": 3000, "nodePort": 31380}],
                        "selector": {"app": "ml-pipeline-ui"}}}
    result = _transform("kubernetes:core/v1:Service", service)
    assert result.props["spec"] == {"type": "ClusterIP", "ports": [{"port": 80, "targetPort": 3000}],
                                    "selector": {"app": "ml-pipeline-ui"}}
    node_port = _transform("kubernetes:core/v1:Service", {"spec": {"type": "NodePort", "ports": [{"port": 8080}]}})
    assert node_port.props["spec"]["type"] == "ClusterIP"


@pytest.mark.parametrize("type_, props", [
    ("kubernetes:core/v1:Service", {"spec": {"type": "ClusterIP", "ports": [{"port": 8080}]}}),
    ("kubernetes:core/v1:Service", {"spec": {"ports": [{"port": 8080}]}}),
    ("kubernetes:apps/v1:Deployment", {"spec": {"type": "LoadBalancer"}}),
])
def test_transform_leaves_in_cluster_services_and_other_kinds_alone(type_, props):
    assert _transform(type_, props) is None


def test_pipeline_root_is_the_stack_bucket(example):
    (bucket,) = example.of_type("gcp:storage/bucket:Bucket")
    (patch,) = example.of_type("kubernetes:core/v1:ConfigMapPatch")
    assert patch.inputs["metadata"]["name"] == "kfp-launcher"
    assert patch.inputs["metadata"]["namespace"] == "kubeflow"
    assert patch.inputs["metadata"]["annotations"]["pulumi.com/patchForce"] == "true"
    assert patch.inputs["data"] == {"defaultPipelineRoot": f"gs://{bucket.inputs['name']}/pipeline-root"}
    assert example.outputs["pipelineRoot"] == patch.inputs["data"]["defaultPipelineRoot"]


def test_mlmd_grpc_is_reachable_from_pods_only(example):
    (policy,) = example.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    spec = policy.inputs["spec"]
    assert policy.inputs["metadata"]["namespace"] == "kubeflow"
    assert spec["podSelector"] == {"matchLabels": {"component": "metadata-grpc-server"}}
    assert spec["policyTypes"] == ["Ingress"]
    # one rule: any Pod of any namespace, on the gRPC port; no ipBlock (nothing from outside the Pod network)
    assert spec["ingress"] == [{"from": [{"namespaceSelector": {}}], "ports": [{"protocol": "TCP", "port": 8080}]}]


def test_outputs_tell_aipipe_where_everything_is(example):
    outputs = example.outputs
    (cluster,) = example.of_type("gcp:container/cluster:Cluster")
    (bucket,) = example.of_type("gcp:storage/bucket:Bucket")
    assert outputs["clusterName"] == cluster.inputs["name"]
    assert outputs["clusterLocation"] == cluster.inputs["location"]
    assert outputs["kfpNamespace"] == "kubeflow"
    assert outputs["kfpVersion"] == "2.17.2"
    assert outputs["mlmdAddress"] == "metadata-grpc-service.kubeflow.svc.cluster.local:8080"
    assert outputs["kfpUiPortForward"] == "kubectl port-forward -n kubeflow svc/ml-pipeline-ui 8080:80"
    assert outputs["pipelineRootBucket"] == bucket.inputs["name"]
    assert outputs["nodePools"][0] == "system"
    assert set(outputs["nodePools"]) == {p.name for p in example.of_type("gcp:container/nodePool:NodePool")}
    assert outputs["costLabels"]["aipipe-stack"] == example.stack
    assert outputs["getCredentials"].startswith(f"gcloud container clusters get-credentials {cluster.inputs['name']} ")


def test_kfp_version_is_configuration_and_other_releases_warn():
    run = run_stack(PROJECT_DIR, config=dict(BASE_CONFIG, **{"aipipe:kfpVersion": "2.18.0"}))
    assert directories(run)["kfp-platform-agnostic"].endswith("?ref=2.18.0")
    assert any("aipipe:kfpVersion 2.18.0" in w for w in run.warnings)
    patches = run.of_type("kubernetes:core/v1:ConfigMapPatch")
    assert patches[0].inputs["metadata"]["annotations"]["aipipe.dev/kfp-version"] == "2.18.0"


def test_kfp_after_2_17_has_no_mlmd_and_exports_the_api_endpoint():
    """Issue 16 item 3: a release without ML Metadata exports the API server for `--kfp`, and the NetworkPolicy
    guards the API server instead of the (absent) MLMD gRPC server."""
    for config in ({"aipipe:kfpVersion": "2.18.0"}, {"aipipe:kfpMetadata": "none"}):
        run = run_stack(PROJECT_DIR, config=dict(BASE_CONFIG, **config))
        assert "mlmdAddress" not in run.outputs and "mlmdPortForward" not in run.outputs
        assert run.outputs["kfpApiAddress"] == "http://ml-pipeline.kubeflow.svc.cluster.local:8888"
        assert run.outputs["kfpApiPortForward"] == "kubectl port-forward -n kubeflow svc/ml-pipeline 8888:8888"
        assert run.outputs["kfpMetadata"] == "none"
        (policy,) = run.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        assert policy.name == "kfp-api-in-cluster-only"
        assert policy.inputs["spec"]["podSelector"] == {"matchLabels": {"app": "ml-pipeline"}}
        assert policy.inputs["spec"]["ingress"] == [{"from": [{"namespaceSelector": {}}], "ports": [
            {"protocol": "TCP", "port": 8888}, {"protocol": "TCP", "port": 8887}]}]


def test_mlmd_on_a_release_without_it_is_refused():
    from aipipe_ops.errors import ConfigError

    with pytest.raises(ConfigError, match=r"aipipe:kfpMetadata: mlmd: KFP 2.18.0 has no ML Metadata"):
        run_stack(PROJECT_DIR, config=dict(BASE_CONFIG, **{"aipipe:kfpVersion": "2.18.0",
                                                          "aipipe:kfpMetadata": "mlmd"}))
    with pytest.raises(ConfigError, match=r"aipipe:kfpMetadata: 'nne' is not one of mlmd, none; did you mean none\?"):
        run_stack(PROJECT_DIR, config=dict(BASE_CONFIG, **{"aipipe:kfpMetadata": "nne"}))
