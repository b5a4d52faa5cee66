"""Run the CrossGuard policy pack of a project folder (stacks/policy) over an offline plan, without the Pulumi CLI.

The pack is loaded from the project folder by path, the way the offline plan reader loads the program: aipipe
never imports the stacks statically (an installed aipipe has no stacks package), so a missing checkout is one
error line. Each policy gets what `pulumi preview --policy-pack stacks/policy` would hand it: a resource policy
one ResourceValidationArgs per resource (inputs, URN, name, its policy config), the stack policy one
StackValidationArgs with every resource and its parent; a policy that calls `not_applicable` is reported so.

    report = check_plan(plan, project_dir)
    report.mandatory          # violations whose enforcement level is mandatory (exit 1)
"""

from __future__ import annotations

import importlib
import json
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import yaml

from aipipe_ops.errors import ConfigError, InputError
from aipipe_ops.output import plural
from aipipe_ops.pricing.plans.plan_file import Plan
from aipipe_ops.pricing.plans.resource import STACK_TYPE, PlannedResource
from aipipe_ops.pricing.plans.urns import urn_parts

PACK_MODULE = "stacks.policy.pack"
WARM_POOLS_KEY = "aipipe:warmAcceleratorPools"


@dataclass(frozen=True)
class PolicyViolation:
    policy: str
    level: str  # mandatory | advisory | remediate
    message: str
    resource: str | None = None  # "type: name" of the resource the violation names, if any


@dataclass
class PolicyReport:
    pack: str
    stack: str | None
    policies: list[str] = field(default_factory=list)
    violations: list[PolicyViolation] = field(default_factory=list)
    not_applicable: dict[str, str] = field(default_factory=dict)  # policy -> reason

    @property
    def mandatory(self) -> list[PolicyViolation]:
        return [v for v in self.violations if v.level == "mandatory"]


def load_pack(project_dir: Path):
    """The pack module of the project folder (stacks/policy/pack.py), imported from that folder."""
    project_dir = Path(project_dir).resolve()
    pack_file = project_dir / "stacks" / "policy" / "pack.py"
    if not pack_file.exists():
        raise InputError(f"{project_dir}: no policy pack (stacks/policy/pack.py); run `aipipe policy check` in the "
                         "aipipe project folder (a checkout) or pass --project-dir")
    if str(project_dir) in sys.path:
        sys.path.remove(str(project_dir))
    sys.path.insert(0, str(project_dir))
    loaded = sys.modules.get("stacks")
    if loaded is not None:
        origin = Path(next(iter(getattr(loaded, "__path__", [])), ".")).resolve()
        if origin != project_dir / "stacks":
            for name in [m for m in sys.modules if m == "stacks" or m.startswith("stacks.")]:
                del sys.modules[name]
    try:
        return importlib.import_module(PACK_MODULE)
    except ImportError as exc:
        raise InputError(f"{pack_file}: cannot load the policy pack ({exc}); is pulumi-policy installed?") from exc


def read_policy_config(path: Path | None) -> dict[str, dict]:
    """`--policy-pack-config FILE`: {policy name: {key: value} or {"config": {...}}}, as `pulumi preview` takes."""
    if path is None:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"policy config {path}: cannot read ({exc})") from exc
    if not isinstance(data, dict):
        raise InputError(f"policy config {path}: expected a JSON object keyed by policy name")
    result = {}
    for name, value in data.items():
        if isinstance(value, dict):
            result[name] = dict(value.get("config", value)) if "config" in value else \
                {k: v for k, v in value.items() if k != "enforcementLevel"}
    return result


def _with_stack(resources: list[PlannedResource], stack: str | None) -> list[PlannedResource]:
    """URNs carrying the plan's stack name (an offline run of a stack file outside the project is `offline`)."""
    if not resources or not stack:
        return resources
    current = urn_parts(resources[0].urn)[0]
    if current == stack:
        return resources
    old, new = f"urn:pulumi:{current}::", f"urn:pulumi:{stack}::"

    def fix(urn: str | None) -> str | None:
        return new + urn[len(old):] if urn and urn.startswith(old) else urn

    return [replace(r, urn=fix(r.urn), parent=fix(r.parent)) for r in resources]


def stack_file_config(spec: str) -> dict:
    """The `config:` of a Pulumi.<name>.yaml given by path ({} for a stack name or a plan file)."""
    path = Path(spec)
    if path.suffix not in (".yaml", ".yml") or not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return (data.get("config") or {}) if isinstance(data, dict) else {}


def check_plan(plan: Plan, project_dir: Path, config: Mapping[str, Mapping[str, Any]] | None = None,
               stack_config: Mapping[str, Any] | None = None) -> PolicyReport:
    pack = load_pack(project_dir)
    from pulumi_policy import policy as pp  # installed with pulumi-policy, which the pack needs anyway

    config = {name: dict(values) for name, values in (config or {}).items()}
    warm = (stack_config or {}).get(WARM_POOLS_KEY)
    if warm:  # a stack file outside the project folder: the pack cannot find it, so pass its warm pools on
        entry = config.setdefault("accelerator-pools-scale-to-zero", {})
        entry["warmPools"] = list(entry.get("warmPools") or []) + list(warm)
    resources = [r for r in _with_stack(plan.resources, plan.stack) if r.type != STACK_TYPE]
    report = PolicyReport(pack=pack.PACK_NAME, stack=plan.stack)
    by_urn = {r.urn: r for r in resources}
    opts = pp.PolicyResourceOptions(False, [], None, [], pp.PolicyCustomTimeouts(0, 0, 0), [])
    policy_resources: dict[str, Any] = {}
    for r in resources:  # parents come first (the plan is in tree order)
        policy_resources[r.urn] = pp.PolicyResource(r.type, r.inputs, r.urn, r.name, opts, None,
                                                    policy_resources.get(r.parent or ""), [], {})
    for policy in pack.policies(Path(project_dir).resolve()):
        level = (policy.enforcement_level or pp.EnforcementLevel.ADVISORY).value
        if level == "disabled":
            continue
        report.policies.append(policy.name)
        policy_config = config.get(policy.name, {})

        def violate(message: str, urn: str | None = None, _name=policy.name, _level=level) -> None:
            target = by_urn.get(urn or "")
            report.violations.append(PolicyViolation(_name, _level, message,
                                                     f"{target.type}: {target.name}" if target else None))

        try:
            if isinstance(policy, pp.StackValidationPolicy):
                policy.validate(pp.StackValidationArgs(list(policy_resources.values()), policy_config), violate)
            else:
                for r in resources:
                    policy.validate(pp.ResourceValidationArgs(r.type, r.inputs, r.urn, r.name, opts, None,
                                                              policy_config), violate)
        except pp._NotApplicableError as exc:  # what the analyzer reports as "not applicable"
            report.not_applicable[policy.name] = getattr(exc, "reason", None) or "not applicable"
    if not report.policies:
        raise ConfigError(f"{project_dir}: the policy pack {pack.PACK_NAME} has no enabled policy")
    return report


def render_report(report: PolicyReport, fmt: str = "table") -> str:
    if fmt == "json":
        return json.dumps({"pack": report.pack, "stack": report.stack, "policies": report.policies,
                           "notApplicable": report.not_applicable,
                           "violations": [{"policy": v.policy, "enforcementLevel": v.level, "message": v.message,
                                           "resource": v.resource} for v in report.violations],
                           "mandatory": len(report.mandatory)}, indent=2)
    mark = "x" if report.mandatory else ("!" if report.violations else "ok")
    lines = [f"Policies: {report.pack} over stack {report.stack or '(plan)'}: "
             f"{plural(len(report.policies), 'policy', 'policies')}, "
             f"{plural(len(report.violations), 'violation')}, {len(report.mandatory)} mandatory [{mark}]"]
    for v in report.violations:
        where = f"  ({v.resource})" if v.resource else ""
        if fmt == "markdown":
            lines.append(f"- **[{v.level}]** `{v.policy}`{where}: {v.message}")
        else:
            lines.append(f"    - [{v.level}]  {v.policy}{where}")
            lines.append(f"      {v.message}")
    for name, reason in report.not_applicable.items():
        lines.append(f"{'- ' if fmt == 'markdown' else '    - '}[not applicable]  {name}: {reason}")
    return "\n".join(lines)
