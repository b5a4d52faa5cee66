"""The guardrails as CrossGuard policies (pulumi-policy), importable without starting the analyzer.

Configuration, per policy (`pulumi preview --policy-pack stacks/policy --policy-pack-config config.json`):
- budget-covers-maximum: `budget` (amount overriding the stack's own Budget), `budgetCurrency`, `allowUnpriced`,
  `freeTier` (default true), `priceBook` (path; default: $AIPIPE_PRICE_BOOK or the shipped snapshot).
- accelerator-pools-scale-to-zero: `warmPools` (pool names allowed to keep nodes).
- dev-stacks-use-spot: `devStackPattern` (regex on the stack name), `allPools` (CPU pools too).
- resources-carry-stack-labels: `requiredLabels` (keys; default aipipe-stack, team, cost-center).
A stack can also allow warm pools itself: `aipipe:warmAcceleratorPools: [name, ...]` in Pulumi.<stack>.yaml,
which the pack reads from the project folder (the stack name comes from the resources' URNs).

Props: CrossGuard hands inputs (resource policies) or outputs (stack policies) wrapped in a proxy that raises
on values unknown during preview; they are unwrapped here, unknowns kept as the engine's sentinels, so a
policy decides what an unknown means instead of being skipped.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from aipipe_ops.pricing.plans.resource import PlannedResource
from aipipe_ops.pricing.plans.urns import urn_parts
from stacks.policy import guardrails as g

PACK_NAME = "aipipe-guardrails"
WARM_POOLS_KEY = "aipipe:warmAcceleratorPools"
PROVIDER_PACKAGES = ("gcp", "kubernetes", "random", "tls", "command", "docker", "google-native")


def unwrap(value: Any) -> Any:
    """Plain dicts/lists from pulumi-policy's unknown-checking proxies, without touching unknowns."""
    if isinstance(value, (Mapping, Sequence)) and not isinstance(value, (str, bytes)):
        target = _target(value)
        if target is not None:
            value = target
    if isinstance(value, Mapping):
        return {k: unwrap(value[k]) for k in value}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [unwrap(item) for item in value]
    return value


def _target(value: Any):
    """The wrapped object of a pulumi-policy proxy (its `__target` item), else None."""
    try:
        return value["__target"]
    except (KeyError, TypeError, IndexError):
        return None


def _custom(resource_type: str) -> bool:
    package = resource_type.split(":", 1)[0]
    return resource_type.startswith("pulumi:providers:") or package in PROVIDER_PACKAGES


def planned(resource_type: str, props: Any, urn: str, name: str, parent_urn: str | None = None) -> PlannedResource:
    return PlannedResource(urn=urn, type=resource_type, name=name, inputs=unwrap(props) or {}, parent=parent_urn,
                           custom=_custom(resource_type))


def stack_of(urn: str) -> str:
    return urn_parts(urn)[0]


@functools.lru_cache
def stack_config(project_dir: Path | None, stack: str) -> dict:
    """The `config:` mapping of Pulumi.<stack>.yaml in the project folder ({} when there is none).

    Read once per folder and stack (every policy asks for every resource); callers only read the result."""
    if project_dir is None:
        return {}
    for suffix in ("yaml", "yml"):
        path = Path(project_dir) / f"Pulumi.{stack}.{suffix}"
        if path.exists():
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            return data.get("config") or {}
    return {}


def _list(value: Any) -> list[str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            value = [part.strip() for part in value.split(",") if part.strip()]
    return [str(v) for v in value] if isinstance(value, list) else []


def settings_for(stack: str, config: Mapping[str, Any], project_dir: Path | None) -> g.Settings:
    warm = set(_list(config.get("warmPools")))
    warm |= set(_list(stack_config(project_dir, stack).get(WARM_POOLS_KEY)))
    budget = config.get("budget")
    return g.Settings(
        stack=stack,
        warm_pools=frozenset(warm),
        dev_pattern=config.get("devStackPattern") or g.DEFAULT_DEV_PATTERN,
        dev_spot_all_pools=bool(config.get("allPools", False)),
        budget=Decimal(str(budget)) if budget not in (None, "") else None,
        budget_currency=config.get("budgetCurrency"),
        allow_unpriced=bool(config.get("allowUnpriced", False)),
        free_tier=bool(config.get("freeTier", True)),
        price_book=config.get("priceBook"),
        project_dir=project_dir,
        required_labels=tuple(config.get("requiredLabels") or g.Settings.required_labels),
    )


def resource_policy(check, name: str, description: str, project_dir: Path | None,
                    schema: PolicyConfigSchema | None = None) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        resource = planned(args.resource_type, args.props, args.urn, args.name)
        settings = settings_for(stack_of(args.urn), args.get_config() or {}, project_dir)
        for violation in check(resource, settings):
            report_violation(violation.message, violation.urn)

    return ResourceValidationPolicy(name=name, description=description, validate=validate,
                                    enforcement_level=EnforcementLevel.MANDATORY, config_schema=schema)


def budget_policy(project_dir: Path | None) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [planned(r.resource_type, r.props, r.urn, r.name, r.parent.urn if r.parent else None)
                     for r in args.resources]
        if not resources:
            return
        settings = settings_for(stack_of(resources[0].urn), args.get_config() or {}, project_dir)
        result = g.budget_covers_maximum(resources, settings)
        if not result.applicable:
            args.not_applicable("the stack declares no budget (aipipe:budgetAmount) and the policy config sets none")
        for violation in result.violations:
            report_violation(violation.message, violation.urn)

    return StackValidationPolicy(
        name="budget-covers-maximum",
        description="The estimated monthly maximum (every pool at its autoscaling maximum) fits the stack's budget.",
        validate=validate, enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PolicyConfigSchema(properties={
            "budget": {"type": "string"}, "budgetCurrency": {"type": "string"},
            "allowUnpriced": {"type": "boolean"}, "freeTier": {"type": "boolean"}, "priceBook": {"type": "string"}}))


def policies(project_dir: Path | None = None) -> list:
    return [
        budget_policy(project_dir),
        resource_policy(g.accelerator_pools_scale_to_zero, "accelerator-pools-scale-to-zero",
                        "GPU and TPU node pools scale to zero when idle, unless allowed to stay warm.", project_dir,
                        PolicyConfigSchema(properties={"warmPools": {"type": "array", "items": {"type": "string"}}})),
        resource_policy(g.dev_stacks_use_spot, "dev-stacks-use-spot",
                        "Accelerator pools of dev stacks (all pools with allPools) use spot VMs.", project_dir,
                        PolicyConfigSchema(properties={"devStackPattern": {"type": "string"},
                                                       "allPools": {"type": "boolean"}})),
        resource_policy(g.node_service_account_not_default, "node-service-account-not-default",
                        "GKE nodes never run as the Compute Engine default service account.", project_dir),
        resource_policy(g.kfp_ui_not_public, "kfp-ui-not-public",
                        "Kubeflow Pipelines (no authentication) is not exposed outside the cluster.", project_dir),
        resource_policy(g.resources_carry_stack_labels, "resources-carry-stack-labels",
                        "Every resource that takes labels carries the stack's cost labels.", project_dir,
                        PolicyConfigSchema(properties={"requiredLabels": {"type": "array",
                                                                          "items": {"type": "string"}}})),
    ]
