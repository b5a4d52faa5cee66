"""What the workspace holds of billing exports (`aipipe billing sources`), and forgetting one source
(`aipipe billing forget`). Both read export_cells: the control totals of every export batch a load wrote."""

from __future__ import annotations

import datetime as dt

from aipipe_ops.errors import InputError
from aipipe_ops.sql import DUCKDB

SOURCE_COLUMNS = ("source", "billing_account", "currency", "first_usage_day", "last_usage_day", "first_export_time",
                  "last_export_time", "export_batches", "rows", "net_cost", "loads")
FORGET_COLUMNS = ("source", "export_batches", "rows", "cost_lines", "files", "net_cost")


def held_sources(con) -> list[dict]:
    cursor = con.execute("""
        SELECT source, billing_account, currency, min(usage_day) AS first_usage_day, max(usage_day) AS last_usage_day,
               min(export_time) AS first_export_time, max(export_time) AS last_export_time,
               count(*) AS export_batches, sum(rows) AS rows, sum(net_cost) AS net_cost,
               count(DISTINCT load_id) AS loads
        FROM export_cells GROUP BY source, billing_account, currency ORDER BY source, billing_account, currency
    """)
    return [dict(zip(SOURCE_COLUMNS, r)) for r in cursor.fetchall()]


def forget(ws, source: str) -> dict:
    """Remove `source`'s lines, cells, export totals and loaded files, in one transaction, and record the change in
    `loads` (kind billing, rows = minus the rows removed) so the latest attribution is stale."""
    con = ws.con
    lit = DUCKDB.literal(source)
    held = [r[0] for r in con.execute("SELECT DISTINCT source FROM export_cells ORDER BY 1").fetchall()]
    if source not in held:
        known = ", ".join(held) or "none"
        raise InputError(f"no billing source {source!r} in the workspace (sources held: {known}; "
                         f"see `aipipe billing sources`)")
    with ws.transaction():
        batches, rows, net = con.execute(
            f"SELECT count(*), coalesce(sum(rows), 0), coalesce(sum(net_cost), 0) FROM export_cells "
            f"WHERE source = {lit}").fetchone()
        lines = con.execute(f"SELECT count(*) FROM cost_lines WHERE source = {lit}").fetchone()[0]
        files = con.execute(f"SELECT count(*) FROM loaded_files WHERE source = {lit}").fetchone()[0]
        for table in ("cost_lines", "export_cells", "billing_export_totals", "loaded_files"):
            con.execute(f"DELETE FROM {table} WHERE source = {lit}")
        load_id = con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM loads").fetchone()[0]
        now = DUCKDB.literal(dt.datetime.now(dt.timezone.utc))
        con.execute(f"INSERT INTO loads (load_id, kind, source, loaded_at, rows, watermark) "
                    f"VALUES ({int(load_id)}, 'billing', {lit}, {now}, {-int(rows)}, 'forgotten')")
    return {"source": source, "export_batches": int(batches), "rows": int(rows), "cost_lines": int(lines),
            "files": int(files), "net_cost": net}

