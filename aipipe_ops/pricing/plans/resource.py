"""The resource a plan reader returns, whatever it read (an offline run, a preview, a stack export)."""

from __future__ import annotations

from dataclasses import dataclass

STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class PlannedResource:
    urn: str  # urn:pulumi:<stack>::<project>::<[parentType$]type>::<name>
    type: str  # e.g. "gcp:container/nodePool:NodePool"
    name: str  # the logical (Pulumi) name
    inputs: dict  # camelCase keys, as `pulumi preview --json` shows in steps[].newState.inputs
    parent: str | None  # parent URN; None for the stack itself
    custom: bool  # False for ComponentResources (and the stack)


def make_urn(stack: str, project: str, parent: str | None, type_: str, name: str) -> str:
    """The URN the Pulumi engine gives a resource: its type qualified by its ancestors' types.

    The root stack is not part of the chain: a resource whose parent is the stack has a bare type.
    """
    qualified = type_
    if parent:
        parent_type = qualified_type(parent)
        if parent_type != STACK_TYPE:
            qualified = f"{parent_type}${type_}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def qualified_type(urn: str) -> str:
    """`a$b$c` from `urn:pulumi:stack::project::a$b$c::name`."""
    return urn.split("::")[2]
