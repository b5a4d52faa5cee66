"""What the preview and export readers share: URN parts, which resources a plan lists, and input
normalisation, so all three plan readers return the same PlannedResource list for the same stack.

- Default providers (`pulumi:providers:<pkg>` named `default...`) are created by the engine, not by the
  program, and an offline run never registers them: readers drop them. Explicit providers stay.
- Secrets become "[secret]" (how `pulumi preview --json` shows them), whether a stack export carries
  ciphertext or, with --show-secrets, plaintext; keys the engine adds to state (`__defaults`, `__meta`)
  are dropped; whole-number floats become ints.
"""

from __future__ import annotations

from typing import Any

from aipipe_ops.errors import InputError
from aipipe_ops.pricing.plans.resource import PlannedResource

SECRET = "[secret]"
SECRET_SIG = "4dabf18193072939515e22adb298388d"


def urn_parts(urn: str) -> tuple[str, str, str, str]:
    """(stack, project, qualified type, name) of `urn:pulumi:<stack>::<project>::<type>::<name>`."""
    if not isinstance(urn, str) or not urn.startswith("urn:pulumi:"):
        raise ValueError(f"not a Pulumi URN: {urn!r}")
    head, project, qualified, *name = urn[len("urn:pulumi:"):].split("::")
    return head, project, qualified, "::".join(name)


def is_default_provider(resource_type: str, name: str) -> bool:
    return resource_type.startswith("pulumi:providers:") and name.startswith("default")


def normalise(value: Any, *, keep_internal: bool = False) -> Any:
    """Inputs as preview JSON shows them: secrets blinded, whole-number floats (the wire has only doubles)
    as ints, and keys starting with "__" dropped unless `keep_internal` (the offline run keeps what the
    program registered)."""
    if isinstance(value, dict):
        if SECRET_SIG in value:
            return SECRET
        return {k: normalise(v, keep_internal=keep_internal) for k, v in value.items()
                if keep_internal or not k.startswith("__")}
    if isinstance(value, list):
        return [normalise(v, keep_internal=keep_internal) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


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


def stack_and_project(resources: list[PlannedResource]) -> tuple[str | None, str | None]:
    for resource in resources:
        stack, project, _, _ = urn_parts(resource.urn)
        return stack, project
    return None, None
