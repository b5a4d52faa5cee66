"""Overhead (`kube:system-overhead`, cluster fee) and shared-namespace policies:
--shared separate | weighted | even (docs/cost-model.md §5; Kubecost shareSplit)."""

from __future__ import annotations

from aipipe_ops.billing.attribution.scopes import keep, share


def separate(con) -> None:
    """Overhead stays its own line; shared namespaces stay with their namespace (unattributed)."""
    keep(con, "overhead", "overhead")
    keep(con, "shared_namespace", "unattributed")


def weighted(con) -> None:
    """By each run's direct cost in the scope (Kubecost shareSplit=weighted)."""
    share(con, "overhead", by_kind=False, weighted=True, share_bucket="overhead_share", keep_bucket="overhead")
    share(con, "shared_namespace", by_kind=False, weighted=True, share_bucket="shared", keep_bucket="unattributed")


def even(con) -> None:
    """Equal parts per run with direct cost in the scope (Kubecost shareSplit=even)."""
    share(con, "overhead", by_kind=False, weighted=False, share_bucket="overhead_share", keep_bucket="overhead")
    share(con, "shared_namespace", by_kind=False, weighted=False, share_bucket="shared", keep_bucket="unattributed")
