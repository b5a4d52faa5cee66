"""Sharing a class of cost (idle, overhead, shared namespaces) among the workloads of its scope, or keeping it.

A cost's scope is its currency, US/Pacific usage day, cluster and node pool (the cluster alone when the export names
no pool): a day's idle goes to the runs that used the pool that day, and an attribution is the sum of its days, so
a load that changes some days re-attributes those days only.
Recipients are the workloads -- pipeline runs and every other workload (docs/cost-model.md §2) -- with direct cost
in that scope; with `by_kind`, first those with direct cost of the same resource kind there (Kubecost shares idle
per resource), falling back to the whole scope. A share carries its recipient's namespace and labels. Money is never moved to
another node pool; a scope without workloads keeps its money in `keep_bucket`.

The steps, each reading the classified lines (`classify_lines`) and writing what its signature names:
- `keep`: reads the classified lines of one class; appends them to the allocation's lines under a bucket.
- `build_weights`: reads the direct classified lines; writes each workload's direct cost per scope level.
- `share`: reads the classified lines of one class and the weights; writes its scope groups and their recipients,
  appends the shares (and the money of scopes without runs) to the allocation's lines and the shared money's day/SKU
  picture to the allocation's detail.
"""

from __future__ import annotations

import duckdb

from aipipe_ops.billing.attribution.allocation import DETAIL, RECIPIENT, Allocation
from aipipe_ops.billing.attribution.split import split_sql
from aipipe_ops.sql import DUCKDB

SCOPE = ("currency", "usage_day", "project", "cluster", "node_pool", "resource_kind", "namespace")
# A recipient's key in a split (unique per recipient; orders the largest-remainder ties).
RECIPIENT_KEY = "coalesce('run:' || run_id, 'workload:' || workload)"


def build_weights(con: duckdb.DuckDBPyConnection, classified: str, *, into: str) -> str:
    """Reads the direct lines of `classified`; writes `into` (level, currency, usage_day, project, cluster,
    node_pool, resource_kind, recipient, run_id, pipeline, workload, recipient_namespace, direct): each workload's
    direct cost per day and scope level (pool_kind, pool, cluster_kind, cluster); returns `into`."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {into} AS
        SELECT CASE grouping(node_pool, resource_kind)
                    WHEN 0 THEN 'pool_kind' WHEN 1 THEN 'pool' WHEN 2 THEN 'cluster_kind' ELSE 'cluster' END AS level,
               currency, usage_day, project, cluster, node_pool, resource_kind, recipient, any_value(run_id) AS run_id,
               any_value(pipeline) AS pipeline, any_value(workload) AS workload,
               min(namespace) AS recipient_namespace, min(kept_labels) AS recipient_labels, sum(cost) AS direct
        FROM (SELECT *, {RECIPIENT_KEY} AS recipient FROM {classified} WHERE class = 'direct')
        GROUP BY GROUPING SETS ((currency, usage_day, project, cluster, node_pool, resource_kind, recipient),
                                (currency, usage_day, project, cluster, node_pool, recipient),
                                (currency, usage_day, project, cluster, resource_kind, recipient),
                                (currency, usage_day, project, cluster, recipient))
    """)
    return into


def keep(con: duckdb.DuckDBPyConnection, classified: str, cost_class: str, bucket: str, *, into: str) -> None:
    """Reads the `cost_class` lines of `classified`; appends them to `into` (allocation lines) unchanged, as `bucket`,
    with every detail (day, SKU) and their run or workload (which only direct lines have)."""
    _keep_rows(con, classified, cost_class, bucket, into)


def share(con: duckdb.DuckDBPyConnection, classified: str, weights: str, cost_class: str, *, by_kind: bool,
          weighted: bool, share_bucket: str, keep_bucket: str, into: Allocation, groups: str = "att_groups",
          recipients: str = "att_recipients") -> None:
    """Reads the `cost_class` lines of `classified` and `weights` (build_weights); writes `groups` and
    `recipients`; appends to `into.lines` the shares (`share_bucket`) and the lines of scopes without runs
    (`keep_bucket`), and to `into.detail` the shared lines by day and SKU.

    The money of a scope (currency, usage day, project, cluster, node pool, resource kind, namespace) is split
    once, as a whole, among the scope's workloads: a day of hourly idle in a pool is one split over that day's
    workloads in the pool, not one per hour and SKU. Shares carry the scope (with its day), not the SKU; the detail keeps the day/SKU
    picture (without runs).
    """
    scope_groups(con, classified, cost_class, into=groups)
    scope_recipients(con, groups, weights, by_kind=by_kind, weighted=weighted, into=recipients)
    con.execute(f"""
        INSERT INTO {into.lines} (bucket, run_id, pipeline, workload, project, cluster, node_pool, namespace,
                                  resource_kind, usage_day, currency, kept_labels, cost)
        SELECT {DUCKDB.quote(share_bucket)}, r.run_id, r.pipeline, r.workload, g.project, g.cluster, g.node_pool,
               r.recipient_namespace, g.resource_kind, g.usage_day, g.currency, r.recipient_labels, p.amount
        FROM ({split_sql(groups, recipients, money_weights=weighted)}) AS p
        JOIN {groups} g USING (group_id)
        JOIN {recipients} r ON r.group_id = p.group_id AND r.recipient = p.recipient
    """)
    shared_scopes = f"(SELECT DISTINCT g.* FROM {groups} g JOIN {recipients} r USING (group_id))"
    _keep_rows(con, classified, cost_class, keep_bucket, into.lines, unless_in=shared_scopes)
    _detail(con, classified, cost_class, share_bucket, into.detail, shared_scopes)


def scope_groups(con: duckdb.DuckDBPyConnection, classified: str, cost_class: str, *, into: str) -> str:
    """Reads the `cost_class` lines of `classified`; writes `into` (group_id, SCOPE..., amount), one group per
    scope; returns `into`."""
    scope = ", ".join(SCOPE)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {into} AS
        SELECT row_number() OVER () AS group_id, {scope}, sum(cost) AS amount
        FROM {classified} WHERE class = {DUCKDB.quote(cost_class)} GROUP BY {scope}
    """)
    return into


def scope_recipients(con: duckdb.DuckDBPyConnection, groups: str, weights: str, *, by_kind: bool, weighted: bool,
                     into: str) -> str:
    """Reads `groups` (scope_groups) and `weights` (build_weights); writes `into` (group_id, recipient, weight,
    run_id, pipeline, workload, recipient_namespace): the workloads each group is split among, at the narrowest
    level that has any; returns `into`."""
    kind_levels = "'pool_kind', 'cluster_kind'" if by_kind else "NULL"
    weight = "w.direct" if weighted else "1"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {into} AS
        SELECT group_id, recipient, weight, run_id, pipeline, workload, recipient_namespace, recipient_labels FROM (
            SELECT g.group_id, w.recipient, {weight} AS weight, w.run_id, w.pipeline, w.workload,
                   w.recipient_namespace, w.recipient_labels,
                   CASE WHEN w.level IN ({kind_levels}) THEN 1 ELSE 2 END AS rank
            FROM {groups} g JOIN {weights} w
              ON w.currency = g.currency AND w.usage_day = g.usage_day AND w.project IS NOT DISTINCT FROM g.project
             AND w.cluster IS NOT DISTINCT FROM g.cluster
             AND ((g.node_pool IS NOT NULL AND w.node_pool = g.node_pool
                   AND (w.level = 'pool' OR (w.level IN ({kind_levels}) AND w.resource_kind = g.resource_kind)))
               OR (g.node_pool IS NULL
                   AND (w.level = 'cluster' OR (w.level IN ({kind_levels}) AND w.level = 'cluster_kind'
                                                AND w.resource_kind = g.resource_kind))))
        ) QUALIFY rank = min(rank) OVER (PARTITION BY group_id)
    """)
    return into


def same_scope_sql(left: str, right: str) -> str:
    """The condition that rows of aliases `left` and `right` have the same SCOPE (NULL matching NULL)."""
    return " AND ".join(f"{left}.{c} IS NOT DISTINCT FROM {right}.{c}" for c in SCOPE)


def _keep_rows(con, classified: str, cost_class: str, bucket: str, lines: str, *,
               unless_in: str | None = None) -> None:
    """Lines that stay in their own bucket keep every detail (day, SKU); `unless_in`: a relation of SCOPE
    columns whose scopes were shared instead."""
    detail = ", ".join(RECIPIENT + DETAIL)
    condition = "true" if unless_in is None else \
        f"NOT EXISTS (SELECT 1 FROM {unless_in} s WHERE {same_scope_sql('s', 'b')})"
    con.execute(f"""
        INSERT INTO {lines} (bucket, {detail}, cost)
        SELECT {DUCKDB.quote(bucket)}, {detail}, cost FROM {classified} b
        WHERE class = {DUCKDB.quote(cost_class)} AND {condition}
    """)


def _detail(con, classified: str, cost_class: str, bucket: str, detail_table: str, shared_scopes: str) -> None:
    """Shared money by day and SKU, without runs: what `costs --by day|sku|kind` shows for shares."""
    detail = ", ".join(DETAIL)
    con.execute(f"""
        INSERT INTO {detail_table} (bucket, {detail}, cost)
        SELECT {DUCKDB.quote(bucket)}, {detail}, cost FROM {classified} b
        WHERE class = {DUCKDB.quote(cost_class)}
          AND EXISTS (SELECT 1 FROM {shared_scopes} s WHERE {same_scope_sql('s', 'b')})
    """)
