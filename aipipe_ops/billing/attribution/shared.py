"""Overhead (`kube:system-overhead`, cluster fee) and shared-namespace policies:
--shared separate | weighted | even (docs/cost-model.md §5; Kubecost shareSplit).

Each policy reads the classified lines of classes `overhead` and `shared_namespace` and the runs' weights
(scopes.build_weights) and appends to the allocation: `separate` to its lines only, the others to its lines and its
detail.
"""

from __future__ import annotations

import duckdb

from aipipe_ops.billing.attribution.allocation import Allocation
from aipipe_ops.billing.attribution.scopes import keep, share


def separate(con: duckdb.DuckDBPyConnection, classified: str, weights: str, into: Allocation) -> None:
    """Overhead stays its own line; shared namespaces stay with their namespace (unattributed)."""
    keep(con, classified, "overhead", "overhead", into=into.lines)
    keep(con, classified, "shared_namespace", "unattributed", into=into.lines)


def weighted(con: duckdb.DuckDBPyConnection, classified: str, weights: str, into: Allocation) -> None:
    """By each run's direct cost in the scope (Kubecost shareSplit=weighted)."""
    share(con, classified, weights, "overhead", by_kind=False, weighted=True, share_bucket="overhead_share",
          keep_bucket="overhead", into=into)
    share(con, classified, weights, "shared_namespace", by_kind=False, weighted=True, share_bucket="shared",
          keep_bucket="unattributed", into=into)


def even(con: duckdb.DuckDBPyConnection, classified: str, weights: str, into: Allocation) -> None:
    """Equal parts per run with direct cost in the scope (Kubecost shareSplit=even)."""
    share(con, classified, weights, "overhead", by_kind=False, weighted=False, share_bucket="overhead_share",
          keep_bucket="overhead", into=into)
    share(con, classified, weights, "shared_namespace", by_kind=False, weighted=False, share_bucket="shared",
          keep_bucket="unattributed", into=into)
