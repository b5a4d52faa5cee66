"""`aipipe billing load`: stage a source's cost lines and its export batch cells in one scan, keep only the cells
the workspace does not hold yet, write their lines and control totals, and check the one against the other, in
one transaction (a failed or refused load changes nothing). docs/billing.md "What a load covers"."""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field

import duckdb

from aipipe_ops.sql import DUCKDB
from aipipe_ops.billing import cells, control_totals, runs
from aipipe_ops.billing.normalise import COST_LINE_COLUMNS, CELL_KEYS, UsageWindow
from aipipe_ops.billing.sources import SourceOptions, open_source
from aipipe_ops.errors import InputError
from aipipe_ops.workspace import Workspace


@dataclass
class LoadSummary:
    load_id: int
    source: str
    description: str
    export_rows: int  # export rows read
    cost_lines: int  # cost lines written
    totals: list[dict]  # per currency, of the rows written: cost, credits, net_cost, export_rows
    rows_new: int = 0
    rows_held: int = 0  # read, but already in the workspace: not written again
    rows_replaced: int = 0  # written in place of held cells (--replace)
    files_skipped: int = 0  # files already loaded with the same content: not read
    notes: list[str] = field(default_factory=list)


# DuckDB may take 80 % of the machine's memory; past this the load's aggregation (a hash table of every cost line),
# its staged lines and attribution's tables spill to disk instead: 10.4 M rows into 2.66 M lines, loaded and
# attributed, peak at 1.6 GB instead of 2.4 GB, for about 10 % more CPU in the load (docs/billing.md "Performance").
MEMORY_LIMIT = "1.5GB"


def prepare_connection(con) -> None:
    # Naive timestamps in files are UTC, as the export's are; Pacific days are computed explicitly.
    con.execute("SET TimeZone = 'UTC'")
    # Lines are sets, never read in insertion order: DuckDB may then insert from all threads.
    con.execute("SET preserve_insertion_order = false")
    # DuckDB's own progress bar writes to the terminal mid-output; aipipe prints its own results.
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")


def _held_files(con) -> dict[str, str]:
    return dict(con.execute("SELECT content_hash, any_value(path) FROM loaded_files GROUP BY content_hash").fetchall())


def _select_files(con, source, window: UsageWindow, notes: list[str]) -> list[dict] | None:
    """Files: drop those already loaded whole with the same content (under any path) and same-content copies inside
    this load; returns the identities of the files to read (None for sources that are not files)."""
    if not hasattr(source, "files"):
        return None
    from aipipe_ops.billing.sources.files import file_identity

    held = _held_files(con)
    keep, seen, skipped = [], {}, 0
    for path in source.files:
        info = file_identity(path)
        if info["content_hash"] in held:
            skipped += 1
            notes.append(f"{path}: already loaded (same content as {held[info['content_hash']]}): not read again")
        elif info["content_hash"] in seen:
            notes.append(f"{path}: same content as {seen[info['content_hash']]}: read once")
        else:
            seen[info["content_hash"]] = path
            keep.append(info)
    source.files = [i["path"] for i in keep]
    source.files_skipped = skipped
    return keep


def _stage(con, source, window):
    staged = source.stage(con, window)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {cells.STAGE} AS {staged.lines_sql}")
    except duckdb.Error as exc:
        raise source.read_error(exc) from exc
    finally:
        for view in staged.views:
            con.unregister(view)
        for table in staged.temp_tables:
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return staged


def _watermark(con, source_name: str):
    return con.execute(f"SELECT max(export_time) FROM export_cells WHERE source = {DUCKDB.literal(source_name)}"
                       ).fetchone()[0]


def load_billing(ws: Workspace, spec: str, window: UsageWindow | None = None,
                 options: SourceOptions | None = None, replace: bool = False) -> LoadSummary:
    window = window or UsageWindow()
    source = open_source(spec, options)
    con = ws.con
    prepare_connection(con)
    notes: list[str] = []
    try:
        return _load(ws, con, source, spec, window, replace, notes)
    finally:  # the staged lines are as large as the load: free them for what runs next on this connection
        with contextlib.suppress(duckdb.Error):
            con.execute(f"DROP TABLE IF EXISTS {cells.STAGE}; DROP TABLE IF EXISTS {cells.CELLS}")


def _load(ws: Workspace, con, source, spec: str, window: UsageWindow, replace: bool, notes: list[str]) -> LoadSummary:
    lit = DUCKDB.literal  # values are inlined, not bound: see DuckDBSql.literal
    files = _select_files(con, source, window, notes)
    if hasattr(source, "incremental_since") and not window:
        source.incremental_since = _watermark(con, source.spec)  # bq://: only what can be newer
    # Staged before the load's transaction: a table created inside a transaction has no row count for the optimizer
    # until it commits, which then takes the staged lines for the small side of the run lookups and builds a hash
    # table of every line (2.6 M lines: +1.8 GB). Staging writes nothing of the workspace's.
    if files is None or files:
        staged = _stage(con, source, window)
    if files is not None and len(files) > 1:
        twins, partial = cells.file_twins(con)
        if partial:
            pairs = "; ".join(f"{a} and {b}" for a, b in partial[:5])
            raise InputError(f"--billing {spec}: refused, nothing was loaded: files hold some of the same "
                             f"export rows but not all: {pairs}. Load one copy of each extract")
        if twins:
            notes += [f"{t}: holds the same rows as {k}: read once" for t, k in twins.items()]
            files = [f for f in files if f["path"] not in twins]
            source.files = [f["path"] for f in files]
            staged = _stage(con, source, window)
    with ws.transaction():
        load_id = con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM loads").fetchone()[0]
        load_lit = lit(int(load_id))
        if files is not None and not files:  # every file already loaded
            return LoadSummary(int(load_id), source.canonical, f"0 file(s) read from {spec}", 0, 0, [],
                               files_skipped=source.files_skipped, notes=notes)
        cells.upgrade_fingerprints(con)  # once, on a workspace from before the current fingerprint form
        cells.build_cells(con, replace)
        message = cells.conflict_message(con, spec)
        if message:
            raise InputError(message)
        changed = cells.remove_replaced(con)
        written = _write(con, staged.source, load_id)
        changed.append(load_id)
        cells.refresh_totals(con, changed)
        control_totals.check_load(con, load_id)
        if files and not window:  # read whole: the next load skips them without a rescan
            for f in files:
                con.execute("INSERT INTO loaded_files VALUES (" + ", ".join(
                    [lit(f["path"]), lit(f["size"]), repr(f["mtime"]), lit(f["content_hash"]), lit(staged.source),
                     load_lit]) + ")")
        counts = dict(con.execute(f"SELECT status, sum(rows) FROM {cells.CELLS} GROUP BY status").fetchall())
        rows_read = int(sum(counts.values()))
        if written["lines"] or changed != [load_id]:  # something changed: the attribution is stale
            _record_load(con, load_id, staged.source, int(counts.get("new", 0) + counts.get("replaced", 0)),
                         written["watermark"])
        totals = con.execute(f"""
            SELECT currency, sum(cost) AS cost, sum(credits) AS credits, sum(net_cost) AS net_cost,
                   sum(rows) AS export_rows
            FROM export_cells WHERE load_id = {load_lit} GROUP BY currency ORDER BY currency""").fetchall()
        if counts.get("held"):
            notes.append(f"{int(counts['held']):,} export rows already in the workspace: not counted again")
        if counts.get("refreshed"):
            notes.append(f"{int(counts['refreshed']):,} export rows were loaded by an older aipipe: their cost lines "
                         f"were rewritten with every column this version keeps (the same money)")
    return LoadSummary(int(load_id), staged.source, staged.description, rows_read, written["lines"],
                       [dict(zip(("currency", "cost", "credits", "net_cost", "export_rows"), t)) for t in totals],
                       rows_new=int(counts.get("new", 0)), rows_held=int(counts.get("held", 0)),
                       rows_replaced=int(counts.get("replaced", 0)),
                       files_skipped=getattr(source, "files_skipped", 0), notes=notes)


def _write(con, source_name: str, load_id: int) -> dict:
    """Insert the lines of the new (and replaced) cells, resolved to runs, and the cells themselves."""
    lit = DUCKDB.literal
    source_lit, load_lit = lit(source_name), lit(int(load_id))
    cols = ", ".join(COST_LINE_COLUMNS)
    statuses = dict(con.execute(f"SELECT status, count(*) FROM {cells.CELLS} GROUP BY status").fetchall())
    lines = f"(SELECT {cols} FROM {cells.STAGE} WHERE is_cell = 0)"
    if set(statuses) - {"new", "replaced", "refreshed"}:  # some cells are held: keep the others' lines (a semi-join)
        wanted = f"(SELECT {', '.join(CELL_KEYS)} FROM {cells.CELLS} WHERE status IN ('new', 'replaced', 'refreshed'))"
        lines = (f"(SELECT s.* FROM {lines} s SEMI JOIN {wanted} w ON {cells.same(CELL_KEYS, 's', 'w')})")
    # The lines are resolved to runs on the way in (a few hash lookups in the small runs table per line).
    # runs.resolved_lines_sql is looked up at call time: the fault-injection tests replace it.
    con.execute(f"""
        INSERT INTO cost_lines ({cols}, run_id, source, load_id)
        SELECT *, {source_lit}, {load_lit}
        FROM ({runs.resolved_lines_sql(lines, list(COST_LINE_COLUMNS))})
    """)
    con.execute(f"""
        INSERT INTO export_cells (load_id, source, {', '.join(CELL_KEYS)}, rows, cost, credits, net_cost, fingerprint,
                                  fingerprint_version)
        SELECT {load_lit}, {source_lit}, {', '.join(CELL_KEYS)}, rows, cost, credits, net_cost, fingerprint,
               {cells.FINGERPRINT_VERSION}
        FROM {cells.CELLS} WHERE status IN ('new', 'replaced', 'refreshed')
    """)
    n, watermark = con.execute(f"SELECT count(*), max(export_time) FROM cost_lines WHERE load_id = {load_lit}"
                               ).fetchone()
    return {"lines": int(n), "watermark": watermark}


def _record_load(con, load_id: int, source_name: str, rows: int, watermark=None, kind: str = "billing") -> None:
    lit = DUCKDB.literal
    values = [lit(int(load_id)), lit(kind), lit(source_name), lit(dt.datetime.now(dt.timezone.utc)), lit(int(rows)),
              lit(watermark.isoformat() if watermark else None)]
    con.execute(f"INSERT INTO loads (load_id, kind, source, loaded_at, rows, watermark) VALUES ({', '.join(values)})")
