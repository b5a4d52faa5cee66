"""Read `pulumi preview --json` output (a PreviewDigest, reference/provisioning.md s4.4) into the
PlannedResource list the offline reader returns.

The digest's `steps[]` each carry `op`, `urn` and `newState` (a ResourceV3: `type`, `custom`, `inputs` in
camelCase, `parent`). A resource is in the plan when a step leaves it existing: create, update, same,
replace, create-replacement, import (and their variants); delete, delete-replaced, discard and read steps
are left out. A replaced resource appears in several steps and once in the plan. Values computed during
the update appear as Pulumi's unknown sentinel and are priced as unknown.

Not supported: the streaming form (PULUMI_ENABLE_STREAMING_JSON_PREVIEW, one engine event per line).
"""

from __future__ import annotations

from aipipe_ops.errors import InputError
from aipipe_ops.pricing.plans.resource import PlannedResource
from aipipe_ops.pricing.plans.resource_state import planned

LEAVES_NOTHING = {"delete", "delete-replaced", "discard", "discard-replaced", "read", "read-replacement",
                  "read-discard", "remove-pending-replace"}


def is_preview(document: object) -> bool:
    return isinstance(document, dict) and isinstance(document.get("steps"), list)


def read_preview(document: dict, where: str = "preview JSON") -> list[PlannedResource]:
    if not is_preview(document):
        raise InputError(f"{where}: not `pulumi preview --json` output (expected an object with `steps`)")
    resources: dict[str, PlannedResource] = {}
    for index, step in enumerate(document["steps"]):
        if not isinstance(step, dict):
            raise InputError(f"{where}: steps[{index}] is not an object")
        op = step.get("op", "")
        state = step.get("newState")
        if op in LEAVES_NOTHING or not isinstance(state, dict):
            continue
        state = {**state, "urn": state.get("urn") or step.get("urn")}
        resource = planned(state, f"{where}: steps[{index}]")
        if resource is not None and resource.urn not in resources:
            resources[resource.urn] = resource
    return list(resources.values())
