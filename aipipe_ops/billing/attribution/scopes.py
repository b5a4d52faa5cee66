"""Sharing a class of cost (idle, overhead, shared namespaces) among the runs of its scope.

A cost's scope is its currency, cluster and node pool (the cluster alone when the export names no pool).
Recipients are the runs with direct cost in that scope; with `by_kind`, first those with direct cost of the
same resource kind there (Kubecost shares idle per resource), falling back to the whole scope. Money is never
moved to another node pool; a scope without runs keeps its money in `keep_bucket`.
"""

from __future__ import annotations

import duckdb

from aipipe_ops.billing.attribution.split import split_sql
from aipipe_ops.sql import DUCKDB

LINE_COLUMNS = ("bucket", "run_id", "pipeline", "cluster", "node_pool", "namespace", "service", "sku_id", "sku",
                "resource_kind", "usage_day", "currency", "cost")
DETAIL = ("cluster", "node_pool", "namespace", "service", "sku_id", "sku", "resource_kind", "usage_day", "currency")


def build_weights(con: duckdb.DuckDBPyConnection) -> None:
    """att_weights: each run's direct cost per scope level (pool+kind, pool, cluster+kind, cluster)."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE att_weights AS
        SELECT CASE grouping(node_pool, resource_kind)
                    WHEN 0 THEN 'pool_kind' WHEN 1 THEN 'pool' WHEN 2 THEN 'cluster_kind' ELSE 'cluster' END AS level,
               currency, cluster, node_pool, resource_kind, run_id, any_value(pipeline) AS pipeline,
               sum(cost) AS direct
        FROM att_base WHERE class = 'direct'
        GROUP BY GROUPING SETS ((currency, cluster, node_pool, resource_kind, run_id),
                                (currency, cluster, node_pool, run_id),
                                (currency, cluster, resource_kind, run_id),
                                (currency, cluster, run_id))
    """)


def share(con: duckdb.DuckDBPyConnection, cost_class: str, *, by_kind: bool, weighted: bool,
          share_bucket: str, keep_bucket: str) -> None:
    """Move att_base rows of `cost_class` into att_lines: shared among their scope's runs, or kept.

    The money of a scope (currency, cluster, node pool, resource kind, namespace) is split once, as a whole,
    among the scope's runs: a year of hourly idle in a pool is one split over that pool's runs, not one per
    day and SKU. Shares carry the scope, not the day or SKU; att_detail keeps the day/SKU picture (without runs).
    """
    scope = "currency, cluster, node_pool, resource_kind, namespace"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE att_groups AS
        SELECT row_number() OVER () AS group_id, {scope}, sum(cost) AS amount
        FROM att_base WHERE class = {DUCKDB.quote(cost_class)} GROUP BY {scope}
    """)
    kind_levels = "'pool_kind', 'cluster_kind'" if by_kind else "NULL"
    weight = "w.direct" if weighted else "1"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE att_recipients AS
        SELECT group_id, recipient, weight, pipeline FROM (
            SELECT g.group_id, w.run_id AS recipient, {weight} AS weight, w.pipeline,
                   CASE WHEN w.level IN ({kind_levels}) THEN 1 ELSE 2 END AS rank
            FROM att_groups g JOIN att_weights w
              ON w.currency = g.currency AND w.cluster IS NOT DISTINCT FROM g.cluster
             AND ((g.node_pool IS NOT NULL AND w.node_pool = g.node_pool
                   AND (w.level = 'pool' OR (w.level IN ({kind_levels}) AND w.resource_kind = g.resource_kind)))
               OR (g.node_pool IS NULL
                   AND (w.level = 'cluster' OR (w.level IN ({kind_levels}) AND w.level = 'cluster_kind'
                                                AND w.resource_kind = g.resource_kind))))
        ) QUALIFY rank = min(rank) OVER (PARTITION BY group_id)
    """)
    con.execute(f"""
        INSERT INTO att_lines (bucket, run_id, pipeline, cluster, node_pool, namespace, resource_kind, currency, cost)
        SELECT {DUCKDB.quote(share_bucket)}, p.recipient, r.pipeline, g.cluster, g.node_pool, g.namespace,
               g.resource_kind, g.currency, p.amount
        FROM ({split_sql('att_groups', 'att_recipients', money_weights=weighted)}) AS p
        JOIN att_groups g USING (group_id)
        JOIN att_recipients r ON r.group_id = p.group_id AND r.recipient = p.recipient
    """)
    shared_scopes = "(SELECT DISTINCT g.* FROM att_groups g JOIN att_recipients r USING (group_id))"
    _keep_rows(con, cost_class, keep_bucket, f"NOT EXISTS (SELECT 1 FROM {shared_scopes} s WHERE {_same_scope('s')})")
    _detail(con, cost_class, share_bucket, f"EXISTS (SELECT 1 FROM {shared_scopes} s WHERE {_same_scope('s')})")


def _same_scope(alias: str) -> str:
    return " AND ".join(f"{alias}.{c} IS NOT DISTINCT FROM b.{c}"
                        for c in ("currency", "cluster", "node_pool", "resource_kind", "namespace"))


def _keep_rows(con, cost_class: str, bucket: str, condition: str = "true") -> None:
    """Rows that stay in their own bucket keep every detail (day, SKU)."""
    detail = ", ".join(DETAIL)
    con.execute(f"""
        INSERT INTO att_lines ({', '.join(LINE_COLUMNS)})
        SELECT {DUCKDB.quote(bucket)}, NULL, NULL, {detail}, cost FROM att_base b
        WHERE class = {DUCKDB.quote(cost_class)} AND {condition}
    """)


def _detail(con, cost_class: str, bucket: str, condition: str) -> None:
    """Shared money by day and SKU, without runs: what `costs --by day|sku|kind` shows for shares."""
    detail = ", ".join(DETAIL)
    con.execute(f"""
        INSERT INTO att_detail (bucket, {detail}, cost)
        SELECT {DUCKDB.quote(bucket)}, {detail}, cost FROM att_base b
        WHERE class = {DUCKDB.quote(cost_class)} AND {condition}
    """)


def keep(con: duckdb.DuckDBPyConnection, cost_class: str, bucket: str) -> None:
    """Move att_base rows of `cost_class` into att_lines unchanged, as `bucket`."""
    _keep_rows(con, cost_class, bucket)
