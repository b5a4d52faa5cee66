"""Lineage sources, found by URI scheme: each module here that declares `SCHEMES` and `open_source(uri, **kw)`
serves those schemes (mlmd_source.py: sqlite, mysql, grpc, grpcs). A KFP API source is one more such file."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from aipipe_ops.errors import ConfigError
from aipipe_ops.lineage.sources.base import CopyResult, LineageSource
from aipipe_ops.lineage.sources.uri import EXAMPLES, StoreUri, parse_store_uri


@lru_cache(maxsize=1)
def _openers() -> dict[str, object]:
    found = {}
    for module in pkgutil.iter_modules(__path__):
        mod = importlib.import_module(f"{__name__}.{module.name}")
        for scheme in getattr(mod, "SCHEMES", ()):
            found[scheme] = mod.open_source
    return found


def supported_schemes() -> list[str]:
    return sorted(_openers())


def open_source(uri: str | StoreUri, **options) -> LineageSource:
    """Open the source behind a --mlmd URI (read-only); raises ConfigError/SourceError with the reason."""
    parsed = parse_store_uri(uri) if isinstance(uri, str) else uri
    opener = _openers().get(parsed.scheme)
    if opener is None:
        raise ConfigError(f"--mlmd {parsed.display}: unsupported scheme {parsed.scheme!r}; "
                          f"supported: {', '.join(supported_schemes())} (e.g. {EXAMPLES})")
    return opener(parsed, **options)


__all__ = ["CopyResult", "LineageSource", "StoreUri", "open_source", "parse_store_uri", "supported_schemes"]
