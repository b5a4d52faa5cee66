"""Typed stack configuration, validated before any resource exists.

The program reads every `aipipe:` key as the string Pulumi hands it (objects and arrays as JSON),
and `load_config` turns them into a `StackConfig` or raises one error listing every problem, each
naming its key (`aipipe:gpuPools[0].gpuType`) and the values that would be accepted. Defaults live
in SETTINGS below; Pulumi.yaml declares the same keys and defaults (a test keeps them equal).
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Mapping

import pulumi

from aipipe_ops.errors import ConfigError
from aipipe_ops.gcp.accelerators import (
    GPU_DRIVER_VERSIONS,
    GPU_TYPES,
    accelerator_machine_type,
    gpu_family_of_machine,
)
from aipipe_ops.gcp.regions import GCP_REGIONS, REGION, REGION_ZONES, ZONE
from aipipe_ops.gcp.tpus import TPU_MACHINE_TYPES, TpuSlice, tpu_slice
from aipipe_ops.output import plural
from stacks.labels import label_value, valid_label_value

NAMESPACE = "aipipe"

RELEASE_CHANNELS = ("RAPID", "REGULAR", "STABLE", "EXTENDED")
# The pod cost-label policy is a MutatingAdmissionPolicy, `admissionregistration.k8s.io/v1` (GA) from Kubernetes
# 1.36 (kubernetes PR #136039): the cluster's minimum version follows.
MIN_GKE_VERSION = (1, 36)
# KFP backend release tags known to carry env/platform-agnostic pinned to release images.
KNOWN_KFP_RELEASES = ("2.0.0", "2.2.0", "2.3.0", "2.4.0", "2.4.1", "2.5.0", "2.14.0", "2.14.3",
                      "2.14.4", "2.15.0", "2.16.0", "2.16.1", "2.17.0", "2.17.1", "2.17.2")


# Regions and the zones known for them: facts of aipipe_ops/gcp (data/regions.csv, data/tpu_zones.csv).
# KFP releases without ML Metadata (tasks and artifacts live in the API server): after 2.17.
KFP_LAST_MLMD_MINOR = 17
KFP_METADATA = ("mlmd", "none")


def nearest(name: str, known, cutoff: float = 0.6) -> str:
    """`; did you mean X?` for the closest known name, or an empty string."""
    match = difflib.get_close_matches(name, list(known), n=1, cutoff=cutoff)
    if not match:
        lowered = {k.lower(): k for k in known}
        match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=cutoff)
        match = [lowered[m] for m in match]
    return f"; did you mean {match[0]}?" if match else ""


class StackConfigError(ConfigError, pulumi.RunError):
    """A ConfigError that `pulumi up` prints as a plain message (RunError suppresses the traceback)."""


@dataclass(frozen=True)
class Setting:
    key: str
    kind: str  # string | integer | boolean | array | object
    default: Any  # REQUIRED when the key has no default
    description: str

    @property
    def declared(self) -> bool:
        """Whether Pulumi.yaml can declare it: Pulumi's project config types have no objects."""
        return self.kind in ("string", "integer", "boolean") or self.key in STRING_ARRAYS


REQUIRED = object()
# Arrays of strings: Pulumi.yaml can declare these (`type: array, items: {type: string}`).
STRING_ARRAYS = ("masterAuthorizedNetworks", "warmAcceleratorPools")

SETTINGS: tuple[Setting, ...] = (
    Setting("location", "string", REQUIRED,
            "Zone (zonal cluster, e.g. us-central1-a) or region (regional cluster, e.g. us-central1)."),
    Setting("clusterName", "string", "", "GKE cluster name; empty means aipipe-<stack>."),
    Setting("releaseChannel", "string", "REGULAR", "GKE release channel: RAPID, REGULAR, STABLE or EXTENDED."),
    Setting("minMasterVersion", "string", "1.36",
            "Minimum GKE control-plane version (1.36, 1.36.2-gke.1000 or latest); at least 1.36, where the pod "
            "cost-label MutatingAdmissionPolicy is GA. The release channel must offer it."),
    Setting("deletionProtection", "boolean", True,
            "Refuse to delete the cluster (set false for throwaway stacks before `pulumi destroy`)."),
    Setting("team", "string", REQUIRED, "Value of the `team` label on every labelled resource."),
    Setting("costCenter", "string", REQUIRED, "Value of the `cost-center` label on every labelled resource."),
    Setting("masterAuthorizedNetworks", "array", REQUIRED,
            "CIDRs allowed to reach the control plane (the machine running `pulumi up` must be in one)."),
    Setting("masterCidr", "string", "172.16.0.0/28", "Private /28 for the GKE control plane."),
    Setting("subnetCidr", "string", "10.10.0.0/20", "Primary range of the node subnet."),
    Setting("podsCidr", "string", "10.16.0.0/14", "Secondary range for Pods."),
    Setting("servicesCidr", "string", "10.20.0.0/20", "Secondary range for Services."),
    Setting("systemPool", "object", {}, "The CPU pool running KFP and CPU pipeline steps (fields below)."),
    Setting("gpuPools", "array", [], "GPU node pools (fields below)."),
    Setting("tpuPools", "array", [], "TPU slice node pools (fields below)."),
    Setting("warmAcceleratorPools", "array", [],
            "GPU/TPU pools allowed to keep nodes when idle; the guardrail policy requires the others to scale to zero."),
    Setting("kfpVersion", "string", "2.17.2", "Kubeflow Pipelines release tag installed from env/platform-agnostic."),
    Setting("kfpMetadata", "string", "",
            "Where KFP keeps lineage: mlmd (ML Metadata, releases up to 2.17) or none (its API server, after 2.17); "
            "empty follows aipipe:kfpVersion."),
    Setting("tfxVersion", "string", "1.16.0", "TFX image tag pre-pulled onto the pools that run TFX steps."),
    Setting("tfxImageRepository", "string", "gcr.io/tfx-oss-public/tfx",
            "TFX image repository (mirror it into Artifact Registry for image streaming)."),
    Setting("artifactRetentionDays", "integer", 30, "Pipeline-root objects older than this are deleted."),
    Setting("pipelineRootBucket", "string", "",
            "GCS bucket for the pipeline root; empty means <project>-<cluster>-pipeline-root."),
    Setting("billingExportDataset", "string", "billing_export",
            "BigQuery dataset for the Cloud Billing export; empty creates none."),
    Setting("usageMeteringDataset", "string", "", "BigQuery dataset for GKE usage metering; empty disables it."),
    Setting("datasetLocation", "string", "US", "Location of the BigQuery datasets."),
    Setting("billingAccount", "string", "", "Billing account ID (XXXXXX-XXXXXX-XXXXXX); needed for a budget."),
    Setting("budgetAmount", "string", "", "Monthly budget amount, e.g. \"5000\"; empty creates no budget."),
    Setting("budgetCurrency", "string", "USD", "Currency of the budget amount (the billing account's currency)."),
)
SETTINGS_BY_KEY = {s.key: s for s in SETTINGS}


# Typed config ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemPool:
    name: str
    machine_type: str
    min_nodes: int
    max_nodes: int
    zones: tuple[str, ...]
    disk_size_gb: int
    disk_type: str
    prepull_tfx: bool


@dataclass(frozen=True)
class GpuPool:
    name: str
    gpu_type: str
    gpu_count: int
    machine_type: str
    min_nodes: int
    max_nodes: int
    spot: bool
    zones: tuple[str, ...]
    disk_size_gb: int
    disk_type: str | None
    driver_version: str
    prepull_tfx: bool


@dataclass(frozen=True)
class TpuPool:
    name: str
    slice: TpuSlice
    zone: str
    spot: bool
    min_slices: int
    max_slices: int
    disk_size_gb: int
    prepull_tfx: bool

    @property
    def machine_type(self) -> str:
        return self.slice.machine.machine_type


@dataclass(frozen=True)
class Budget:
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class StackConfig:
    project: str
    stack: str
    location: str
    region: str
    zonal: bool
    cluster_name: str
    release_channel: str
    deletion_protection: bool
    team: str
    cost_center: str
    master_authorized_networks: tuple[str, ...]
    master_cidr: str
    subnet_cidr: str
    pods_cidr: str
    services_cidr: str
    system_pool: SystemPool
    gpu_pools: tuple[GpuPool, ...]
    tpu_pools: tuple[TpuPool, ...]
    kfp_version: str
    tfx_version: str
    tfx_image_repository: str
    artifact_retention_days: int
    pipeline_root_bucket: str
    billing_export_dataset: str
    usage_metering_dataset: str
    dataset_location: str
    billing_account: str
    budget: Budget | None
    warm_accelerator_pools: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())
    kfp_metadata: str = "mlmd"  # mlmd | none (a KFP release that stores lineage in its API server)
    min_master_version: str = ".".join(map(str, MIN_GKE_VERSION))

    @property
    def mlmd(self) -> bool:
        return self.kfp_metadata == "mlmd"

    @property
    def tfx_image(self) -> str:
        return f"{self.tfx_image_repository}:{self.tfx_version}"

    @property
    def pool_names(self) -> tuple[str, ...]:
        return (self.system_pool.name,) + tuple(p.name for p in self.gpu_pools) + \
            tuple(p.name for p in self.tpu_pools)

    @property
    def tfx_pools(self) -> tuple[str, ...]:
        pools = [self.system_pool] + list(self.gpu_pools) + list(self.tpu_pools)
        return tuple(p.name for p in pools if p.prepull_tfx)


# Parsing -----------------------------------------------------------------------------------------

_RFC1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_BILLING_ACCOUNT = re.compile(r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$")
_DATASET_ID = re.compile(r"^[A-Za-z0-9_]{1,1024}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$")
_KFP_VERSION = re.compile(r"^2\.\d+\.\d+$")
# GKE accepts a minor ("1.36"), a patch ("1.36.2") or a full GKE version ("1.36.2-gke.1234000"), or "latest".
_GKE_VERSION = re.compile(r"^(\d+)\.(\d+)(\.\d+(-gke\.\d+)?)?$")
_TFX_VERSION = re.compile(r"^\d+\.\d+\.\d+(rc\d+)?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class _Problems:
    """Collects every problem so one run reports them all."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.messages.append(f"{key}: {message}")


def _key(name: str) -> str:
    return f"{NAMESPACE}:{name}"


def _kind_name(kind: str) -> str:
    return {"integer": "an integer", "boolean": "true or false", "array": "a list", "object": "a mapping",
            "string": "a string"}[kind]


def _decode(setting: Setting, raw: str | None, problems: _Problems) -> Any:
    """Pulumi hands the program strings; turn one into the setting's kind."""
    key = _key(setting.key)
    if raw is None:
        if setting.default is REQUIRED:
            problems.add(key, f"not set; {setting.description} "
                              f"Set it with `pulumi config set {key} ...`")
            return None
        return setting.default
    if setting.kind == "string":
        return raw
    if setting.kind == "integer":
        try:
            return int(raw)
        except ValueError:
            problems.add(key, f"expected an integer, got {raw!r}")
            return None
    if setting.kind == "boolean":
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        problems.add(key, f"expected true or false, got {raw!r}")
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        problems.add(key, f"expected {_kind_name(setting.kind)} (YAML in the stack file, or "
                          f"`pulumi config set --path`), got {raw!r}")
        return None
    expected = list if setting.kind == "array" else dict
    if not isinstance(value, expected):
        problems.add(key, f"expected {_kind_name(setting.kind)}, got {type(value).__name__}")
        return None
    return value


class _Fields:
    """Reads the fields of one config object (a pool), reporting problems under its full key."""

    def __init__(self, key: str, raw: Any, allowed: tuple[str, ...], problems: _Problems):
        self.key, self.problems = key, problems
        self.ok = isinstance(raw, dict)
        self.raw: dict = raw if self.ok else {}
        if not self.ok:
            problems.add(key, f"expected a mapping with fields {', '.join(allowed)}, got {raw!r}")
        for unknown in sorted(set(self.raw) - set(allowed)):
            hint = nearest(unknown, allowed)
            problems.add(f"{key}.{unknown}", f"unknown field{hint} (allowed fields: {', '.join(allowed)})" if hint
                         else f"unknown field; allowed fields: {', '.join(allowed)}")

    def get(self, name: str, kind: type, default: Any = REQUIRED) -> Any:
        key = f"{self.key}.{name}"
        if name not in self.raw or self.raw[name] is None:
            if default is REQUIRED and self.ok:
                self.problems.add(key, "required")
            return None if default is REQUIRED else default
        value = self.raw[name]
        if kind is int and isinstance(value, float) and value.is_integer():
            value = int(value)
        if kind is int and isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if kind is bool and isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        if kind is tuple:
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return tuple(value)
            self.problems.add(key, f"expected a list of strings, got {value!r}")
            return default if default is not REQUIRED else None
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problems.add(key, f"expected {_kind_name({int: 'integer', bool: 'boolean', str: 'string'}[kind])}, "
                                   f"got {value!r}")
            return default if default is not REQUIRED else None
        return value


def _check_name(key: str, name: str | None, seen: set[str], problems: _Problems) -> None:
    if name is None:
        return
    if len(name) > 40 or not _RFC1035.match(name):
        problems.add(key, f"{name!r} is not a valid node pool name (lowercase letters, digits and '-', "
                          "starting with a letter, at most 40 characters)")
    elif name in seen:
        problems.add(key, f"{name!r} is already used by another pool; pool names must be unique")
    seen.add(name)


def _check_min_max(key: str, low_name: str, high_name: str, low: int | None, high: int | None,
                   problems: _Problems) -> None:
    if low is None or high is None:
        return
    if low < 0:
        problems.add(f"{key}.{low_name}", f"must be 0 or more, got {low}")
    if high < 1:
        problems.add(f"{key}.{high_name}", f"must be at least 1, got {high}")
    if low > high:
        problems.add(f"{key}.{low_name}", f"{low} is above {high_name} {high}; {low_name} must be at most {high_name}")


def _check_zones(key: str, zones: tuple[str, ...] | None, region: str | None, problems: _Problems) -> None:
    for zone in zones or ():
        match = ZONE.match(zone)
        if not match:
            problems.add(key, f"{zone!r} is not a zone name such as us-central1-a")
        elif region and match.group(1) != region:
            problems.add(key, f"{zone} is not in the cluster's region {region}; allowed: zones of {region}")
        else:
            _check_zone_exists(key, zone, problems)


def _check_region_exists(key: str, region: str, problems: _Problems, location: str | None = None) -> bool:
    if region in GCP_REGIONS:
        return True
    shown = f"{location!r} is in no Google Cloud region ({region} is not one)" if location and location != region \
        else f"{region!r} is not a Google Cloud region"
    problems.add(key, f"{shown}{nearest(region, GCP_REGIONS, 0.85)} "
                      "(e.g. us-central1; see `gcloud compute regions list`)")
    return False


def _check_zone_exists(key: str, zone: str, problems: _Problems) -> None:
    region = ZONE.match(zone).group(1)
    if not _check_region_exists(key, region, problems, zone):
        return
    zones = REGION_ZONES.get(region)
    if zones and zone not in zones:
        problems.add(key, f"{zone!r} is not a zone of {region}; allowed: {', '.join(zones)}")


def _check_disk(key: str, size: int | None, problems: _Problems) -> None:
    if size is not None and size < 10:
        problems.add(key, f"boot disks are at least 10 GB, got {size}")


_SYSTEM_FIELDS = ("name", "machineType", "minNodes", "maxNodes", "zones", "diskSizeGb", "diskType", "prepullTfx")
_GPU_FIELDS = ("name", "gpuType", "gpuCount", "machineType", "minNodes", "maxNodes", "spot", "zones",
               "diskSizeGb", "diskType", "driverVersion", "prepullTfx")
_TPU_FIELDS = ("name", "machineType", "topology", "chips", "zone", "spot", "minSlices", "maxSlices",
               "diskSizeGb", "prepullTfx")


def _system_pool(raw: Any, region: str | None, seen: set[str], problems: _Problems) -> SystemPool | None:
    key = _key("systemPool")
    f = _Fields(key, raw if raw is not None else {}, _SYSTEM_FIELDS, problems)
    # The name GKE gives the pool (and the bill's goog-k8s-node-pool-name): a cluster built before aipipe may
    # already call its CPU pool something else. Renaming a deployed pool replaces it (GKE pool names are fixed).
    name = f.get("name", str, "system")
    machine_type = f.get("machineType", str, "e2-standard-4")
    min_nodes = f.get("minNodes", int, 1)
    max_nodes = f.get("maxNodes", int, 3)
    zones = f.get("zones", tuple, ())
    disk = f.get("diskSizeGb", int, 100)
    disk_type = f.get("diskType", str, "pd-balanced")
    prepull = f.get("prepullTfx", bool, True)
    _check_name(f"{key}.name", name, seen, problems)
    if machine_type and accelerator_machine_type(machine_type):
        problems.add(f"{key}.machineType", f"{machine_type} carries GPUs or TPUs; the system pool needs a "
                                           "CPU machine type such as e2-standard-4 or n2-standard-8 "
                                           "(declare accelerators in aipipe:gpuPools / aipipe:tpuPools)")
    _check_min_max(key, "minNodes", "maxNodes", min_nodes, max_nodes, problems)
    if min_nodes == 0:
        problems.add(f"{key}.minNodes", "the system pool runs Kubeflow Pipelines and must keep at least 1 node")
    _check_zones(f"{key}.zones", zones, region, problems)
    _check_disk(f"{key}.diskSizeGb", disk, problems)
    if None in (name, machine_type, min_nodes, max_nodes, disk, disk_type, prepull) or not f.ok:
        return None
    return SystemPool(name, machine_type, min_nodes, max_nodes, zones, disk, disk_type, prepull)


def _gpu_pool(index: int, raw: Any, region: str | None, seen: set[str], problems: _Problems) -> GpuPool | None:
    key = _key(f"gpuPools[{index}]")
    f = _Fields(key, raw, _GPU_FIELDS, problems)
    name = f.get("name", str)
    gpu_type_name = f.get("gpuType", str)
    _check_name(f"{key}.name", name, seen, problems)
    gpu = GPU_TYPES.get(gpu_type_name) if gpu_type_name else None
    if gpu_type_name and gpu is None:
        problems.add(f"{key}.gpuType", f"unknown GPU type {gpu_type_name!r}; allowed: {', '.join(GPU_TYPES)}")
    machine_type = f.get("machineType", str, gpu.default_machine_type if gpu else None)
    gpu_count = f.get("gpuCount", int, None)
    min_nodes = f.get("minNodes", int, 0)
    max_nodes = f.get("maxNodes", int, 1)
    spot = f.get("spot", bool, False)
    zones = f.get("zones", tuple, ())
    disk = f.get("diskSizeGb", int, 200)
    disk_type = f.get("diskType", str, None)
    driver = f.get("driverVersion", str, "DEFAULT")
    prepull = f.get("prepullTfx", bool, True)
    if gpu and machine_type:
        if not gpu.fits(machine_type):
            carried = gpu_family_of_machine(machine_type)
            why = f"; {machine_type} is a {carried.family} type carrying {carried.name}" if carried else ""
            problems.add(f"{key}.machineType", f"{gpu.name} runs on {gpu.family} machine types "
                                               f"({gpu.machine_types_text()}), got {machine_type}{why}")
        elif gpu.accelerator_optimized:
            carried_count = gpu.machine_gpus[machine_type]
            if gpu_count is None:
                gpu_count = carried_count
            elif gpu_count != carried_count:
                others = ", ".join(f"{m}={n}" for m, n in gpu.machine_gpus.items())
                problems.add(f"{key}.gpuCount", f"{machine_type} carries exactly {carried_count} {gpu.name}; "
                                                f"got {gpu_count} (allowed: {carried_count}, or pick another "
                                                f"machine type: {others})")
        else:
            if gpu_count is None:
                gpu_count = 1
            elif gpu_count not in gpu.attachable_counts:
                problems.add(f"{key}.gpuCount", f"{gpu.name} attaches " +
                             ", ".join(str(c) for c in gpu.attachable_counts) +
                             f" GPUs to an N1 machine; got {gpu_count}")
    if driver not in GPU_DRIVER_VERSIONS:
        problems.add(f"{key}.driverVersion", f"unknown driver version {driver!r}; allowed: "
                                             f"{', '.join(GPU_DRIVER_VERSIONS)}")
    _check_min_max(key, "minNodes", "maxNodes", min_nodes, max_nodes, problems)
    _check_zones(f"{key}.zones", zones, region, problems)
    _check_disk(f"{key}.diskSizeGb", disk, problems)
    if None in (name, gpu, machine_type, gpu_count, min_nodes, max_nodes, spot, disk, driver, prepull) or not f.ok:
        return None
    return GpuPool(name, gpu.name, gpu_count, machine_type, min_nodes, max_nodes, spot, zones, disk,
                   disk_type, driver, prepull)


def _tpu_pool(index: int, raw: Any, region: str | None, seen: set[str], problems: _Problems) -> TpuPool | None:
    key = _key(f"tpuPools[{index}]")
    f = _Fields(key, raw, _TPU_FIELDS, problems)
    name = f.get("name", str)
    machine_type = f.get("machineType", str)
    topology = f.get("topology", str)
    chips = f.get("chips", int, None)
    zone = f.get("zone", str)
    spot = f.get("spot", bool, False)
    min_slices = f.get("minSlices", int, 0)
    max_slices = f.get("maxSlices", int, 1)
    disk = f.get("diskSizeGb", int, 200)
    prepull = f.get("prepullTfx", bool, False)
    _check_name(f"{key}.name", name, seen, problems)
    machine = TPU_MACHINE_TYPES.get(machine_type) if machine_type else None
    if machine_type and machine is None:
        problems.add(f"{key}.machineType", f"unknown TPU machine type {machine_type!r}; allowed: "
                                           f"{', '.join(TPU_MACHINE_TYPES)}")
    tpu = None
    if machine and topology:
        if topology not in machine.topologies:
            problems.add(f"{key}.topology", f"{machine.machine_type} ({plural(machine.chips_per_vm, 'chip')} per VM) "
                                            f"cannot form {topology}; allowed: {machine.topologies_text()}")
        else:
            tpu = tpu_slice(machine.machine_type, topology)
            if chips is not None and chips != tpu.chips:
                problems.add(f"{key}.chips", f"topology {topology} has {tpu.chips} chips "
                                             f"({tpu.vms} x {machine.machine_type}), got {chips}")
    if machine and zone:
        if zone not in machine.zones:
            in_region = [z for z in machine.zones if region and z.startswith(region + "-")]
            hint = f" (in {region}: {', '.join(in_region)})" if in_region else \
                (f" (none in the cluster's region {region})" if region else "")
            problems.add(f"{key}.zone", f"TPU {machine.version} ({machine.machine_type}) is not offered in "
                                        f"{zone}; allowed: {', '.join(machine.zones)}{hint}")
        else:
            _check_zones(f"{key}.zone", (zone,), region, problems)
    if tpu and tpu.multi_host:
        if max_slices != 1:
            problems.add(f"{key}.maxSlices", f"a multi-host slice ({topology}, {tpu.vms} VMs) node pool holds "
                                             f"exactly one slice; got {max_slices} (allowed: 1; add another "
                                             "pool for another slice)")
        if min_slices not in (0, 1):
            problems.add(f"{key}.minSlices", f"allowed: 0 (scale the slice to zero when idle) or 1 "
                                             f"(keep it), got {min_slices}")
    else:
        _check_min_max(key, "minSlices", "maxSlices", min_slices, max_slices, problems)
    _check_disk(f"{key}.diskSizeGb", disk, problems)
    if None in (name, tpu, zone, spot, min_slices, max_slices, disk, prepull) or not f.ok:
        return None
    return TpuPool(name, tpu, zone, spot, min_slices, max_slices, disk, prepull)


def _network(key: str, text: str | None, problems: _Problems) -> ipaddress.IPv4Network | None:
    if text is None:
        return None
    try:
        return ipaddress.IPv4Network(text)
    except ValueError:
        problems.add(key, f"{text!r} is not an IPv4 CIDR block such as 10.10.0.0/20")
        return None


def load_config(raw: Mapping[str, str], project: str | None, stack: str) -> StackConfig:
    """Validate `raw` (un-namespaced aipipe keys -> strings, as Pulumi passes them) into a StackConfig.

    Raises StackConfigError listing every problem found.
    """
    problems = _Problems()
    for unknown in sorted(set(raw) - set(SETTINGS_BY_KEY)):
        hint = nearest(unknown, SETTINGS_BY_KEY)
        problems.add(_key(unknown), f"unknown key; did you mean {_key(hint[len('; did you mean '):-1])}?" if hint
                     else f"unknown key; known keys: {', '.join(SETTINGS_BY_KEY)}")
    values = {s.key: _decode(s, raw.get(s.key), problems) for s in SETTINGS}
    warnings: list[str] = []

    if not project:
        problems.add("gcp:project", "not set; run `pulumi config set gcp:project <project-id>`")
    elif not _PROJECT_ID.match(project):
        problems.add("gcp:project", f"{project!r} is not a project ID (6-30 lowercase letters, digits, '-')")

    location = values["location"]
    region = zone = None
    if location is not None:
        zone_match = ZONE.match(location)
        if zone_match:
            before = len(problems.messages)
            _check_zone_exists(_key("location"), location, problems)
            if len(problems.messages) == before:
                region, zone = zone_match.group(1), location
        elif REGION.match(location):
            if _check_region_exists(_key("location"), location, problems):
                region = location
        else:
            problems.add(_key("location"), f"{location!r} is neither a zone (us-central1-a: zonal cluster) "
                                           "nor a region (us-central1: regional cluster)")

    cluster_name = values["clusterName"] or f"aipipe-{label_value(stack)}"[:40].rstrip("-")
    if not _RFC1035.match(cluster_name) or len(cluster_name) > 40:
        problems.add(_key("clusterName"), f"{cluster_name!r} is not a valid GKE cluster name (lowercase "
                                          "letters, digits and '-', starting with a letter, at most 40 characters)")

    if values["releaseChannel"] not in RELEASE_CHANNELS:
        problems.add(_key("releaseChannel"), f"unknown channel {values['releaseChannel']!r}; allowed: "
                                             f"{', '.join(RELEASE_CHANNELS)}")

    min_version = values["minMasterVersion"]
    if min_version is not None and min_version != "latest":
        version = _GKE_VERSION.match(min_version)
        minimum = ".".join(map(str, MIN_GKE_VERSION))
        if not version:
            problems.add(_key("minMasterVersion"), f"{min_version!r} is not a GKE version such as {minimum}, "
                                                   f"{minimum}.2-gke.1000 or latest")
        elif (int(version.group(1)), int(version.group(2))) < MIN_GKE_VERSION:
            problems.add(_key("minMasterVersion"), f"{min_version} is older than {minimum}, the first version "
                                                   "with MutatingAdmissionPolicy GA (the pod cost labels need it); "
                                                   f"allowed: {minimum} or later, or latest")

    for name in ("team", "costCenter"):
        value = values[name]
        if value is not None and (not value or not valid_label_value(value)):
            problems.add(_key(name), f"{value!r} is not a label value (lowercase letters, digits, '_' and '-', "
                                     "starting and ending with a letter or digit, at most 63 characters)")

    networks = values["masterAuthorizedNetworks"]
    if networks is not None:
        if not networks:
            problems.add(_key("masterAuthorizedNetworks"), "empty; list the CIDRs allowed to reach the control "
                                                           "plane, e.g. your egress IP as 203.0.113.7/32")
        for i, cidr in enumerate(networks):
            item_key = _key(f"masterAuthorizedNetworks[{i}]")
            net = _network(item_key, cidr if isinstance(cidr, str) else repr(cidr), problems)
            if net is not None and net.prefixlen == 0:
                problems.add(item_key, f"{cidr} opens the control plane to the whole internet; "
                                       "allowed: specific CIDRs such as your office or CI egress range")

    nets = {name: _network(_key(name), values[name], problems)
            for name in ("masterCidr", "subnetCidr", "podsCidr", "servicesCidr")}
    master = nets["masterCidr"]
    if master is not None and (master.prefixlen != 28 or not master.is_private):
        problems.add(_key("masterCidr"), f"{master} must be a private /28 such as 172.16.0.0/28")
    present = [(n, v) for n, v in nets.items() if v is not None]
    for i, (name_a, a) in enumerate(present):
        for name_b, b in present[i + 1:]:
            if a.overlaps(b):
                problems.add(_key(name_b), f"{b} overlaps aipipe:{name_a} {a}; the ranges must be disjoint")

    seen: set[str] = set()
    system = _system_pool(values["systemPool"], region, seen, problems)
    gpu_pools = tuple(_gpu_pool(i, p, region, seen, problems) for i, p in enumerate(values["gpuPools"] or []))
    tpu_pools = tuple(_tpu_pool(i, p, region, seen, problems) for i, p in enumerate(values["tpuPools"] or []))

    accelerator_pools = {p.name for p in gpu_pools + tpu_pools if p is not None}
    warm = values["warmAcceleratorPools"] or []
    for i, name in enumerate(warm):
        if name not in accelerator_pools:
            problems.add(_key(f"warmAcceleratorPools[{i}]"), f"{name!r} is not a GPU or TPU pool of this stack; "
                                                           f"allowed: {', '.join(sorted(accelerator_pools)) or 'none'}")

    kfp = values["kfpVersion"]
    if not _KFP_VERSION.match(kfp or ""):
        problems.add(_key("kfpVersion"), f"{kfp!r} is not a Kubeflow Pipelines 2.x release tag such as 2.17.0 "
                                         "(branches such as master float and are refused)")
    elif kfp not in KNOWN_KFP_RELEASES:
        warnings.append(f"aipipe:kfpVersion {kfp} is not one of the releases this stack was checked against "
                        f"({', '.join(KNOWN_KFP_RELEASES)}); make sure the tag exists")
    metadata = values["kfpMetadata"] or ""
    if metadata and metadata not in KFP_METADATA:
        problems.add(_key("kfpMetadata"), f"{metadata!r} is not one of {', '.join(KFP_METADATA)}"
                                          f"{nearest(metadata, KFP_METADATA)}")
    elif _KFP_VERSION.match(kfp or ""):
        minor = int(kfp.split(".")[1])
        if not metadata:
            metadata = "mlmd" if minor <= KFP_LAST_MLMD_MINOR else "none"
        elif metadata == "mlmd" and minor > KFP_LAST_MLMD_MINOR:
            problems.add(_key("kfpMetadata"), f"mlmd: KFP {kfp} has no ML Metadata (removed after "
                                              f"2.{KFP_LAST_MLMD_MINOR}); allowed: none, or aipipe:kfpVersion "
                                              f"2.{KFP_LAST_MLMD_MINOR}.x")
    if not _TFX_VERSION.match(values["tfxVersion"] or ""):
        problems.add(_key("tfxVersion"), f"{values['tfxVersion']!r} is not a TFX release such as 1.16.0")
    repo = values["tfxImageRepository"] or ""
    if not repo or "@" in repo or ":" in repo.rsplit("/", 1)[-1]:
        problems.add(_key("tfxImageRepository"), f"{repo!r} must be an image repository without a tag "
                                                 "(the tag is aipipe:tfxVersion), e.g. gcr.io/tfx-oss-public/tfx")

    days = values["artifactRetentionDays"]
    if days is not None and days < 1:
        problems.add(_key("artifactRetentionDays"), f"must be at least 1 day, got {days}")

    bucket = values["pipelineRootBucket"] or f"{project}-{cluster_name}-pipeline-root"
    if (project or values["pipelineRootBucket"]) and \
            (not _BUCKET.match(bucket) or bucket.startswith("goog") or ".." in bucket):
        source = "" if values["pipelineRootBucket"] else " (derived from gcp:project and the cluster name)"
        problems.add(_key("pipelineRootBucket"), f"{bucket!r}{source} is not a valid bucket name (3-63 lowercase "
                                                 "letters, digits, '-', '_', '.'); set aipipe:pipelineRootBucket")

    for name in ("billingExportDataset", "usageMeteringDataset"):
        if values[name] and not _DATASET_ID.match(values[name]):
            problems.add(_key(name), f"{values[name]!r} is not a BigQuery dataset ID (letters, digits, '_')")

    account = values["billingAccount"] or ""
    if account and not _BILLING_ACCOUNT.match(account):
        problems.add(_key("billingAccount"), f"{account!r} is not a billing account ID such as 012345-6789AB-CDEF01")
    budget = None
    amount_text = (values["budgetAmount"] or "").strip()
    if amount_text:
        try:
            amount = Decimal(amount_text)
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or amount <= 0:
            problems.add(_key("budgetAmount"), f"{amount_text!r} is not a positive amount such as \"5000\"")
        elif -amount.as_tuple().exponent > 9:
            problems.add(_key("budgetAmount"), f"{amount_text} has more than 9 decimal places")
        else:
            currency = values["budgetCurrency"] or ""
            if not _CURRENCY.match(currency):
                problems.add(_key("budgetCurrency"), f"{currency!r} is not an ISO 4217 code such as USD")
            budget = Budget(amount, currency)
        if not account:
            problems.add(_key("billingAccount"), "a budget (aipipe:budgetAmount) needs the billing account it "
                                                 "watches; set aipipe:billingAccount to its ID "
                                                 "(XXXXXX-XXXXXX-XXXXXX, see `gcloud billing accounts list`)")

    if problems.messages:
        count = len(problems.messages)
        head = "" if count == 1 else f"{count} configuration problems: "
        raise StackConfigError(head + "; ".join(problems.messages))

    return StackConfig(
        project=project, stack=stack, location=location, region=region, zonal=zone is not None,
        cluster_name=cluster_name, release_channel=values["releaseChannel"],
        deletion_protection=values["deletionProtection"], team=values["team"], cost_center=values["costCenter"],
        master_authorized_networks=tuple(networks), master_cidr=str(master), subnet_cidr=str(nets["subnetCidr"]),
        pods_cidr=str(nets["podsCidr"]), services_cidr=str(nets["servicesCidr"]), system_pool=system,
        gpu_pools=gpu_pools, tpu_pools=tpu_pools, kfp_version=kfp, tfx_version=values["tfxVersion"],
        tfx_image_repository=repo, artifact_retention_days=days, pipeline_root_bucket=bucket,
        billing_export_dataset=values["billingExportDataset"], usage_metering_dataset=values["usageMeteringDataset"],
        dataset_location=values["datasetLocation"], billing_account=account, budget=budget,
        warm_accelerator_pools=tuple(warm),
        warnings=tuple(warnings), kfp_metadata=metadata or "mlmd", min_master_version=min_version,
    )


def read_pulumi_config(get: Callable[[str], str | None] | None = None) -> dict[str, str]:
    """The raw `aipipe:` values of the running program (only keys that are set), unknown keys included
    (load_config refuses them, naming the nearest known key)."""
    keys = [s.key for s in SETTINGS]
    if get is None:
        get = pulumi.Config(NAMESPACE).get
        keys += sorted(set(_set_keys()) - set(keys))
    return {key: value for key in keys if (value := get(key)) is not None}


def _set_keys() -> list[str]:
    """The un-namespaced `aipipe:` keys the engine passed the program (stack file, Pulumi.yaml, overrides)."""
    from pulumi.runtime import config as runtime_config

    names = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    prefix = f"{NAMESPACE}:"
    return [name[len(prefix):] for name in names if name.startswith(prefix) and ":" not in name[len(prefix):]]
