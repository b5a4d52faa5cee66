"""Security properties of both example stacks, asserted on the resources the program registers."""

from __future__ import annotations

import ipaddress

import pytest

from stacks.identity import NODE_ROLES

CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
ACCOUNT = "gcp:serviceaccount/account:Account"
PROJECT_IAM = "gcp:projects/iAMMember:IAMMember"


def cluster_inputs(run) -> dict:
    (cluster,) = run.of_type(CLUSTER)
    return cluster.inputs


def project_of(run) -> str:
    return run.config["gcp:project"]


def test_nodes_are_private_and_the_control_plane_is_not_open(example):
    cluster = cluster_inputs(example)
    private = cluster["privateClusterConfig"]
    assert private["enablePrivateNodes"] is True
    assert ipaddress.ip_network(private["masterIpv4CidrBlock"]).prefixlen == 28
    blocks = cluster["masterAuthorizedNetworksConfig"]["cidrBlocks"]
    assert blocks, "the control plane must be limited to listed networks"
    assert all(ipaddress.ip_network(b["cidrBlock"]).prefixlen > 0 for b in blocks)
    assert cluster["masterAuthorizedNetworksConfig"]["gcpPublicCidrsAccessEnabled"] is False
    assert cluster["masterAuth"]["clientCertificateConfig"]["issueClientCertificate"] is False
    assert cluster["enableLegacyAbac"] is False


def test_cluster_uses_workload_identity_dataplane_v2_shielded_nodes_and_a_release_channel(example):
    cluster = cluster_inputs(example)
    assert cluster["workloadIdentityConfig"]["workloadPool"] == f"{project_of(example)}.svc.id.goog"
    assert cluster["datapathProvider"] == "ADVANCED_DATAPATH"
    assert cluster["enableShieldedNodes"] is True
    assert cluster["releaseChannel"]["channel"] == {"dev": "REGULAR", "prod": "STABLE"}[example.stack]
    assert cluster["networkingMode"] == "VPC_NATIVE"


def test_default_pool_is_removed(example):
    cluster = cluster_inputs(example)
    assert cluster["removeDefaultNodePool"] is True
    assert cluster["initialNodeCount"] >= 1  # GKE needs one to create the cluster
    assert "nodeConfig" not in cluster


def test_deletion_protection_is_on_for_prod_and_off_for_dev(stack_runs):
    assert cluster_inputs(stack_runs["prod"])["deletionProtection"] is True
    assert cluster_inputs(stack_runs["dev"])["deletionProtection"] is False


def test_private_nodes_reach_public_registries_through_cloud_nat(example):
    (subnet,) = example.of_type("gcp:compute/subnetwork:Subnetwork")
    (router,) = example.of_type("gcp:compute/router:Router")
    (nat,) = example.of_type("gcp:compute/routerNat:RouterNat")
    (network,) = example.of_type("gcp:compute/network:Network")
    assert network.inputs["autoCreateSubnetworks"] is False
    assert subnet.inputs["privateIpGoogleAccess"] is True  # gcr.io / Artifact Registry / GCS
    assert router.inputs["network"] == subnet.inputs["network"]
    assert nat.inputs["router"] == router.inputs["name"]
    assert nat.inputs["region"] == subnet.inputs["region"] == router.inputs["region"]
    covered = {s["name"]: s["sourceIpRangesToNats"] for s in nat.inputs["subnetworks"]}
    subnet_id = cluster_inputs(example)["subnetwork"]
    # Pod IPs come from the secondary range: NAT must cover all ranges of the node subnet.
    assert covered == {subnet_id: ["ALL_IP_RANGES"]}


def test_nodes_run_as_a_least_privilege_account_not_the_compute_default(example):
    (nodes,) = [a for a in example.of_type(ACCOUNT) if a.inputs["accountId"].endswith("-nodes")]
    email = f"{nodes.inputs['accountId']}@{project_of(example)}.iam.gserviceaccount.com"
    pools = example.of_type(NODE_POOL)
    assert pools
    for pool in pools:
        assert pool.inputs["nodeConfig"]["serviceAccount"] == email, pool.name
    grants = {(m.inputs["role"], m.inputs["member"]) for m in example.of_type(PROJECT_IAM)}
    assert grants == {(role, f"serviceAccount:{email}") for role in NODE_ROLES}
    assert set(NODE_ROLES) == {
        "roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/monitoring.viewer",
        "roles/stackdriver.resourceMetadata.writer", "roles/artifactregistry.reader"}


def test_node_pools_wait_for_the_node_account_roles(example):
    roles = {m.urn for m in example.of_type(PROJECT_IAM)}
    for pool in example.of_type(NODE_POOL):
        assert roles <= set(example.dependencies[pool.urn]), pool.name


def test_every_pool_is_shielded_with_secure_boot_and_hides_node_metadata(example):
    for pool in example.of_type(NODE_POOL):
        node = pool.inputs["nodeConfig"]
        assert node["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
        assert node["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}, pool.name
        assert node["imageType"] == "COS_CONTAINERD"
        assert node["metadata"]["disable-legacy-endpoints"] == "true"
        assert pool.inputs["management"] == {"autoRepair": True, "autoUpgrade": True}


def test_kfp_runs_with_workload_identity_bound_to_its_own_accounts(example):
    project = project_of(example)
    (cluster,) = example.of_type(CLUSTER)
    bindings = {b.inputs["member"]: b for b in example.of_type("gcp:serviceaccount/iAMMember:IAMMember")}
    accounts = {a.name: a for a in example.of_type(ACCOUNT)}
    patches = {p.inputs["metadata"]["name"]: p for p in example.of_type("kubernetes:core/v1:ServiceAccountPatch")}
    for ksa, account in (("pipeline-runner", "kfp-runner"), ("ml-pipeline-ui", "kfp-ui")):
        binding = bindings[f"serviceAccount:{project}.svc.id.goog[kubeflow/{ksa}]"]
        assert binding.inputs["role"] == "roles/iam.workloadIdentityUser"
        email = f"{accounts[account].inputs['accountId']}@{project}.iam.gserviceaccount.com"
        assert binding.inputs["serviceAccountId"] == f"projects/{project}/serviceAccounts/{email}"
        # The identity pool exists only once the cluster has Workload Identity.
        assert cluster.urn in example.dependencies[binding.urn]
        patch = patches[ksa]
        assert patch.inputs["metadata"]["namespace"] == "kubeflow"
        assert patch.inputs["metadata"]["annotations"]["iam.gke.io/gcp-service-account"] == email


def test_pipeline_root_bucket_is_private_and_only_the_kfp_accounts_touch_it(example):
    (bucket,) = example.of_type("gcp:storage/bucket:Bucket")
    assert bucket.inputs["uniformBucketLevelAccess"] is True
    assert bucket.inputs["publicAccessPrevention"] == "enforced"
    grants = {(g.inputs["role"], g.inputs["member"].split("@")[0]) for g in
              example.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")}
    cluster_name = cluster_inputs(example)["name"]
    assert grants == {("roles/storage.objectAdmin", f"serviceAccount:{cluster_name}-kfp-runner"),
                      ("roles/storage.objectViewer", f"serviceAccount:{cluster_name}-kfp-ui")}
    for grant in example.of_type("gcp:storage/bucketIAMMember:BucketIAMMember"):
        assert grant.inputs["bucket"] == bucket.inputs["name"]


def test_no_resource_of_the_stack_exposes_a_service_outside_the_cluster(example):
    for resource in example.resources:
        if resource.type == "kubernetes:core/v1:Service":
            assert resource.inputs.get("spec", {}).get("type", "ClusterIP") == "ClusterIP", resource.urn


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "not-a-cidr"])
def test_open_or_malformed_control_plane_networks_are_refused(cidr):
    from stack_helpers import BASE_CONFIG, raw_config

    from aipipe_ops.errors import ConfigError
    from stacks.config import load_config

    config = dict(BASE_CONFIG, **{"aipipe:masterAuthorizedNetworks": ["192.0.2.0/24", cidr]})
    with pytest.raises(ConfigError, match=r"aipipe:masterAuthorizedNetworks\[1\]"):
        load_config(raw_config(config), project=config["gcp:project"], stack="test")
