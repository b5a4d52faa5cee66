"""Idle (`kube:unallocated`) policies: --idle separate | share (docs/cost-model.md §5)."""

from __future__ import annotations

from aipipe_ops.billing.attribution.scopes import keep, share


def separate(con) -> None:
    """Idle stays its own line per cluster, node pool and resource kind (Kubecost: Separate By Node)."""
    keep(con, "idle", "idle")


def share_by_resource(con) -> None:
    """Kubecost shareIdle: per node pool and resource kind, by the runs' direct cost of that kind there."""
    share(con, "idle", by_kind=True, weighted=True, share_bucket="idle_share", keep_bucket="idle")
