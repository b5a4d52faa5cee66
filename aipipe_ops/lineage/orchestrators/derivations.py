"""Derivations every orchestrator shares, run after the orchestrators have named runs and steps.

- Event direction: INPUT/DECLARED_INPUT/INTERNAL_INPUT are inputs; OUTPUT/DECLARED_OUTPUT/INTERNAL_OUTPUT are
  outputs, except that an output of a CACHED execution is `reuse`: it points at an artifact some earlier
  execution produced. PENDING_OUTPUT is `pending` (tentative; not production).
- Cache origin: a CACHED execution without an explicit origin (TFX writes none) comes from the earliest
  non-cached producer of the artifacts it re-uses; a cache hit of a cache hit resolves to the first original.
- Run state from the state-bearing steps: any FAILED -> FAILED, else any NEW/RUNNING -> RUNNING, else any
  COMPLETE/CACHED -> SUCCEEDED, else all CANCELED -> CANCELED, else UNKNOWN (KFP v1 records no states).
"""

from __future__ import annotations

from typing import Sequence

import duckdb

from aipipe_ops.lineage.orchestrators.base import Orchestrator
from aipipe_ops.vocabulary import TERMINAL_RUN_STATES

INPUT_EVENTS = ("INPUT", "DECLARED_INPUT", "INTERNAL_INPUT")
OUTPUT_EVENTS = ("OUTPUT", "DECLARED_OUTPUT", "INTERNAL_OUTPUT")


def _quoted(values: Sequence[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def assign_orchestrators(con: duckdb.DuckDBPyConnection, orchestrators: Sequence[Orchestrator]) -> None:
    """Mark each step with the orchestrator that wrote it (column steps.dialect, its schema-v2 name)."""
    if not orchestrators:
        con.execute("UPDATE steps SET dialect = NULL WHERE dialect IS NOT NULL")
        return
    cases = " ".join(f"WHEN {o.claims} THEN '{o.name}'" for o in orchestrators)
    con.execute(f"UPDATE steps AS s SET dialect = CASE {cases} END")


def resolve_cache_origins(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"""
        UPDATE steps SET cached_from = o.original
        FROM (
            SELECT c.execution_id, min(p.execution_id) AS original
            FROM events c
            JOIN steps cs ON cs.execution_id = c.execution_id
            JOIN events p ON p.artifact_id = c.artifact_id AND p.execution_id <> c.execution_id
            JOIN steps ps ON ps.execution_id = p.execution_id
            WHERE cs.state = 'CACHED' AND cs.cached_from IS NULL
              AND c.event_type IN ({_quoted(OUTPUT_EVENTS)}) AND p.event_type IN ({_quoted(OUTPUT_EVENTS)})
              AND ps.state <> 'CACHED'
            GROUP BY c.execution_id
        ) o
        WHERE steps.execution_id = o.execution_id
    """)
    # A hit on a hit: follow the chain to an execution that really ran (bounded: chains are short).
    for _ in range(16):
        changed = con.execute("""
            UPDATE steps SET cached_from = origin.cached_from
            FROM steps origin
            WHERE steps.cached_from = origin.execution_id AND origin.state = 'CACHED'
              AND origin.cached_from IS NOT NULL AND origin.cached_from <> steps.execution_id
              AND origin.cached_from <> steps.cached_from
        """).fetchone()[0]
        if not changed:
            break


def event_direction_sql(event_type: str, state: str) -> str:
    return f"""CASE WHEN {event_type} IN ({_quoted(INPUT_EVENTS)}) THEN 'input'
                   WHEN {event_type} IN ({_quoted(OUTPUT_EVENTS)})
                        THEN CASE WHEN {state} = 'CACHED' THEN 'reuse' ELSE 'output' END
                   WHEN {event_type} = 'PENDING_OUTPUT' THEN 'pending'
                   ELSE 'unknown' END"""


def classify_events(con: duckdb.DuckDBPyConnection) -> None:
    """Classify only events copied in this snapshot: every re-read execution has its events re-read, so the
    direction of any other event still matches its execution's state."""
    con.execute(f"""
        UPDATE events SET direction = {event_direction_sql('events.event_type', 's.state')}
        FROM steps s
        WHERE events.direction = 'unknown' AND s.execution_id = events.execution_id
    """)


def finish_runs(con: duckdb.DuckDBPyConnection, orchestrators: Sequence[Orchestrator], source: str) -> None:
    """Fill state, created_at and finished_at of this source's runs from their steps."""
    if not orchestrators:
        return
    bearing = " ".join(f"WHEN s.dialect = '{o.name}' THEN ({o.state_bearing})" for o in orchestrators)
    con.execute(f"""
        UPDATE runs SET state = a.state, created_at = coalesce(runs.created_at, a.first_created),
                        finished_at = CASE WHEN a.state IN ({_quoted(TERMINAL_RUN_STATES)}) THEN a.last_updated END
        FROM (
            SELECT run_id,
                   CASE WHEN count(*) FILTER (WHERE counted AND state = 'FAILED') > 0 THEN 'FAILED'
                        WHEN count(*) FILTER (WHERE counted AND state IN ('NEW', 'RUNNING')) > 0 THEN 'RUNNING'
                        WHEN count(*) FILTER (WHERE counted AND state IN ('COMPLETE', 'CACHED')) > 0 THEN 'SUCCEEDED'
                        WHEN count(*) FILTER (WHERE counted AND state = 'CANCELED') > 0 THEN 'CANCELED'
                        -- nothing state-bearing yet (e.g. only KFP's root DAG): what little there is says
                        WHEN count(*) FILTER (WHERE counted) = 0 AND count(*) FILTER (WHERE state = 'FAILED') > 0
                             THEN 'FAILED'
                        WHEN count(*) FILTER (WHERE counted) = 0 AND count(*) FILTER (WHERE state IN ('NEW', 'RUNNING')) > 0
                             THEN 'RUNNING'
                        ELSE 'UNKNOWN' END AS state,
                   min(created_at) AS first_created,
                   max(updated_at) AS last_updated
            FROM (SELECT s.*, (CASE {bearing} ELSE TRUE END) AS counted FROM steps s) s
            WHERE run_id IS NOT NULL
            GROUP BY run_id
        ) a
        WHERE runs.run_id = a.run_id AND runs.source = ?
    """, [source])
    con.execute("UPDATE runs SET state = 'UNKNOWN' WHERE state IS NULL AND source = ?", [source])
