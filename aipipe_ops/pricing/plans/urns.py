"""Reading Pulumi URNs (`urn:pulumi:<stack>::<project>::<[parentType$]type>::<name>`); resource.py builds them."""

from __future__ import annotations

from aipipe_ops.pricing.plans.resource import PlannedResource


def urn_parts(urn: str) -> tuple[str, str, str, str]:
    """(stack, project, qualified type, name) of `urn:pulumi:<stack>::<project>::<type>::<name>`."""
    if not isinstance(urn, str) or not urn.startswith("urn:pulumi:"):
        raise ValueError(f"not a Pulumi URN: {urn!r}")
    head, project, qualified, *name = urn[len("urn:pulumi:"):].split("::")
    return head, project, qualified, "::".join(name)


def stack_and_project(resources: list[PlannedResource]) -> tuple[str | None, str | None]:
    """The stack and project a plan's resources belong to (from the first URN), or Nones for an empty plan."""
    for resource in resources:
        stack, project, _, _ = urn_parts(resource.urn)
        return stack, project
    return None, None
