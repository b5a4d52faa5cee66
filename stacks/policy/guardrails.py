"""The guardrails, as plain functions over planned resources (type, name, URN, camelCase inputs).

pack.py wraps them into CrossGuard policies; tests call them directly, without the Pulumi CLI. Each
function returns the violations it finds (empty: compliant); none of them raises on a value that is unknown
during preview (an unknown value is read as "computed by the update", never as a violation by itself).

- budget_covers_maximum: the estimated monthly maximum (aipipe's estimate engine, at the autoscaling
  maximum) must not exceed the stack's budget; lines that cannot be priced make the check unprovable,
  which is a violation unless allowed.
- accelerator_pools_scale_to_zero: GPU and TPU pools scale to zero unless the pool is allowed to stay warm.
- dev_stacks_use_spot: in a dev stack, accelerator pools (or every pool) use spot VMs.
- node_service_account_not_default: nodes never run as the Compute Engine default service account.
- kfp_ui_not_public: no Kubeflow Pipelines Service exposed by a public load balancer or node port, no
  Ingress to the UI, no inverse-proxy agent (KFP standalone has no authentication).
- resources_carry_stack_labels: every resource that takes labels carries the stack's cost labels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

from aipipe_ops.gcp.accelerators import accelerator_machine_type
from aipipe_ops.gcp.tpus import tpu_machine_type
from aipipe_ops.output import plural
from aipipe_ops.pricing.plans.resource import PlannedResource
from aipipe_ops.pricing.priced.inputs import UNKNOWN_SENTINELS, is_secret
from stacks.labels import COST_CENTER_LABEL, STACK_LABEL, TEAM_LABEL, label_value

NODE_POOL = "gcp:container/nodePool:NodePool"
CLUSTER = "gcp:container/cluster:Cluster"
K8S_SERVICE = "kubernetes:core/v1:Service"
K8S_INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
KFP_NAMESPACE = "kubeflow"
KFP_UI_SERVICE = "ml-pipeline-ui"
INVERSE_PROXY = "proxy-agent"
DEFAULT_DEV_PATTERN = r"^(dev|development)([-_.].*)?$|^.*[-_.]dev$"
DEFAULT_COMPUTE_ACCOUNT = re.compile(r"^\d+-compute@developer\.gserviceaccount\.com$")
INTERNAL_LB_ANNOTATIONS = {"networking.gke.io/load-balancer-type": "internal",
                           "cloud.google.com/load-balancer-type": "internal"}

# Where a GCP resource type takes its labels (the GCE labels the billing export copies into each row).
LABEL_PATHS: dict[str, str] = {
    CLUSTER: "resourceLabels",
    NODE_POOL: "nodeConfig.resourceLabels",
    "gcp:bigquery/dataset:Dataset": "labels",
    "gcp:storage/bucket:Bucket": "labels",
    "gcp:compute/disk:Disk": "labels",
    "gcp:compute/address:Address": "labels",
    "gcp:compute/globalAddress:GlobalAddress": "labels",
    "gcp:compute/instance:Instance": "labels",
    "gcp:artifactregistry/repository:Repository": "labels",
    "gcp:pubsub/topic:Topic": "labels",
    "gcp:pubsub/subscription:Subscription": "labels",
    "gcp:secretmanager/secret:Secret": "labels",
    "gcp:sql/databaseInstance:DatabaseInstance": "settings.userLabels",
    "gcp:filestore/instance:Instance": "labels",
    "gcp:redis/instance:Instance": "labels",
    "gcp:vertex/aiEndpoint:AiEndpoint": "labels",
}
# Kubernetes objects the stack creates itself (patches of upstream objects and provider-side components
# excepted): their metadata.labels carry the cost labels, which GKE cost allocation reads.
K8S_UNLABELLED_KINDS = ("Patch", "kustomize", "helm.sh", "yaml/v2", "Provider")


@dataclass(frozen=True)
class Violation:
    policy: str
    message: str
    urn: str | None = None


@dataclass(frozen=True)
class Settings:
    """What the guardrails are told about the stack (pack.py fills it from config)."""

    stack: str
    warm_pools: frozenset[str] = frozenset()  # accelerator pools allowed to keep nodes when idle
    dev_pattern: str = DEFAULT_DEV_PATTERN
    dev_spot_all_pools: bool = False  # also the CPU pools of a dev stack must be spot
    budget: Decimal | None = None  # overrides the stack's own gcp:billing/budget:Budget amount
    budget_currency: str | None = None
    allow_unpriced: bool = False
    free_tier: bool = True
    price_book: str | None = None
    project_dir: Path | None = None
    required_labels: tuple[str, ...] = (STACK_LABEL, TEAM_LABEL, COST_CENTER_LABEL)

    @property
    def dev(self) -> bool:
        return bool(re.match(self.dev_pattern, self.stack))


# -- Reading inputs without tripping on preview's unknowns --------------------------------------------

def unknown(value: Any) -> bool:
    return isinstance(value, str) and value in UNKNOWN_SENTINELS


def value_at(inputs: Any, path: str, default: Any = None) -> Any:
    """inputs at a dotted path; `default` when missing; an unknown sentinel is returned as is."""
    value = inputs
    for part in path.split("."):
        if unknown(value):
            return value
        if not isinstance(value, dict) or value.get(part) is None:
            return default
        value = value[part]
    return value


def _number(value: Any) -> Decimal | None:
    if value is None or unknown(value) or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def pool_name(resource: PlannedResource) -> str:
    name = resource.inputs.get("name")
    return name if isinstance(name, str) and not unknown(name) else resource.name


def accelerator_of(resource: PlannedResource) -> str | None:
    """'GPU' / 'TPU' for a node pool whose VMs carry accelerators, else None."""
    machine = value_at(resource.inputs, "nodeConfig.machineType")
    if isinstance(machine, str) and not unknown(machine):
        if tpu_machine_type(machine):
            return "TPU"
        if accelerator_machine_type(machine):
            return "GPU"
    if value_at(resource.inputs, "nodeConfig.guestAccelerators"):
        return "GPU"
    return None


# -- Policies over one resource -----------------------------------------------------------------------

def accelerator_pools_scale_to_zero(resource: PlannedResource, settings: Settings) -> list[Violation]:
    if resource.type != NODE_POOL:
        return []
    kind = accelerator_of(resource)
    name = pool_name(resource)
    if kind is None or name in settings.warm_pools:
        return []
    inputs = resource.inputs
    autoscaling = value_at(inputs, "autoscaling") or {}
    how = ("list it in the stack's aipipe:warmAcceleratorPools (or the policy's warmPools config) to keep it "
           "warm on purpose")
    if autoscaling and not unknown(autoscaling):
        minimum = _number(autoscaling.get("totalMinNodeCount"))
        if minimum is None:
            minimum = _number(autoscaling.get("minNodeCount"))
        if minimum is None or minimum == 0:
            return []
        return [Violation("accelerator-pools-scale-to-zero",
                          f"{kind} pool {name} keeps {plural(minimum, 'node')} when idle (autoscaling minimum {minimum}); "
                          f"{kind} pools must scale to zero: set the minimum to 0, or {how}", resource.urn)]
    fixed = _number(value_at(inputs, "nodeCount"))
    if fixed is None:
        fixed = _number(value_at(inputs, "initialNodeCount"))
    if fixed is not None and fixed == 0:
        return []
    size = f"a fixed size of {plural(fixed, 'node')}" if fixed is not None else "a fixed size"
    return [Violation("accelerator-pools-scale-to-zero",
                      f"{kind} pool {name} has {size} and no autoscaling, so it never scales to zero: add "
                      f"autoscaling with minimum 0, or {how}", resource.urn)]


def dev_stacks_use_spot(resource: PlannedResource, settings: Settings) -> list[Violation]:
    if resource.type != NODE_POOL or not settings.dev:
        return []
    kind = accelerator_of(resource)
    if kind is None and not settings.dev_spot_all_pools:
        return []
    spot = value_at(resource.inputs, "nodeConfig.spot")
    preemptible = value_at(resource.inputs, "nodeConfig.preemptible")
    if spot is True or preemptible is True or unknown(spot):
        return []
    what = f"{kind} pool" if kind else "pool"
    return [Violation("dev-stacks-use-spot",
                      f"{what} {pool_name(resource)} of dev stack {settings.stack} uses on-demand VMs: set spot: true "
                      "(dev stacks use spot capacity)", resource.urn)]


def _service_account_problem(value: Any) -> str | None:
    if unknown(value) or is_secret(value):
        return None  # computed by the update: an account the stack creates, not a literal default
    if not value:
        return "is not set, so GKE uses the Compute Engine default service account"
    if value == "default" or DEFAULT_COMPUTE_ACCOUNT.match(str(value)):
        return f"is {value}, the Compute Engine default service account"
    return None


def node_service_account_not_default(resource: PlannedResource, settings: Settings) -> list[Violation]:
    checks: list[tuple[str, Any]] = []
    if resource.type == NODE_POOL:
        checks.append(("nodeConfig.serviceAccount", value_at(resource.inputs, "nodeConfig.serviceAccount")))
    elif resource.type == CLUSTER:
        inputs = resource.inputs
        if not value_at(inputs, "removeDefaultNodePool") and not value_at(inputs, "enableAutopilot"):
            checks.append(("nodeConfig.serviceAccount (default pool)", value_at(inputs, "nodeConfig.serviceAccount")))
        for index, pool in enumerate(value_at(inputs, "nodePools") or []):
            checks.append((f"nodePools[{index}].nodeConfig.serviceAccount", value_at(pool, "nodeConfig.serviceAccount")))
        if value_at(inputs, "clusterAutoscaling.enabled") is True:
            checks.append(("clusterAutoscaling.autoProvisioningDefaults.serviceAccount",
                           value_at(inputs, "clusterAutoscaling.autoProvisioningDefaults.serviceAccount")))
    violations = []
    for path, value in checks:
        problem = _service_account_problem(value)
        if problem:
            violations.append(Violation(
                "node-service-account-not-default",
                f"{resource.name}: {path} {problem}; nodes must run as a least-privilege account of the stack",
                resource.urn))
    return violations


def _k8s_name(resource: PlannedResource) -> tuple[str | None, str | None]:
    metadata = resource.inputs.get("metadata") or {}
    if not isinstance(metadata, dict):
        return None, None
    return metadata.get("name"), metadata.get("namespace")


def _internal_lb(annotations: Any) -> bool:
    if not isinstance(annotations, dict):
        return False
    return any(str(annotations.get(key, "")).lower() == value for key, value in INTERNAL_LB_ANNOTATIONS.items())


def kfp_ui_not_public(resource: PlannedResource, settings: Settings) -> list[Violation]:
    name, namespace = _k8s_name(resource)
    if resource.type == K8S_SERVICE and (namespace == KFP_NAMESPACE or name == KFP_UI_SERVICE):
        spec_type = value_at(resource.inputs, "spec.type") or "ClusterIP"
        annotations = value_at(resource.inputs, "metadata.annotations") or {}
        if spec_type == "NodePort" or (spec_type == "LoadBalancer" and not _internal_lb(annotations)):
            return [Violation("kfp-ui-not-public",
                              f"Service {namespace}/{name} is a {spec_type}: Kubeflow Pipelines has no authentication, "
                              "keep its Services ClusterIP and use `kubectl port-forward` (or an internal load "
                              "balancer / an authenticating proxy)", resource.urn)]
    if resource.type == K8S_INGRESS:
        backends = []
        spec = resource.inputs.get("spec") or {}
        backends.append(value_at(spec, "defaultBackend.service.name"))
        for rule in spec.get("rules") or []:
            for path in value_at(rule, "http.paths") or []:
                backends.append(value_at(path, "backend.service.name"))
        annotations = value_at(resource.inputs, "metadata.annotations") or {}
        internal = isinstance(annotations, dict) and annotations.get("kubernetes.io/ingress.class") == "gce-internal"
        if KFP_UI_SERVICE in backends and not internal:
            return [Violation("kfp-ui-not-public",
                              f"Ingress {namespace}/{name} routes to {KFP_UI_SERVICE}: the KFP UI has no authentication "
                              "and must not be reachable from outside the cluster", resource.urn)]
    if resource.type.startswith("kubernetes:apps/") and name == INVERSE_PROXY:
        return [Violation("kfp-ui-not-public",
                          f"{resource.type.rpartition(':')[2]} {namespace}/{name} is KFP's inverse-proxy agent, which "
                          "publishes the UI through a Google-hosted proxy", resource.urn)]
    if resource.type.startswith("kubernetes:kustomize"):
        directory = str(resource.inputs.get("directory") or "")
        if re.search(r"manifests/kustomize/env/(dev|gcp)(\?|/|$)", directory):
            return [Violation("kfp-ui-not-public",
                              f"{resource.name} installs KFP from {directory}, which includes the inverse-proxy agent "
                              "publishing the UI; install env/platform-agnostic instead", resource.urn)]
    return []


def _label_path(resource: PlannedResource) -> str | None:
    if resource.type in LABEL_PATHS:
        return LABEL_PATHS[resource.type]
    if resource.type.startswith("gcp:") and resource.custom:
        for key in ("labels", "resourceLabels"):
            if key in resource.inputs:
                return key
    if resource.type.startswith("kubernetes:") and resource.custom and \
            not any(part in resource.type for part in K8S_UNLABELLED_KINDS):
        return "metadata.labels"
    return None


def resources_carry_stack_labels(resource: PlannedResource, settings: Settings) -> list[Violation]:
    path = _label_path(resource)
    if path is None:
        return []
    labels = value_at(resource.inputs, path)
    if unknown(labels):
        return []
    labels = labels if isinstance(labels, dict) else {}
    missing = [key for key in settings.required_labels if not labels.get(key)]
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    expected = label_value(settings.stack)
    stack_value = labels.get(STACK_LABEL)
    if stack_value and not unknown(stack_value) and STACK_LABEL in settings.required_labels and stack_value != expected:
        problems.append(f"{STACK_LABEL} is {stack_value!r}, expected {expected!r}")
    if not problems:
        return []
    return [Violation("resources-carry-stack-labels",
                      f"{resource.type.rpartition(':')[2]} {resource.name}: {path} {'; '.join(problems)} (the budget "
                      "and the billing export find the stack's costs by these labels)", resource.urn)]


RESOURCE_GUARDRAILS = (accelerator_pools_scale_to_zero, dev_stacks_use_spot, node_service_account_not_default,
                       kfp_ui_not_public, resources_carry_stack_labels)


# -- The budget, over the whole stack ------------------------------------------------------------------

@dataclass
class BudgetResult:
    violations: list[Violation] = field(default_factory=list)
    monthly_max: Decimal | None = None
    budget: Decimal | None = None
    currency: str | None = None
    applicable: bool = True


def budget_covers_maximum(resources: Iterable[PlannedResource], settings: Settings, book=None) -> BudgetResult:
    from aipipe_ops.pricing.estimate import estimate_resources
    from aipipe_ops.pricing.price_book import PriceBook

    resources = list(resources)
    book = book or PriceBook.load(settings.price_book)
    estimate = estimate_resources(resources, book, free_tier=settings.free_tier, stack=settings.stack,
                                  project_dir=settings.project_dir)
    if settings.budget is not None:
        amount, currency, source = settings.budget, settings.budget_currency or book.currency, "the policy's budget"
    elif estimate.budgets:
        stack_budget = estimate.budgets[0]
        amount, currency = stack_budget.amount, stack_budget.currency
        source = f"the stack's budget ({stack_budget.resource})"
    else:
        return BudgetResult(applicable=False)
    totals = estimate.totals
    result = BudgetResult(monthly_max=totals.monthly_max, budget=amount, currency=currency)
    if currency != estimate.currency:
        result.violations.append(Violation(
            "budget-covers-maximum", f"{source} is in {currency} but the price book ({estimate.price_book}) is in "
                                     f"{estimate.currency}: refresh it with `aipipe prices refresh --currency {currency}`"))
        return result
    maximum = totals.monthly_max.quantize(Decimal("0.01"))
    amount_text = format(amount.normalize(), "f")
    if totals.monthly_max > amount:
        top = sorted(((t.monthly_max, name) for name, t in estimate.resource_totals().items()), reverse=True)[:3]
        biggest = ", ".join(f"{name} {value.quantize(Decimal('0.01'))}" for value, name in top)
        result.violations.append(Violation(
            "budget-covers-maximum",
            f"estimated monthly maximum {maximum} {currency} (every pool at its autoscaling maximum) exceeds "
            f"{source} of {amount_text} {currency}; largest: {biggest}. Lower the pools' maximums or raise the budget "
            f"(`aipipe estimate --stack {settings.stack}` shows every line)"))
    if totals.unpriced and not settings.allow_unpriced:
        what = "; ".join(f"{line.resource}: {line.component} ({line.unpriced_reason})" for line in estimate.unpriced)
        result.violations.append(Violation(
            "budget-covers-maximum",
            f"{plural(totals.unpriced, 'line')} cannot be priced, so the maximum ({maximum} {currency} without them) cannot be "
            f"proven within {source}: {what}. Set allowUnpriced in the policy config to check the priced part only"))
    return result
