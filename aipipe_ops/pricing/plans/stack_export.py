"""Read `pulumi stack export` output (`{"version": 3, "deployment": {"resources": [ResourceV3...]}}`,
reference/provisioning.md s4.4) into the PlannedResource list the offline reader returns.

Each resource's `inputs` are what the program asked for (camelCase), which is what the estimate prices;
`outputs` are ignored. Resources marked `delete: true` (pending deletion after a replace) are left out.
Secrets, as ciphertext or with --show-secrets as plaintext, read as "[secret]".
"""

from __future__ import annotations

from aipipe_ops.errors import InputError
from aipipe_ops.pricing.plans.resource import PlannedResource
from aipipe_ops.pricing.plans.resource_state import planned

SUPPORTED_VERSIONS = (3,)


def is_stack_export(document: object) -> bool:
    return isinstance(document, dict) and isinstance(document.get("deployment"), dict)


def read_stack_export(document: dict, where: str = "stack export") -> list[PlannedResource]:
    if not is_stack_export(document):
        raise InputError(f"{where}: not `pulumi stack export` output (expected an object with `deployment`)")
    version = document.get("version")
    if version not in SUPPORTED_VERSIONS:
        raise InputError(f"{where}: deployment version {version!r}; aipipe reads version 3 "
                         "(`pulumi stack export` of Pulumi 3.x)")
    states = document["deployment"].get("resources") or []
    if not isinstance(states, list):
        raise InputError(f"{where}: deployment.resources is not a list")
    resources = []
    for index, state in enumerate(states):
        if not isinstance(state, dict):
            raise InputError(f"{where}: deployment.resources[{index}] is not an object")
        if state.get("delete"):
            continue
        resource = planned(state, f"{where}: deployment.resources[{index}]")
        if resource is not None:
            resources.append(resource)
    return resources
