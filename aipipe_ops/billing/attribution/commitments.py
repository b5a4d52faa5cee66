"""Commitments: --commitments amortize (default) | separate (docs/cost-model.md §13).

A resource-based commitment bills its fee every hour (SKUs "Commitment v1: ..."), whether used or not, and gives the
usage it covers a COMMITTED_USAGE_DISCOUNT credit that cancels its on-demand price. Left as they are, the covered
usage looks almost free and the fee sits apart. Amortised, the fee goes to the usage it covered:

- a *pool* is one usage hour, region, currency and resource kind (a fee takes the kind it commits: "A2 Cpu" is cpu);
  its fee F is the pool's fee lines, its committed units U their usage amount (vCPU-, byte- or GPU-seconds);
- a covered line covers usage_amount x |cud credit| / cost units (the covered part of its usage); utilisation
  u = min(1, covered units / U);
- absorbed = F x u is split over the pool's covered lines in proportion to their commitment credit, exactly; the fee
  lines keep F - absorbed, the *unused commitment*;
- every line's cost is then its effective cost (net + its part of the fees), and idle, overhead and shared namespaces
  are shared by effective cost.

Spend-based commitments of the 2026 model bill covered usage at its discounted price and offset the fee with
FEE_UTILIZATION_OFFSET credits: the fee lines' net is what went unused, and it stays there (there is nothing to
spread). A pool whose export lacks usage amounts counts as fully used when it has covered lines.

`amortize` and `separate` have one signature, `(con, window, into) -> str`: they read cost_lines in the window and
write `into`, the lines attribution classifies (cost_lines' columns, net_cost = effective cost under amortize), and
return the bucket the fee lines' remaining money is kept in.
"""

from __future__ import annotations

import duckdb

from aipipe_ops.billing.attribution.split import split_sql
from aipipe_ops.billing.normalise import KEYS, UsageWindow

def fee_sql(sku: str = "sku") -> str:
    """The condition that a line is a commitment's fee, from its SKU description column `sku` (reference/billing.md
    §4.1: Google's CUD-fee query matches the description)."""
    return f"lower({sku}) LIKE 'commitment%'"


FEE_SQL = fee_sql()
POOL = ("usage_start", "region", "currency", "resource_kind")
# A line's place in a split's tie-break: its key columns (normalise.KEYS), never its rowid, which depends on the
# order a parallel insert wrote the lines in: the same export gives the same nano-units to the same lines.
LINE_ORDER = ", ".join(f"l.{name} NULLS FIRST" for name, _ in KEYS)


def separate(con: duckdb.DuckDBPyConnection, window: UsageWindow, into: str) -> str:
    """Fees stay whole, in their own bucket; costs are net costs."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW {into} AS SELECT * FROM cost_lines WHERE {window.where_sql()}")
    return "commitment"


def amortize(con: duckdb.DuckDBPyConnection, window: UsageWindow, into: str) -> str:
    """Fees spread over the usage they covered; what no usage absorbed stays as unused commitment.

    Only the fee lines and the covered lines are read again (a line is named by its rowid in cost_lines): `into` is
    a view of the window's cost lines with each one's part of the fees added to its net cost, not a copy."""
    where = window.where_sql()
    same_pool = " AND ".join(f"l.{k} IS NOT DISTINCT FROM p.{k}" for k in POOL)
    keys = ", ".join(POOL)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE att_fee_pools AS
        SELECT row_number() OVER () AS group_id, {keys}, sum(net_cost) AS fee, sum(usage_amount) AS committed
        FROM cost_lines WHERE {where} AND {FEE_SQL} GROUP BY {keys}
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE att_covered AS
        SELECT p.group_id, l.rowid AS line_id, row_number() OVER (ORDER BY {LINE_ORDER}) AS recipient,
               -l.cud_credits AS weight,
               CASE WHEN l.cost > 0 THEN l.usage_amount * CAST(-l.cud_credits AS DOUBLE) / CAST(l.cost AS DOUBLE)
               END AS units
        FROM cost_lines l JOIN att_fee_pools p ON {same_pool}
        WHERE {window.where_sql('l')} AND l.cud_credits < 0 AND NOT ({fee_sql('l.sku')})
    """)
    # absorbed = F x min(1, covered / committed), rounded once to the nano-unit: the splits below move it exactly.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE att_absorbed AS
        SELECT p.group_id,
               CASE WHEN c.n IS NULL THEN CAST(0 AS DECIMAL(38, 9))
                    WHEN p.committed IS NULL OR p.committed <= 0 OR c.units IS NULL THEN p.fee
                    ELSE CAST(CAST(p.fee AS DOUBLE) * least(1.0, c.units / p.committed) AS DECIMAL(38, 9)) END
               AS amount
        FROM att_fee_pools p
        LEFT JOIN (SELECT group_id, count(*) AS n, sum(units) AS units FROM att_covered GROUP BY group_id) c
          USING (group_id)
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE att_fee_lines AS
        SELECT p.group_id, l.rowid AS line_id, row_number() OVER (ORDER BY {LINE_ORDER}) AS recipient,
               l.net_cost AS weight
        FROM cost_lines l JOIN att_fee_pools p ON {same_pool}
        WHERE {window.where_sql('l')} AND {fee_sql('l.sku')}
    """)
    # The absorbed money leaves the fee lines (in proportion to their fee) and reaches the covered lines (in
    # proportion to their commitment credit): two exact splits of the same amounts, so every cent stays.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE att_amortised AS
        SELECT line_id, sum(amount) AS amount FROM (
            SELECT c.line_id, p.amount
            FROM ({split_sql('att_absorbed', 'att_covered', money_weights=True)}) p
            JOIN att_covered c USING (group_id, recipient)
            UNION ALL
            SELECT f.line_id, -p.amount
            FROM ({split_sql('att_absorbed', 'att_fee_lines', money_weights=True)}) p
            JOIN att_fee_lines f USING (group_id, recipient)
        ) GROUP BY line_id
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW {into} AS
        SELECT c.* REPLACE (c.net_cost + coalesce(a.amount, 0) AS net_cost)
        FROM cost_lines c LEFT JOIN att_amortised a ON a.line_id = c.rowid
        WHERE {window.where_sql('c')}
    """)
    return "unused_commitment"
