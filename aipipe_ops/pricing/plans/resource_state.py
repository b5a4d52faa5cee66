"""A PlannedResource from a resource state as `pulumi preview --json` (steps[].newState) and `pulumi stack export`
(deployment.resources[]) record it, so both readers list the same resources with the same inputs.

Default providers (`pulumi:providers:<pkg>` named `default...`) are created by the engine, not by the program,
and an offline run never registers them: readers drop them. Explicit providers stay.
"""

from __future__ import annotations

from aipipe_ops.errors import InputError
from aipipe_ops.pricing.plans.normalised_inputs import normalise
from aipipe_ops.pricing.plans.resource import PlannedResource
from aipipe_ops.pricing.plans.urns import urn_parts


def is_default_provider(resource_type: str, name: str) -> bool:
    return resource_type.startswith("pulumi:providers:") and name.startswith("default")


def inferred_custom(resource_type: str) -> bool:
    """For documents without `custom`: provider resources have a module path (`gcp:container/nodePool:...`),
    components usually not (`aipipe:gke:Cluster`)."""
    if resource_type.startswith("pulumi:providers:"):
        return True
    parts = resource_type.split(":")
    return len(parts) == 3 and "/" in parts[1]


def planned(state: dict, where: str) -> PlannedResource | None:
    """A PlannedResource from a ResourceV3-shaped state (`urn`, `type`, `custom`, `inputs`, `parent`),
    or None for a default provider."""
    urn = state.get("urn")
    try:
        _, _, _, name = urn_parts(urn)
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from exc
    resource_type = state.get("type") or urn_parts(urn)[2].rpartition("$")[2]
    if is_default_provider(resource_type, name):
        return None
    inputs = state.get("inputs") or {}
    if not isinstance(inputs, dict):
        raise InputError(f"{where}: inputs of {urn} are not an object")
    custom = state.get("custom")
    if custom is None:
        custom = inferred_custom(resource_type)
    return PlannedResource(urn=urn, type=resource_type, name=name, inputs=normalise(inputs),
                           parent=state.get("parent") or None, custom=bool(custom))
