"""Idle (`kube:unallocated`) policies: --idle separate | share (docs/cost-model.md §5).

Each policy reads the classified lines of class `idle` and the runs' weights (scopes.build_weights) and appends
to the allocation: `separate` to its lines only, `share` to its lines and its detail.
"""

from __future__ import annotations

import duckdb

from aipipe_ops.billing.attribution.allocation import Allocation
from aipipe_ops.billing.attribution.scopes import keep, share


def separate(con: duckdb.DuckDBPyConnection, classified: str, weights: str, into: Allocation) -> None:
    """Idle stays its own line per cluster, node pool and resource kind (Kubecost: Separate By Node)."""
    keep(con, classified, "idle", "idle", into=into.lines)


def share_by_resource(con: duckdb.DuckDBPyConnection, classified: str, weights: str, into: Allocation) -> None:
    """Kubecost shareIdle: per node pool and resource kind, by the runs' direct cost of that kind there."""
    share(con, classified, weights, "idle", by_kind=True, weighted=True, share_bucket="idle_share",
          keep_bucket="idle", into=into)
