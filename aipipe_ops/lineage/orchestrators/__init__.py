"""How each orchestrator writes MLMD, found by scanning this package: each module exposes `ORCHESTRATOR` (see
base.py).

A new orchestrator (or a new version of one that writes MLMD differently) is one new file here (plus its test);
nothing else is edited.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from aipipe_ops.lineage.orchestrators.base import Orchestrator, StoreTypes


@lru_cache(maxsize=1)
def all_orchestrators() -> tuple[Orchestrator, ...]:
    found = []
    for module in pkgutil.iter_modules(__path__):
        orchestrator = getattr(importlib.import_module(f"{__name__}.{module.name}"), "ORCHESTRATOR", None)
        if isinstance(orchestrator, Orchestrator):
            found.append(orchestrator)
    return tuple(sorted(found, key=lambda o: o.priority))


def detect_orchestrators(types: StoreTypes) -> list[Orchestrator]:
    """The orchestrators that left their types in this store, in claiming order."""
    return [o for o in all_orchestrators() if o.present(types)]


__all__ = ["Orchestrator", "StoreTypes", "all_orchestrators", "detect_orchestrators"]
