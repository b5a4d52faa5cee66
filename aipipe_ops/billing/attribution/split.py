"""Exact splitting: a sum of money divided among recipients without creating or losing a nano-unit.

Each part is floor(|amount| x weight / total weight) in nano-units, with the sign of the amount; the nano-units
left over go one each to the largest remainders, ties to the smaller recipient key (largest-remainder method).
Integer arithmetic in HUGEINT: |amount| and weights are below 10^18 nano-units (a billion in the currency),
so their product stays below 2^127. Weights are the positive part of what the caller gives; a group whose
weights are all zero (or NULL) is split evenly.

Speed without giving up exactness: DuckDB divides HUGEINTs bit by bit (about half a microsecond each, the bulk
of an attribution's time when every split row needed two divisions and every money value a DECIMAL -> HUGEINT
cast, which divides too). So each quotient is first estimated in DOUBLE and then checked with HUGEINT
multiplications only: the estimate is the exact floor iff 0 <= product - estimate x total < total, which holds
for nearly every row; the rows where it does not (an estimate off by one) take the exact division. Money values
are turned into nano-units the same way: a DOUBLE estimate, kept only if it converts back to the very same
DECIMAL. The results are those of the plain integer formulas, to the nano-unit.
"""

from __future__ import annotations

import duckdb

from aipipe_ops.sql import MONEY

NANOS = 1_000_000_000


def money_nanos_sql(expr: str) -> str:
    """Nano-units (HUGEINT) of a money value (cast to DECIMAL(38, 9)), exactly, without a HUGEINT division on
    the common path: a DOUBLE estimate kept only when it converts back to the same DECIMAL."""
    money = f"CAST({expr} AS {MONEY})"
    estimate = f"CAST(round(CAST({money} AS DOUBLE) * {NANOS}) AS HUGEINT)"
    return (f"CASE WHEN CAST(CAST({estimate} AS DECIMAL(38, 0)) * CAST(0.000000001 AS DECIMAL(10, 9)) AS {MONEY}) "
            f"= {money} THEN {estimate} ELSE CAST({money} * {NANOS} AS HUGEINT) END")


def nanos_money_sql(expr: str) -> str:
    """Money (DECIMAL(38, 9)) of a number of nano-units, exactly (a multiplication, no division)."""
    return f"CAST(CAST({expr} AS DECIMAL(38, 0)) * CAST(0.000000001 AS DECIMAL(10, 9)) AS {MONEY})"


def split_sql(amounts: str, weights: str, *, money_weights: bool = False) -> str:
    """SELECT group_id, recipient, amount.

    amounts: a table or subquery with (group_id, amount); weights: (group_id, recipient, weight), recipient a
    sortable key. Groups without recipients produce no rows (the caller keeps their money). money_weights: the
    weights are money (DECIMAL) and are taken to the nano-unit exactly; other weights (seconds, requests, counts)
    are numbers, scaled to nano-units and rounded as a DOUBLE.
    """
    positive = "greatest(coalesce(weight, 0), 0)"
    wn = money_nanos_sql(positive) if money_weights else f"CAST({positive} * {NANOS} AS HUGEINT)"
    return f"""
        WITH w AS (
            SELECT group_id, recipient, {wn} AS wn
            FROM {weights}
        ),
        wt AS (
            SELECT group_id, recipient,
                   CASE WHEN sum(wn) OVER g > 0 THEN wn ELSE 1 END AS wn,
                   CASE WHEN sum(wn) OVER g > 0 THEN sum(wn) OVER g ELSE count(*) OVER g END AS tw
            FROM w WINDOW g AS (PARTITION BY group_id)
        ),
        a AS (
            SELECT group_id, {money_nanos_sql('amount')} AS n FROM {amounts}
        ),
        p AS (
            SELECT wt.group_id, wt.recipient, sign(a.n) AS sg, abs(a.n) AS total, wt.tw,
                   abs(a.n) * wt.wn AS product,
                   CAST(floor(CAST(abs(a.n) AS DOUBLE) * CAST(wt.wn AS DOUBLE) / CAST(wt.tw AS DOUBLE)) AS HUGEINT)
                       AS estimate
            FROM wt JOIN a USING (group_id)
        ),
        q AS (
            SELECT *, product - estimate * tw AS estimate_rem FROM p
        ),
        e AS (
            SELECT group_id, recipient, sg, total,
                   CASE WHEN estimate_rem >= 0 AND estimate_rem < tw THEN estimate ELSE product // tw END AS base,
                   CASE WHEN estimate_rem >= 0 AND estimate_rem < tw THEN estimate_rem ELSE product % tw END AS rem
            FROM q
        ),
        r AS (
            SELECT *, total - sum(base) OVER (PARTITION BY group_id) AS left_over,
                   row_number() OVER (PARTITION BY group_id ORDER BY rem DESC, recipient) AS rk
            FROM e
        )
        SELECT group_id, recipient,
               {nanos_money_sql("sg * (base + CASE WHEN rk <= left_over THEN 1 ELSE 0 END)")} AS amount
        FROM r
    """


def split(con: duckdb.DuckDBPyConnection, amounts: str, weights: str, *, money_weights: bool = False) -> list[tuple]:
    return con.execute(split_sql(amounts, weights, money_weights=money_weights)
                       + " ORDER BY group_id, recipient").fetchall()
