"""`aipipe billing load`: stage a source's aggregated cost lines, roll up its daily totals, then replace that
source's lines in the workspace in one transaction (a reload never double counts; a failed load changes nothing)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from aipipe_ops.sql import DUCKDB
from aipipe_ops.billing.normalise import COST_LINE_COLUMNS, EXPORT_TOTAL_COLUMNS, UsageWindow, export_totals_sql
from aipipe_ops.billing.runs import resolved_lines_sql
from aipipe_ops.billing.sources import SourceOptions, open_source
from aipipe_ops.workspace import Workspace


@dataclass
class LoadSummary:
    load_id: int
    source: str
    description: str
    export_rows: int
    cost_lines: int
    totals: list[dict]  # per currency: cost, credits, net_cost, export_rows


def prepare_connection(con) -> None:
    # Naive timestamps in files are UTC, as the export's are; Pacific days are computed explicitly.
    con.execute("SET TimeZone = 'UTC'")
    # Lines are sets, never read in insertion order: DuckDB may then insert from all threads.
    con.execute("SET preserve_insertion_order = false")
    # DuckDB's own progress bar writes to the terminal mid-output; aipipe prints its own results.
    con.execute("SET enable_progress_bar = false")


def load_billing(ws: Workspace, spec: str, window: UsageWindow | None = None,
                 options: SourceOptions | None = None) -> LoadSummary:
    window = window or UsageWindow()
    source = open_source(spec, options)
    con = ws.con
    prepare_connection(con)
    with ws.transaction():
        staged = source.stage(con, window)
        load_id = con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM loads").fetchone()[0]
        lit = DUCKDB.literal  # values are inlined, not bound: see DuckDBSql.literal
        source_lit, load_lit = lit(staged.source), lit(int(load_id))
        scope = f"source = {source_lit} AND {window.days_sql()}"
        con.execute(f"DELETE FROM cost_lines WHERE {scope}")
        con.execute(f"DELETE FROM billing_export_totals WHERE {scope}")
        cols = ", ".join(COST_LINE_COLUMNS)
        # One statement, one pipeline: the export is read once, its lines resolved to runs on the way in (a few
        # hash lookups in the small runs table per line, nothing materialised in between).
        try:
            con.execute(f"""
                INSERT INTO cost_lines ({cols}, run_id, source, load_id)
                SELECT *, {source_lit}, {load_lit}
                FROM ({resolved_lines_sql(f"({staged.lines_sql})", list(COST_LINE_COLUMNS))})
            """)
        except duckdb.Error as exc:
            raise source.read_error(exc) from exc
        finally:
            for view in staged.views:
                con.unregister(view)
        this_load = f"(SELECT * FROM cost_lines WHERE load_id = {load_lit})"
        tcols = ", ".join(EXPORT_TOTAL_COLUMNS)
        con.execute(f"INSERT INTO billing_export_totals ({tcols}, source, load_id) "
                    f"SELECT {tcols}, {source_lit}, {load_lit} FROM ({export_totals_sql(this_load)})")
        lines, rows, watermark = con.execute(
            f"SELECT count(*), coalesce(sum(export_rows), 0), max(export_time) FROM {this_load}").fetchone()
        values = [load_lit, "'billing'", source_lit, lit(dt.datetime.now(dt.timezone.utc)), lit(int(rows)),
                  lit(watermark.isoformat() if watermark else None)]
        con.execute(f"INSERT INTO loads (load_id, kind, source, loaded_at, rows, watermark) "
                    f"VALUES ({', '.join(values)})")
        totals = con.execute(f"""
            SELECT currency, sum(cost) AS cost, sum(credits) AS credits, sum(net_cost) AS net_cost,
                   sum(export_rows) AS export_rows
            FROM billing_export_totals WHERE load_id = {load_lit} GROUP BY currency ORDER BY currency""").fetchall()
    return LoadSummary(int(load_id), staged.source, staged.description, int(rows), int(lines),
                       [dict(zip(("currency", "cost", "credits", "net_cost", "export_rows"), t)) for t in totals])
