"""Idle accelerator hours: GPUs and TPU chips paid for while their node pool sat idle (docs/cost-model.md §11).

Per node pool and accelerator (GPU, TPU): the attribution's accelerator cost, its idle part (GKE's
`kube:unallocated`, whether the policy shared it to workloads (`idle_share`) or kept it (`idle`): the money is the
same), and the
idle hours (GPU-hours, TPU chip-hours): each idle SKU's cost before credits in the window over its hourly list
price. The price is the workspace's `prices` row for the SKU id, else what `price_of` (the caller's price book)
says; an SKU neither knows makes its pool's hours unknown (None) rather than wrong.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Callable

from aipipe_ops.billing.attribution.attribute import IDLE_NAMESPACE
from aipipe_ops.sql import DUCKDB, usage_days

ACCELERATORS = ("gpu", "tpu")
HOURS = Decimal("0.001")
HOURLY_UNITS = ("h", "hour", "hours")
# (sku_id, sku description, currency) -> the SKU's hourly list price, or None.
PriceLookup = Callable[[str, "str | None", str], "Decimal | None"]


def idle_accelerators(con, attribution_id: int, currency: str, since: dt.date | None = None,
                      until: dt.date | None = None, price_of: PriceLookup | None = None) -> list[dict]:
    """Rows (node_pool, accelerator, accelerator_cost, idle_cost, idle_hours), the largest idle cost first."""
    lit = DUCKDB.literal
    kinds = ", ".join(lit(k) for k in ACCELERATORS)
    rows = _rows(con, f"""
        SELECT coalesce(node_pool, '(no node pool)') AS node_pool, upper(resource_kind) AS accelerator,
               sum(cost) AS accelerator_cost,
               coalesce(sum(cost) FILTER (WHERE bucket IN ('idle', 'idle_share')), 0) AS idle_cost
        FROM attribution_lines
        WHERE attribution_id = {lit(int(attribution_id))} AND resource_kind IN ({kinds}) AND currency = {lit(currency)}
        GROUP BY ALL ORDER BY idle_cost DESC, node_pool, accelerator
    """)
    idle_skus = _rows(con, f"""
        WITH listed AS (
            SELECT sku_id, any_value(unit_price) AS price FROM prices
            WHERE currency = {lit(currency)} AND unit_price > 0
              AND lower(unit) IN ({', '.join(lit(u) for u in HOURLY_UNITS)})
            GROUP BY sku_id)
        SELECT coalesce(c.node_pool, '(no node pool)') AS node_pool, upper(c.resource_kind) AS accelerator,
               c.sku_id, any_value(c.sku) AS sku, sum(c.cost) AS gross, any_value(p.price) AS price
        FROM cost_lines c LEFT JOIN listed p USING (sku_id)
        WHERE c.resource_kind IN ({kinds}) AND c.namespace = {lit(IDLE_NAMESPACE)} AND c.currency = {lit(currency)}
          AND {usage_days(since, until, 'c.usage_day')}
        GROUP BY ALL
    """)
    hours: dict[tuple[str, str], Decimal | None] = {}
    for line in idle_skus:
        key = (line["node_pool"], line["accelerator"])
        price = line["price"]
        if price is None and line["sku_id"] and price_of is not None:
            price = price_of(line["sku_id"], line["sku"], currency)
        if price is None or (key in hours and hours[key] is None):
            hours[key] = None
        else:
            price = price if isinstance(price, Decimal) else Decimal(str(price))
            hours[key] = hours.get(key, Decimal(0)) + line["gross"] / price
    for row in rows:
        value = hours.get((row["node_pool"], row["accelerator"]), Decimal(0))
        row["idle_hours"] = None if value is None else value.quantize(HOURS)
    return rows


def _rows(con, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    keys = [d[0] for d in cursor.description]
    return [dict(zip(keys, row)) for row in cursor.fetchall()]
