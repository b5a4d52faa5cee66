"""`aipipe lineage snapshot`: copy a lineage source into the workspace, all or nothing, then incrementally.

One workspace holds the lineage of one store: MLMD ids are only unique within a store. A snapshot of a different
store is refused unless --replace says to drop the old copy. Each snapshot appends a row to `loads` (kind
`lineage`) whose watermark lets the next one fetch only what is new or changed; --full ignores it.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aipipe_ops.errors import WorkspaceError
from aipipe_ops.lineage import graph
from aipipe_ops.lineage.sources import open_source
from aipipe_ops.lineage.sources.mlmd_connection import LIBRARY_SCHEMA_VERSION
from aipipe_ops.progress import progress_bar
from aipipe_ops.workspace import Workspace

LOAD_KIND = "lineage"


@dataclass
class SnapshotReport:
    source: str
    full: bool
    seconds: float
    rows: dict[str, int]
    calls: dict[str, int]
    orchestrators: list[str]
    totals: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def store_calls(self) -> int:
        return sum(self.calls.values())


def last_lineage_load(con) -> dict[str, Any] | None:
    row = con.execute("""
        SELECT load_id, source, loaded_at, watermark FROM loads WHERE kind = ?
        ORDER BY load_id DESC LIMIT 1
    """, [LOAD_KIND]).fetchone()
    if not row:
        return None
    return {"load_id": row[0], "source": row[1], "loaded_at": row[2],
            "watermark": json.loads(row[3]) if row[3] else None}


def snapshot(workspace: Workspace, uri: str, *, full: bool = False, replace: bool = False, password_prompt=None,
             progress: bool | None = None, batch_size: int | None = None) -> SnapshotReport:
    """Copy the store at `uri` into `workspace` (new and changed nodes only, unless `full`)."""
    started = time.perf_counter()
    source = open_source(uri, password_prompt=password_prompt, batch_size=batch_size)
    try:
        con = workspace.con
        last = last_lineage_load(con)
        holds_lineage = con.execute("SELECT EXISTS (SELECT 1 FROM steps) OR EXISTS (SELECT 1 FROM artifacts)"
                                    ).fetchone()[0]
        other_source = last is not None and last["source"] != source.display_uri
        if other_source and holds_lineage and not replace:
            raise WorkspaceError(
                f"workspace {workspace.path} holds the lineage of {last['source']}, not {source.display_uri} "
                f"(MLMD ids are only unique within one store): use another --workspace, or --replace to drop it"
            )
        previous = None
        if last and not full and not other_source and holds_lineage:
            watermark = last["watermark"] or {}
            if watermark.get("schema_version") == LIBRARY_SCHEMA_VERSION:
                previous = watermark
        with progress_bar(progress) as bar, workspace.transaction() as tx:
            if other_source:
                tx.execute("DELETE FROM runs WHERE source = ?", [last["source"]])
            result = source.copy_into(tx, previous, bar)
            if result.changed:
                graph.refresh_index(tx)
            load_id = tx.execute("SELECT coalesce(max(load_id), 0) + 1 FROM loads").fetchone()[0]
            tx.execute(
                "INSERT INTO loads (load_id, kind, source, loaded_at, rows, watermark) VALUES (?, ?, ?, ?, ?, ?)",
                [load_id, LOAD_KIND, source.display_uri, dt.datetime.now(dt.timezone.utc),
                 sum(result.rows.values()), json.dumps(result.watermark)],
            )
        totals = {table: workspace.count(table) for table in ("runs", "steps", "artifacts", "events")}
        return SnapshotReport(source=source.display_uri, full=result.full, seconds=time.perf_counter() - started,
                              rows=result.rows, calls=result.calls, orchestrators=result.orchestrators,
                              totals=totals, notes=result.notes)
    finally:
        source.close()
