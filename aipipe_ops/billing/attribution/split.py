"""Exact splitting: a sum of money divided among recipients without creating or losing a nano-unit.

Each part is floor(|amount| x weight / total weight) in nano-units, with the sign of the amount; the nano-units
left over go one each to the largest remainders, ties to the smaller recipient key (largest-remainder method).
Integer arithmetic in HUGEINT: |amount| and weights are below 10^18 nano-units (a billion in the currency),
so their product stays below 2^127. Weights are the positive part of what the caller gives; a group whose
weights are all zero (or NULL) is split evenly.
"""

from __future__ import annotations

import duckdb

NANOS = 1_000_000_000
MONEY = "DECIMAL(38, 9)"


def split_sql(amounts: str, weights: str) -> str:
    """SELECT group_id, recipient, amount.

    amounts: a table or subquery with (group_id, amount); weights: (group_id, recipient, weight), recipient a
    sortable key. Groups without recipients produce no rows (the caller keeps their money).
    """
    return f"""
        WITH w AS (
            SELECT group_id, recipient,
                   CAST(greatest(coalesce(weight, 0), 0) * {NANOS} AS HUGEINT) AS wn
            FROM {weights}
        ),
        wt AS (
            SELECT group_id, recipient,
                   CASE WHEN sum(wn) OVER g > 0 THEN wn ELSE 1 END AS wn,
                   CASE WHEN sum(wn) OVER g > 0 THEN sum(wn) OVER g ELSE count(*) OVER g END AS tw
            FROM w WINDOW g AS (PARTITION BY group_id)
        ),
        a AS (
            SELECT group_id, CAST(amount * {NANOS} AS HUGEINT) AS n FROM {amounts}
        ),
        p AS (
            SELECT wt.group_id, wt.recipient, sign(a.n) AS sg, abs(a.n) AS total,
                   abs(a.n) * wt.wn // wt.tw AS base, (abs(a.n) * wt.wn) % wt.tw AS rem
            FROM wt JOIN a USING (group_id)
        ),
        r AS (
            SELECT *, total - sum(base) OVER (PARTITION BY group_id) AS left_over,
                   row_number() OVER (PARTITION BY group_id ORDER BY rem DESC, recipient) AS rk
            FROM p
        )
        SELECT group_id, recipient,
               CAST(CAST(sg * (base + CASE WHEN rk <= left_over THEN 1 ELSE 0 END) AS DECIMAL(38, 0))
                    * CAST(0.000000001 AS DECIMAL(10, 9)) AS {MONEY}) AS amount
        FROM r
    """


def split(con: duckdb.DuckDBPyConnection, amounts: str, weights: str) -> list[tuple]:
    return con.execute(split_sql(amounts, weights) + " ORDER BY group_id, recipient").fetchall()
