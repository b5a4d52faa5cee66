"""A plan file given to `aipipe estimate --plan`: `pulumi preview --json` or `pulumi stack export` output,
told apart by its shape."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from aipipe_ops.errors import InputError
from aipipe_ops.pricing.plans.preview_json import is_preview, read_preview
from aipipe_ops.pricing.plans.resource import PlannedResource
from aipipe_ops.pricing.plans.stack_export import is_stack_export, read_stack_export
from aipipe_ops.pricing.plans.urns import stack_and_project


@dataclass(frozen=True)
class Plan:
    resources: list[PlannedResource]
    stack: str | None
    project: str | None
    source: str  # how it was read, for the estimate's header


def read_plan_file(path: str | Path) -> Plan:
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"plan file {path} does not exist") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"plan file {path} is not JSON ({exc}); expected `pulumi preview --json` or "
                         "`pulumi stack export` output") from exc
    if is_preview(document):
        resources, kind = read_preview(document, str(path)), "pulumi preview --json"
    elif is_stack_export(document):
        resources, kind = read_stack_export(document, str(path)), "pulumi stack export"
    else:
        raise InputError(f"plan file {path}: neither `pulumi preview --json` output (an object with `steps`) "
                         "nor `pulumi stack export` output (an object with `deployment`)")
    stack, project = stack_and_project(resources)
    return Plan(resources=resources, stack=stack, project=project, source=f"{kind} ({path.name})")
