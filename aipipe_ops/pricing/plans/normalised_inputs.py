"""Resource inputs as `pulumi preview --json` shows them, so all three plan readers return the same inputs for the
same stack.

Secrets become "[secret]" (how `pulumi preview --json` shows them), whether a stack export carries ciphertext or,
with --show-secrets, plaintext; keys the engine adds to state (`__defaults`, `__meta`) are dropped; whole-number
floats become ints.
"""

from __future__ import annotations

from typing import Any

SECRET = "[secret]"
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # the key Pulumi's wire format marks a secret value with


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
