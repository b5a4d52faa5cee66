"""Reconciliation: the export's own net total per currency beside the sum of the attribution's buckets.

The export's side is billing_export_totals, filled from the control totals a load takes from the raw rows in the
scan that reads them (billing/cells.py), independent of any grouping or join, so lines lost or multiplied on the
way in show here. A mismatch names the usage days where it arose (day_differences).

Both sides are exact decimals built from the same per-row cast, so the only difference allowed is zero: any
other difference means money was lost or counted twice, and is an error, never a warning.
"""

from __future__ import annotations

from decimal import Decimal

import duckdb

from aipipe_ops.billing.normalise import UsageWindow
from aipipe_ops.errors import ReconciliationError
from aipipe_ops.sql import bucket_pivot
from aipipe_ops.vocabulary import BUCKETS

TOLERANCE = Decimal(0)
# A reconciliation row, in the order it prints.
COLUMNS = ("currency", "export_net_total", *BUCKETS, "buckets_total", "difference", "status")


def reconcile(con: duckdb.DuckDBPyConnection, window: UsageWindow, lines: str) -> list[dict]:
    """Reads billing_export_totals in `window` and `lines` (bucket, cost, currency: the ledger's lines of the
    attribution being built, or the stored attribution_lines); per currency: export_net_total vs the buckets."""
    rows = con.execute(f"""
        WITH export AS (
            SELECT currency, sum(net_cost) AS export_net_total FROM billing_export_totals
            WHERE {window.where_sql()} GROUP BY currency
        ),
        buckets AS (SELECT currency, {bucket_pivot(BUCKETS)}, sum(cost) AS buckets_total FROM {lines} GROUP BY currency)
        SELECT coalesce(e.currency, b.currency) AS currency,
               coalesce(e.export_net_total, 0) AS export_net_total,
               {', '.join(f'coalesce(b.{x}, 0) AS {x}' for x in BUCKETS)},
               coalesce(b.buckets_total, 0) AS buckets_total
        FROM export e FULL JOIN buckets b ON e.currency = b.currency
        ORDER BY 1
    """).fetchall()
    out = []
    for row in rows:
        rec = dict(zip(COLUMNS, row))  # all but difference and status, set here
        rec["difference"] = rec["buckets_total"] - rec["export_net_total"]
        rec["status"] = "ok" if abs(rec["difference"]) <= TOLERANCE else "MISMATCH"
        out.append(rec)
    return out


def day_differences(con: duckdb.DuckDBPyConnection, window: UsageWindow, lines: str) -> list[dict]:
    """Reads billing_export_totals and `lines` (with usage_day) in `window`; the usage days and currencies where
    the lines' sum differs from the export's control total, by date."""
    rows = con.execute(f"""
        WITH export AS (SELECT usage_day, currency, sum(net_cost) AS export_net FROM billing_export_totals
                        WHERE {window.where_sql()} GROUP BY ALL),
             attributed AS (SELECT usage_day, currency, sum(cost) AS attributed FROM {lines} GROUP BY ALL)
        SELECT coalesce(e.usage_day, a.usage_day) AS usage_day, coalesce(e.currency, a.currency) AS currency,
               coalesce(e.export_net, 0) AS export_net, coalesce(a.attributed, 0) AS attributed
        FROM export e FULL JOIN attributed a ON e.usage_day = a.usage_day AND e.currency = a.currency
        WHERE coalesce(e.export_net, 0) <> coalesce(a.attributed, 0)
        ORDER BY 1, 2
    """).fetchall()
    return [{"usage_day": d, "currency": c, "export_net": e, "attributed": a, "difference": a - e}
            for d, c, e, a in rows]


def raise_on_mismatch(reconciliation: list[dict], days: list[dict] | None = None, limit: int = 5) -> None:
    """Raise ReconciliationError when any currency's buckets differ from the export's total, naming the first
    `limit` usage days (`days`, from day_differences) where they differ."""
    bad = [r for r in reconciliation if r["status"] != "ok"]
    if bad:
        detail = "; ".join(f"{r['currency']}: export net total {r['export_net_total']} but buckets add up to "
                           f"{r['buckets_total']} (difference {r['difference']})" for r in bad)
        if days:
            shown = ", ".join(f"{d['usage_day']} {d['currency']} {d['difference']:+}" for d in days[:limit])
            more = f" and {len(days) - limit} more" if len(days) > limit else ""
            detail += f"; by usage day: {shown}{more}"
        raise ReconciliationError(f"attribution does not reconcile with the billing export: {detail}. Reload the "
                                  f"export (`aipipe billing load`) and report this if it persists")
