"""Shares by day: an attribution's lines, each on a usage day, for the views that count money per day
(docs/cost-model.md §12).

The attribution shares idle, overhead and shared namespaces over its whole window (§5 "Windows"), so a run's
share of a scope (bucket, currency, cluster, node pool, resource kind, namespace) carries no usage day. Here each
such share is split exactly (the attribution's largest-remainder split) over the days on which that scope's
shared money was spent, in proportion to it (attribution_share_detail): a run's part of Tuesday's idle GPU lands
on Tuesday. A share whose scope has no dated detail goes on the last usage day of the attribution rather than
vanish from a trend. Every line keeps its cost: the relation adds up to the attribution, bucket by bucket.
"""

from __future__ import annotations

from aipipe_ops.billing.attribution.split import split_sql
from aipipe_ops.sql import DUCKDB

SCOPE = ("bucket", "currency", "cluster", "node_pool", "resource_kind", "namespace")
RELATION = "attribution_lines_by_day"


def create_lines_by_day(con, attribution_id: int, name: str = RELATION) -> str:
    """Create the temp table `name`: the columns of attribution_lines for `attribution_id`, every line with a
    usage_day (dated lines as they are, undated shares spread over their days). Returns `name`."""
    aid = DUCKDB.literal(int(attribution_id))
    lines, groups, days = f"_{name}_source", f"_{name}_groups", f"_{name}_days"
    same_scope = " AND ".join(f"d.{c} IS NOT DISTINCT FROM g.{c}" for c in SCOPE)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {lines} AS SELECT * FROM attribution_lines WHERE attribution_id = {aid}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {groups} AS "
                f"SELECT row_number() OVER () AS group_id, * FROM {lines} WHERE usage_day IS NULL")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {days} AS
        SELECT g.group_id, d.usage_day AS recipient, sum(d.cost) AS weight
        FROM {groups} g JOIN attribution_share_detail d
          ON d.attribution_id = g.attribution_id AND {same_scope} AND d.usage_day IS NOT NULL
        GROUP BY g.group_id, d.usage_day
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {name} AS
        SELECT * FROM {lines} WHERE usage_day IS NOT NULL
        UNION ALL BY NAME
        SELECT g.* EXCLUDE (group_id, usage_day, cost), p.recipient AS usage_day, p.amount AS cost
        FROM ({split_sql(f"(SELECT group_id, cost AS amount FROM {groups})", days)}) p
        JOIN {groups} g USING (group_id)
        UNION ALL BY NAME
        SELECT g.* EXCLUDE (group_id, usage_day), (SELECT max(usage_day) FROM {lines}) AS usage_day
        FROM {groups} g WHERE group_id NOT IN (SELECT group_id FROM {days})
    """)
    for table in (lines, groups, days):
        con.execute(f"DROP TABLE {table}")
    return name
