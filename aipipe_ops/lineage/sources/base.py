"""The one thing a lineage source does: copy what is new or changed since the last snapshot into the workspace.

Sources are found by URI scheme (sources/__init__.py). The MLMD source (sqlite, mysql, grpc) is one; a KFP API
source (KFP is moving lineage out of MLMD, reference/lineage.md §0.11) is another file implementing the same
protocol and writing the same tables: runs, steps, artifacts (with the closed `kind` vocabulary), events.
snapshot.py owns everything around it: the workspace transaction, the load log with its watermark, and the
graph index rebuilt afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import duckdb


@dataclass
class CopyResult:
    watermark: dict[str, Any]                               # handed back on the next snapshot of the same source
    rows: dict[str, int] = field(default_factory=dict)      # rows copied (new or changed) per table
    calls: dict[str, int] = field(default_factory=dict)     # store calls per method
    orchestrators: list[str] = field(default_factory=list)  # detected, by name (the values of steps.dialect)
    full: bool = True                                       # False when only new or changed rows were read
    changed: bool = True                                    # False when the store had nothing new: no re-derivation
    notes: list[str] = field(default_factory=list)


class LineageSource(Protocol):
    display_uri: str     # for messages and the load log: never carries a secret

    def copy_into(self, con: duckdb.DuckDBPyConnection, previous: dict[str, Any] | None, progress) -> CopyResult:
        """Copy the store's lineage into the workspace tables on `con` (inside the caller's transaction).
        `previous` is the watermark of the last snapshot of this source, or None for a full copy."""

    def close(self) -> None:
        ...
