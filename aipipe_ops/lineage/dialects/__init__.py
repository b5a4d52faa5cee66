"""Lineage dialects, found by scanning this package: each module exposes `DIALECT` (see base.py).

A new dialect is one new file here (plus its test); nothing else is edited.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from aipipe_ops.lineage.dialects.base import Dialect, StoreTypes


@lru_cache(maxsize=1)
def all_dialects() -> tuple[Dialect, ...]:
    found = []
    for module in pkgutil.iter_modules(__path__):
        dialect = getattr(importlib.import_module(f"{__name__}.{module.name}"), "DIALECT", None)
        if isinstance(dialect, Dialect):
            found.append(dialect)
    return tuple(sorted(found, key=lambda d: d.priority))


def detect(types: StoreTypes) -> list[Dialect]:
    """The dialects whose writers left their types in this store, in claiming order."""
    return [d for d in all_dialects() if d.present(types)]


__all__ = ["Dialect", "StoreTypes", "all_dialects", "detect"]
