"""`aipipe billing load`: stage a source's aggregated cost lines, roll up its daily totals, then replace that
source's lines in the workspace in one transaction (a reload never double counts; a failed load changes nothing)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from aipipe_ops.billing.normalise import COST_LINE_COLUMNS, EXPORT_TOTAL_COLUMNS, UsageWindow, export_totals_sql
from aipipe_ops.billing.runs import resolve_runs_sql
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
        scope, params = "source = ?", [staged.source]
        if window.since:
            scope += " AND usage_day >= ?"
            params.append(window.since)
        if window.until:
            scope += " AND usage_day <= ?"
            params.append(window.until)
        con.execute(f"DELETE FROM cost_lines WHERE {scope}", params)
        con.execute(f"DELETE FROM billing_export_totals WHERE {scope}", params)
        cols = ", ".join(COST_LINE_COLUMNS)
        line_cols = ", ".join(f"l.{c}" for c in COST_LINE_COLUMNS)
        # One statement: the export is read once, its lines resolved to runs on the way in.
        try:
            con.execute(f"""
                INSERT INTO cost_lines ({cols}, run_id, source, load_id)
                WITH lines AS MATERIALIZED ({staged.lines_sql}),
                     resolved AS ({resolve_runs_sql(con, "lines")})
                SELECT {line_cols}, m.run_id, ?, ?
                FROM lines l LEFT JOIN resolved m
                  ON l.run_label IS NOT DISTINCT FROM m.run_label AND l.workflow IS NOT DISTINCT FROM m.workflow
                 AND l.vertex_run IS NOT DISTINCT FROM m.vertex_run
            """, [staged.source, load_id])
        except duckdb.Error as exc:
            raise source.read_error(exc) from exc
        finally:
            if "bq_cost_lines" in staged.lines_sql:
                con.unregister("bq_cost_lines")
        this_load = f"(SELECT * FROM cost_lines WHERE load_id = {int(load_id)})"
        tcols = ", ".join(EXPORT_TOTAL_COLUMNS)
        con.execute(f"INSERT INTO billing_export_totals ({tcols}, source, load_id) "
                    f"SELECT {tcols}, ?, ? FROM ({export_totals_sql(this_load)})", [staged.source, load_id])
        lines, rows, watermark = con.execute(
            f"SELECT count(*), coalesce(sum(export_rows), 0), max(export_time) FROM {this_load}").fetchone()
        con.execute("INSERT INTO loads (load_id, kind, source, loaded_at, rows, watermark) VALUES (?, 'billing', ?, ?, ?, ?)",
                    [load_id, staged.source, dt.datetime.now(dt.timezone.utc), int(rows),
                     watermark.isoformat() if watermark else None])
        totals = con.execute("""
            SELECT currency, sum(cost) AS cost, sum(credits) AS credits, sum(net_cost) AS net_cost,
                   sum(export_rows) AS export_rows
            FROM billing_export_totals WHERE load_id = ? GROUP BY currency ORDER BY currency""", [load_id]).fetchall()
    return LoadSummary(int(load_id), staged.source, staged.description, int(rows), int(lines),
                       [dict(zip(("currency", "cost", "credits", "net_cost", "export_rows"), t)) for t in totals])
