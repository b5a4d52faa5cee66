"""Reading resource inputs as plans carry them: camelCase keys, numbers that may be floats (the wire has
only doubles), values unknown until apply, and secrets.

`pulumi preview --json` shows a value that is computed during the update as the sentinel string below and
a secret as "[secret]"; a stack export shows secrets as objects tagged with Pulumi's secret signature.
A priced input that is unknown or secret makes the line unpriced, with the input named.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from aipipe_ops.pricing.plans.normalised_inputs import SECRET, SECRET_SIG

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # Pulumi's UnknownStringValue
# The engine's sentinels for unknown booleans, numbers, arrays, assets, archives and objects (pulumi-policy
# passes them through as they are).
UNKNOWN_SENTINELS = frozenset({
    UNKNOWN, "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", "030794c1-ac77-496b-92df-f27374a8bd58",
    "e48ece36-62e2-4504-bad9-02848725956a", "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
})


class Unknown(Exception):
    """A priced input whose value is not known before apply (or is secret)."""

    def __init__(self, path: str, why: str = "not known until the update runs"):
        super().__init__(f"input {path} is {why}")
        self.path = path


def is_unknown(value: Any) -> bool:
    return (isinstance(value, str) and value in UNKNOWN_SENTINELS) or (isinstance(value, dict) and SECRET_SIG in value)


def is_secret(value: Any) -> bool:
    return value == SECRET or (isinstance(value, dict) and SECRET_SIG in value)


def get(inputs: dict, path: str, default: Any = None) -> Any:
    """inputs["a"]["b"] for path "a.b"; `default` when any step is missing or null. Raises Unknown for an
    unknown or secret value on the way."""
    value: Any = inputs
    walked = []
    for part in path.split("."):
        walked.append(part)
        if is_secret(value) or is_unknown(value):
            raise Unknown(".".join(walked[:-1]), "secret" if is_secret(value) else "not known until the update runs")
        if not isinstance(value, dict) or value.get(part) is None:
            return default
        value = value[part]
    if is_secret(value):
        raise Unknown(path, "secret")
    if is_unknown(value):
        raise Unknown(path)
    return value


def number(inputs: dict, path: str, default: Decimal | None = None) -> Decimal | None:
    value = get(inputs, path)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ValueError(f"input {path} is {value!r}, expected a number")
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"input {path} is {value!r}, expected a number") from exc


def flag(inputs: dict, path: str) -> bool:
    value = get(inputs, path)
    return value is True or (isinstance(value, str) and value.lower() == "true")

