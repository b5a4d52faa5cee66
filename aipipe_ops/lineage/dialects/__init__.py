"""Lineage dialects, found by scanning this package: each module exposes `DIALECT` (see base.py).

A new dialect is one new file here (plus its test); nothing else is edited.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from aipipe_ops.lineage.dialects.base import Dialect, StoreTypes

_NOT_DIALECTS = {"base", "common"}


@lru_cache(maxsize=1)
def all_dialects() -> tuple[Dialect, ...]:
    found = []
    for module in pkgutil.iter_modules(__path__):
        if module.name in _NOT_DIALECTS:
            continue
        dialect = getattr(importlib.import_module(f"{__name__}.{module.name}"), "DIALECT", None)
        if isinstance(dialect, Dialect):
            found.append(dialect)
    return tuple(sorted(found, key=lambda d: d.priority))


def detect(types: StoreTypes) -> list[Dialect]:
    """The dialects whose writers left their types in this store, in claiming order."""
    return [d for d in all_dialects() if d.present(types)]


def by_name(name: str) -> Dialect:
    for dialect in all_dialects():
        if dialect.name == name:
            return dialect
    raise KeyError(name)


__all__ = ["Dialect", "StoreTypes", "all_dialects", "by_name", "detect"]
