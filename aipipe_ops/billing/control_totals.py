"""The per-day check of cost lines against the export's control totals (export_cells).

export_cells holds, per export batch cell, totals taken from the raw export rows in the load's own scan,
independent of the line grouping and of the run-resolution join (docs/billing.md "What a load covers"). Whatever
sits between the scan and cost_lines -- the grouping, the resolution of runs, the insert -- must leave, per US/Pacific
usage day and currency, exactly the cells' rows and net total. `day_mismatches` compares the two; a load calls
`check_load` on what it just wrote, and an attribution can call `check_days` over its window.
"""

from __future__ import annotations

from aipipe_ops.errors import ReconciliationError
from aipipe_ops.sql import DUCKDB

COLUMNS = ("usage_day", "currency", "export_net_total", "lines_net_total", "difference", "export_rows", "line_rows")


def day_mismatches(con, lines_where: str = "true", cells_where: str = "true", lines: str = "cost_lines") -> list[dict]:
    """Per usage day and currency where `lines` (filtered by `lines_where`) and export_cells (by `cells_where`)
    disagree on the net total or on the number of export rows; [] when they agree everywhere."""
    rows = con.execute(f"""
        WITH l AS (SELECT usage_day, currency, sum(net_cost) AS net, sum(export_rows) AS n FROM {lines}
                   WHERE {lines_where} GROUP BY usage_day, currency),
             c AS (SELECT usage_day, currency, sum(net_cost) AS net, sum(rows) AS n FROM export_cells
                   WHERE {cells_where} GROUP BY usage_day, currency)
        SELECT coalesce(c.usage_day, l.usage_day) AS usage_day, coalesce(c.currency, l.currency) AS currency,
               coalesce(c.net, 0) AS export_net, coalesce(l.net, 0) AS lines_net,
               coalesce(l.net, 0) - coalesce(c.net, 0) AS difference, coalesce(c.n, 0), coalesce(l.n, 0)
        FROM c FULL JOIN l ON c.usage_day IS NOT DISTINCT FROM l.usage_day AND c.currency IS NOT DISTINCT FROM l.currency
        WHERE coalesce(l.net, 0) <> coalesce(c.net, 0) OR coalesce(l.n, 0) <> coalesce(c.n, 0)
        ORDER BY 1, 2
    """).fetchall()
    return [dict(zip(COLUMNS, r)) for r in rows]


def describe(mismatches: list[dict], limit: int = 5) -> str:
    parts = [f"{m['usage_day']} {m['currency']}: export net total {m['export_net_total']} ({m['export_rows']} rows) "
             f"but cost lines hold {m['lines_net_total']} ({m['line_rows']} rows), difference {m['difference']}"
             for m in mismatches[:limit]]
    more = f"; and {len(mismatches) - limit} more day(s)" if len(mismatches) > limit else ""
    return "; ".join(parts) + more


def check_load(con, load_id: int) -> None:
    """Raise ReconciliationError when the lines a load wrote differ from its cells' control totals, naming the
    usage day, currency and difference."""
    lit = DUCKDB.literal(int(load_id))
    bad = day_mismatches(con, f"load_id = {lit}", f"load_id = {lit}")
    if bad:
        raise ReconciliationError(f"the cost lines of this load do not match the export's control totals: "
                                  f"{describe(bad)}. Nothing was written; report this")


def check_days(con, days_where: str = "true") -> None:
    """The same check over the whole workspace for the usage days `days_where` selects (a condition on usage_day,
    values inlined): for an attribution, before it is reconciled per currency."""
    bad = day_mismatches(con, days_where, days_where)
    if bad:
        raise ReconciliationError(f"the workspace's cost lines do not match the export's control totals: "
                                  f"{describe(bad)}. Reload the export (`aipipe billing forget` + `load`)")
