"""stacks/config.py on its own: defaults, derived names, zonal vs regional, value checks."""

from __future__ import annotations

from decimal import Decimal

import pytest
from stack_helpers import BASE_CONFIG, raw_config

from aipipe_ops.errors import ConfigError
from stacks.config import StackConfigError, load_config
from stacks.identity import account_id
from stacks.labels import label_value, valid_label_value


def load(**overrides):
    config = dict(BASE_CONFIG, **overrides)
    return load_config(raw_config(config), project=config["gcp:project"], stack=config.pop("stack", "dev"))


def test_defaults_give_a_regional_cluster_with_a_small_system_pool():
    cfg = load()
    assert (cfg.region, cfg.zonal, cfg.cluster_name) == ("us-central1", False, "aipipe-dev")
    assert cfg.system_pool.machine_type == "e2-standard-4"
    assert (cfg.system_pool.min_nodes, cfg.system_pool.max_nodes) == (1, 3)
    assert cfg.gpu_pools == () and cfg.tpu_pools == ()
    assert cfg.deletion_protection is True  # protected unless a stack says otherwise
    assert cfg.pipeline_root_bucket == "acme-ml-test-aipipe-dev-pipeline-root"
    assert cfg.tfx_image == "gcr.io/tfx-oss-public/tfx:1.16.0"
    assert cfg.budget is None


def test_a_zone_gives_a_zonal_cluster():
    cfg = load(**{"aipipe:location": "europe-west4-a"})
    assert (cfg.region, cfg.zonal) == ("europe-west4", True)


def test_budget_amount_is_exact():
    cfg = load(**{"aipipe:budgetAmount": "1234.56", "aipipe:billingAccount": "012345-6789AB-CDEF01",
                  "aipipe:budgetCurrency": "EUR"})
    assert cfg.budget.amount == Decimal("1234.56") and cfg.budget.currency == "EUR"


def test_gpu_count_defaults_to_what_the_machine_carries_and_machine_to_the_gpu_default():
    cfg = load(**{"aipipe:gpuPools": [{"name": "l4", "gpuType": "nvidia-l4", "machineType": "g2-standard-48"},
                                      {"name": "t4", "gpuType": "nvidia-tesla-t4"}]})
    assert [(p.machine_type, p.gpu_count) for p in cfg.gpu_pools] == [("g2-standard-48", 4), ("n1-standard-8", 1)]
    assert cfg.tfx_pools == ("system", "l4", "t4")


@pytest.mark.parametrize("key, value, message", [
    ("aipipe:location", "mars-base", "neither a zone"),
    ("aipipe:releaseChannel", "NIGHTLY", "allowed: RAPID, REGULAR, STABLE, EXTENDED"),
    ("aipipe:minMasterVersion", "1.35", "older than 1.36"),
    ("aipipe:minMasterVersion", "1.35.4-gke.1000", "older than 1.36"),
    ("aipipe:minMasterVersion", "newest", "not a GKE version"),
    ("aipipe:team", "ML Platform", "is not a label value"),
    ("aipipe:masterCidr", "172.16.0.0/24", "must be a private /28"),
    ("aipipe:podsCidr", "10.10.0.0/16", "overlaps aipipe:subnetCidr"),
    ("aipipe:kfpVersion", "master", "branches such as master float"),
    ("aipipe:kfpVersion", "1.8.5", "2.x release tag"),
    ("aipipe:tfxVersion", "latest", "not a TFX release"),
    ("aipipe:tfxImageRepository", "gcr.io/tfx-oss-public/tfx:1.16.0", "without a tag"),
    ("aipipe:artifactRetentionDays", "0", "at least 1 day"),
    ("aipipe:artifactRetentionDays", "thirty", "expected an integer"),
    ("aipipe:deletionProtection", "yes", "expected true or false"),
    ("aipipe:billingAccount", "my-account", "not a billing account ID"),
    ("aipipe:budgetAmount", "-5", "not a positive amount"),
    ("aipipe:usageMeteringDataset", "gke-usage", "not a BigQuery dataset ID"),
    ("aipipe:clusterName", "A" * 41, "not a valid GKE cluster name"),
    ("aipipe:gpuPools", "{not json", "expected a list"),
    ("aipipe:systemPool", [1, 2], "expected a mapping"),
])
def test_bad_values_name_their_key(key, value, message):
    with pytest.raises(ConfigError) as error:
        load(**{key: value})
    assert f"{key}: " in str(error.value)
    assert message in str(error.value)


def test_required_keys_say_how_to_set_them():
    config = {k: v for k, v in BASE_CONFIG.items() if k not in ("aipipe:team", "aipipe:location")}
    with pytest.raises(ConfigError) as error:
        load_config(raw_config(config), project=None, stack="dev")
    message = str(error.value)
    for key in ("aipipe:team", "aipipe:location", "gcp:project"):
        assert f"{key}: not set" in message
    assert "pulumi config set aipipe:team" in message


def test_a_derived_bucket_name_that_is_too_long_points_at_the_key_to_set():
    with pytest.raises(ConfigError, match="aipipe:pipelineRootBucket: .*derived from gcp:project"):
        load(**{"aipipe:clusterName": "a-very-long-cluster-name-for-the-ml-team"})


def test_stack_config_errors_print_without_a_traceback_under_pulumi():
    import pulumi

    assert issubclass(StackConfigError, ConfigError) and issubclass(StackConfigError, pulumi.RunError)


@pytest.mark.parametrize("stack, value", [("dev", "dev"), ("Prod.EU", "prod-eu"), ("_x_", "x")])
def test_stack_names_become_valid_label_values(stack, value):
    assert label_value(stack) == value and valid_label_value(value)


@pytest.mark.parametrize("cluster", ["aipipe-dev", "aipipe-a-rather-long-cluster-name-x"])
def test_service_account_ids_fit_google_limits(cluster):
    for suffix in ("nodes", "kfp-runner", "kfp-ui"):
        account = account_id(cluster, suffix)
        assert 6 <= len(account) <= 30 and account.endswith(suffix) and account[0].isalpha()


def test_long_cluster_names_that_share_a_prefix_get_distinct_service_accounts():
    first, second = "aipipe-a-rather-long-cluster-1", "aipipe-a-rather-long-cluster-2"
    assert account_id(first, "kfp-runner") != account_id(second, "kfp-runner")


@pytest.mark.parametrize("version", ["1.36", "1.36.2-gke.1234000", "1.37.0", "2.0", "latest"])
def test_the_minimum_gke_version_is_at_least_the_admission_policy_ga(version):
    assert load(**{"aipipe:minMasterVersion": version}).min_master_version == version
    assert load().min_master_version == "1.36"  # the default: MutatingAdmissionPolicy GA


def test_an_old_gke_version_is_refused_in_one_line_naming_the_key():
    with pytest.raises(StackConfigError) as error:
        load(**{"aipipe:minMasterVersion": "1.34"})
    message = str(error.value)
    assert "\n" not in message and message.startswith("aipipe:minMasterVersion: 1.34 is older than 1.36")


def test_a_misspelt_version_key_names_the_known_one():
    with pytest.raises(StackConfigError) as error:
        load(**{"aipipe:minMasterVersoin": "1.36"})
    assert "did you mean aipipe:minMasterVersion?" in str(error.value)


def test_the_system_pool_takes_a_cluster_s_own_name():
    """An existing cluster's CPU pool name (the bill's goog-k8s-node-pool-name), checked like any pool name."""
    assert load().system_pool.name == "system"
    assert load(**{"aipipe:systemPool": {"name": "cpu-pool"}}).system_pool.name == "cpu-pool"
    with pytest.raises(ConfigError, match=r"aipipe:systemPool\.name: 'CPU pool' is not a valid node pool name"):
        load(**{"aipipe:systemPool": {"name": "CPU pool"}})
    gpu = {"name": "cpu-pool", "gpuType": "nvidia-l4"}
    with pytest.raises(ConfigError, match=r"aipipe:gpuPools\[0\]\.name: 'cpu-pool' is already used by another pool"):
        load(**{"aipipe:systemPool": {"name": "cpu-pool"}, "aipipe:gpuPools": [gpu]})
