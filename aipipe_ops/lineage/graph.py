"""Lineage queries over the workspace tables: provenance (upstream), impact (downstream), runs.

Interface for billing (stable; per-model cost walks this):

    upstream_executions(con, artifact_ids) -> list[UpstreamExecution]
    upstream_executions_of_kind(con, kind="model") -> list[UpstreamExecution]     # bulk: every model at once
    upstream_executions_table(con, table, artifact_ids=None, kind=None) -> str    # the same, as a table for SQL

    UpstreamExecution(artifact_id, execution_id, run_id, hops, via_cache)
      artifact_id   the starting artifact (e.g. a model)
      execution_id  an execution in its provenance; a cache hit is never listed itself: it is resolved to the
                    execution that really produced the re-used artifacts (steps.cached_from)
      run_id        that execution's run (the run that paid for it)
      hops          shortest distance in MLMD hops (artifact -> producing execution = 1; its inputs' producers = 3)
      via_cache     True when every path from the start reaches it through a cache hit in the consumer's run,
                    i.e. the start's runs re-used its result instead of paying for it again

`con` is any DuckDB connection holding the workspace tables. The queries read small derived tables
(lineage_producers, lineage_inputs, lineage_deps) that `refresh_index` rebuilds from steps and events; a
snapshot rebuilds them, and `ensure_index` does when they are missing. Any other writer of steps/events calls
refresh_index.

Traversal is a recursive CTE in DuckDB over those tables (measured against an in-memory adjacency walk in
bench/bench_lineage.py: the walk itself is faster in Python, but loading the adjacency costs ~0.7 s per process
on a 50k-execution store, more than hundreds of SQL walks): one artifact's provenance is a handful of hash joins
over row groups pruned by min/max, and the bulk form walks every start at once in the same query.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable, NamedTuple, Sequence

import duckdb

from aipipe_ops.sql import DUCKDB
from aipipe_ops.errors import InputError, WorkspaceError

# MLMD's own cap for get_lineage_subgraph; far beyond any real pipeline's depth, and it bounds a cyclic store.
MAX_HOPS = 100


class UpstreamExecution(NamedTuple):
    artifact_id: int
    execution_id: int
    run_id: str | None
    hops: int
    via_cache: bool


# -- the index ---------------------------------------------------------------------------------------------------
def refresh_index(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the graph index from steps and events.

    lineage_producers (artifact -> producing execution, with its run), lineage_inputs (execution -> input artifact
    -> that artifact's producer) and lineage_deps (execution -> producing execution, deduplicated, with the
    producer's run) are written sorted by their lookup key: DuckDB prunes row groups by min/max, so a walk
    touches only the blocks around the executions it visits.
    """
    con.execute("DELETE FROM lineage_producers")
    con.execute("""
        INSERT INTO lineage_producers (artifact_id, execution_id, via_cache, run_id)
        WITH produced AS (
            SELECT DISTINCT artifact_id, execution_id, FALSE AS via_cache FROM events WHERE direction = 'output'
            UNION ALL
            -- Artifacts known only through cache hits (the original is not in this store): the hit's recorded
            -- origin if there is one, else the hit itself stands in as the producer.
            SELECT DISTINCT e.artifact_id, coalesce(s.cached_from, e.execution_id), TRUE
            FROM events e JOIN steps s USING (execution_id)
            WHERE e.direction = 'reuse'
              AND e.artifact_id NOT IN (SELECT artifact_id FROM events WHERE direction = 'output')
        )
        SELECT p.artifact_id, p.execution_id, p.via_cache, s.run_id
        FROM produced p LEFT JOIN steps s USING (execution_id)
        ORDER BY p.artifact_id, p.execution_id
    """)
    con.execute("DELETE FROM lineage_inputs")
    con.execute("""
        INSERT INTO lineage_inputs
        WITH inputs AS (
            SELECT DISTINCT e.execution_id, e.artifact_id, s.run_id
            FROM events e JOIN steps s USING (execution_id) WHERE e.direction = 'input'
        ),
        reused_in_run AS (
            SELECT DISTINCT e.artifact_id, s.run_id
            FROM events e JOIN steps s USING (execution_id) WHERE e.direction = 'reuse' AND s.run_id IS NOT NULL
        )
        SELECT i.execution_id, i.artifact_id, p.execution_id,
               coalesce(p.via_cache, FALSE)
               OR (r.artifact_id IS NOT NULL AND p.run_id IS DISTINCT FROM i.run_id)
        FROM inputs i
        LEFT JOIN lineage_producers p ON p.artifact_id = i.artifact_id AND p.execution_id <> i.execution_id
        LEFT JOIN reused_in_run r ON r.artifact_id = i.artifact_id AND r.run_id = i.run_id
        ORDER BY i.execution_id, i.artifact_id
    """)
    con.execute("DELETE FROM lineage_deps")
    con.execute("""
        INSERT INTO lineage_deps
        SELECT i.execution_id, i.producer_id, bool_and(i.via_cache), any_value(s.run_id)
        FROM lineage_inputs i LEFT JOIN steps s ON s.execution_id = i.producer_id
        WHERE i.producer_id IS NOT NULL
        GROUP BY i.execution_id, i.producer_id
        ORDER BY i.execution_id, i.producer_id
    """)


def ensure_index(con: duckdb.DuckDBPyConnection) -> None:
    """Build the index when events exist but the index does not (e.g. events written by another source)."""
    empty_index = con.execute("SELECT NOT EXISTS (SELECT 1 FROM lineage_producers)").fetchone()[0]
    if empty_index and con.execute("SELECT EXISTS (SELECT 1 FROM events)").fetchone()[0]:
        try:
            refresh_index(con)
        except duckdb.InvalidInputException as exc:   # a read-only connection
            raise WorkspaceError("the workspace's lineage index is missing: run `aipipe lineage snapshot` again "
                                 "to rebuild it") from exc


_lit = DUCKDB.literal  # values are inlined, never bound: a bound parameter makes DuckDB's client import pandas


def _id_array(ids: Iterable[int]) -> str:
    """Distinct ids as a BIGINT[] literal."""
    return f"CAST({_lit(sorted({int(i) for i in ids}))} AS BIGINT[])"


def _id_set(ids: Iterable[int]) -> str:
    """A set of ids as a subquery for IN."""
    return f"(SELECT unnest({_id_array(ids)}))"


# -- starting points -------------------------------------------------------------------------------------------
def resolve_artifacts(con: duckdb.DuckDBPyConnection, ref: str) -> list[int]:
    """An artifact id, or a URI (every artifact recorded with that URI), as artifact ids."""
    ref = ref.strip()
    if ref.isdigit():
        found = con.execute(f"SELECT artifact_id FROM artifacts WHERE artifact_id = {int(ref)}").fetchall()
        if not found:
            raise InputError(f"no artifact {ref} in the workspace; run `aipipe lineage snapshot` first, or check "
                             f"the id (`aipipe lineage run RUN_ID` lists a run's artifacts)")
        return [int(ref)]
    found = con.execute(f"SELECT artifact_id FROM artifacts WHERE uri = {_lit(ref)} ORDER BY artifact_id").fetchall()
    if not found:
        stripped = ref.rstrip("/")
        found = con.execute(f"SELECT artifact_id FROM artifacts WHERE rtrim(uri, '/') = {_lit(stripped)} "
                            f"ORDER BY artifact_id").fetchall()
    if not found:
        raise InputError(f"no artifact with URI {ref!r} in the workspace; give an artifact id or an exact URI")
    return [r[0] for r in found]


def _starts(artifact_ids: Iterable[int] | None, kind: str | Sequence[str] | None) -> str:
    """The starting artifacts as a subquery (no temp table: DDL per query costs more than the walk itself), values
    inlined: a bound parameter makes DuckDB's Python client import pandas (see DuckDBSql.literal)."""
    if artifact_ids is not None:
        return f"(SELECT unnest({_id_array(artifact_ids)}) AS start_id)"
    kinds = [kind] if isinstance(kind, str) else list(kind or ())
    return f"(SELECT artifact_id AS start_id FROM artifacts WHERE kind IN ({', '.join(map(DUCKDB.quote, kinds))}))"


_UPSTREAM_WALK = """
    WITH RECURSIVE walk(start_id, execution_id, run_id, hops, via_cache) AS (
        SELECT s.start_id, p.execution_id, p.run_id, 1, p.via_cache
        FROM {starts} s JOIN lineage_producers p ON p.artifact_id = s.start_id
        UNION
        SELECT w.start_id, d.producer_id, d.producer_run_id, w.hops + 2, w.via_cache OR d.via_cache
        FROM walk w JOIN lineage_deps d ON d.execution_id = w.execution_id
        WHERE w.hops + 2 <= {max_hops}
    ),
    reached AS (
        SELECT start_id, execution_id, any_value(run_id) AS run_id, min(hops) AS hops, bool_and(via_cache) AS via_cache
        FROM walk GROUP BY start_id, execution_id
    )
"""


def _walk(max_hops: int, starts: str) -> str:
    return _UPSTREAM_WALK.format(max_hops=int(max_hops), starts=starts)


def _upstream_query(max_hops: int, starts: str) -> str:
    return _walk(max_hops, starts) + """
        SELECT start_id, execution_id, run_id, hops, via_cache FROM reached
        ORDER BY start_id, hops, execution_id
    """


def upstream_executions(con: duckdb.DuckDBPyConnection, artifact_ids: Iterable[int], *,
                        max_hops: int = MAX_HOPS) -> list[UpstreamExecution]:
    """Every execution in the provenance of each artifact (see the module docstring)."""
    ensure_index(con)
    starts = _starts(artifact_ids, None)
    return [UpstreamExecution(*row) for row in con.execute(_upstream_query(max_hops, starts)).fetchall()]


def upstream_executions_of_kind(con: duckdb.DuckDBPyConnection, kind: str = "model", *,
                                max_hops: int = MAX_HOPS) -> list[UpstreamExecution]:
    """The bulk form: the provenance of every artifact of `kind`, in one query."""
    ensure_index(con)
    starts = _starts(None, kind)
    return [UpstreamExecution(*row) for row in con.execute(_upstream_query(max_hops, starts)).fetchall()]


def upstream_executions_table(con: duckdb.DuckDBPyConnection, table: str = "upstream_executions", *,
                              artifact_ids: Iterable[int] | None = None, kind: str | None = "model",
                              max_hops: int = MAX_HOPS) -> str:
    """Materialise the upstream executions as a temp table (artifact_id, execution_id, run_id, hops, via_cache)
    for joins in SQL; returns its name."""
    if not table.isidentifier():
        raise ValueError(f"not a table name: {table!r}")
    ensure_index(con)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT start_id AS artifact_id, execution_id, run_id, "
                f"hops, via_cache FROM ({_walk(max_hops, _starts(artifact_ids, kind))} SELECT * FROM reached)")
    return table


def upstream_artifacts(con: duckdb.DuckDBPyConnection, *, artifact_ids: Iterable[int] | None = None,
                       kind: str | None = "model", upstream_kinds: Sequence[str] | None = ("dataset",),
                       max_hops: int = MAX_HOPS) -> list[tuple]:
    """(start artifact, upstream artifact, hops, via_cache) for every start at once, e.g. every model's datasets."""
    ensure_index(con)
    kind_filter = ""
    if upstream_kinds:
        kind_filter = f"WHERE a.kind IN ({', '.join(map(DUCKDB.quote, upstream_kinds))})"
    sql = _walk(max_hops, _starts(artifact_ids, kind)) + f"""
        , inputs AS (
            SELECT r.start_id, i.artifact_id, min(r.hops) + 1 AS hops, bool_and(r.via_cache) AS via_cache
            FROM reached r JOIN lineage_inputs i ON i.execution_id = r.execution_id
            GROUP BY r.start_id, i.artifact_id
        )
        SELECT i.start_id, i.artifact_id, i.hops, i.via_cache
        FROM inputs i JOIN artifacts a USING (artifact_id) {kind_filter}
        ORDER BY i.start_id, i.hops, i.artifact_id
    """
    return con.execute(sql).fetchall()


# -- a subgraph for people -------------------------------------------------------------------------------------
@dataclass
class LineageGraph:
    """A provenance or impact subgraph with everything a view needs."""

    direction: str                                   # upstream | downstream
    start: list[int]
    artifacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    executions: dict[int, dict[str, Any]] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: list[dict[str, Any]] = field(default_factory=list)   # {source, target, relation, role}; ids "a12"/"e7"

    def to_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "start": self.start,
            "artifacts": list(self.artifacts.values()),
            "executions": list(self.executions.values()),
            "runs": list(self.runs.values()),
            "edges": self.edges,
        }


_ARTIFACT_COLUMNS = "artifact_id, kind, type_name, uri, state, created_at, properties"
_EXECUTION_COLUMNS = ("s.execution_id, s.step, s.component, s.type_name, s.state, s.run_id, s.cached_from, "
                      "s.pod_name, s.created_at, s.updated_at")
_RUN_COLUMNS = "run_id, pipeline, orchestrator, namespace, state, created_at, finished_at, workflow"


def _rows(con, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def subgraph(con: duckdb.DuckDBPyConnection, artifact_ids: Sequence[int], direction: str = "upstream", *,
             max_hops: int = MAX_HOPS) -> LineageGraph:
    """The provenance (upstream) or impact (downstream) of the given artifacts, with details and edges.

    Node sets travel as list parameters, not temp tables: every step is a filtered read of a sorted table.
    """
    if direction not in ("upstream", "downstream"):
        raise ValueError(direction)
    ensure_index(con)
    start = sorted({int(a) for a in artifact_ids})
    graph = LineageGraph(direction=direction, start=start)
    if direction == "upstream":
        reached = {r[0]: (r[1], r[2]) for r in con.execute(
            _walk(max_hops, _starts(start, None)) + " SELECT execution_id, min(hops), bool_and(via_cache) FROM reached "
                                                    "GROUP BY execution_id").fetchall()}
        executions = sorted(reached)
        # Roles come from the events of the reached executions; a semi-join keeps the big table on the probe side.
        roles = {(x, a, d): role for x, a, d, role in con.execute(f"""
            SELECT execution_id, artifact_id, direction, any_value(role) FROM events
            WHERE execution_id IN {_id_set(executions)} AND direction IN ('input', 'output')
            GROUP BY ALL
        """).fetchall()}
        inputs = con.execute(f"""
            SELECT DISTINCT execution_id, artifact_id FROM lineage_inputs
            WHERE execution_id IN {_id_set(executions)}
        """).fetchall()
        hops = {a: 0 for a in start}
        for execution_id, artifact_id in inputs:
            hops[artifact_id] = min(hops.get(artifact_id, MAX_HOPS + 1), reached[execution_id][0] + 1)
        produced = con.execute(f"""
            SELECT execution_id, artifact_id, via_cache FROM lineage_producers
            WHERE artifact_id IN {_id_set(hops)} AND execution_id IN {_id_set(executions)}
        """).fetchall()
        graph.edges = sorted(
            [{"source": f"e{x}", "target": f"a{a}", "relation": "produced (cache origin)" if via else "output",
              "role": roles.get((x, a, "output"))} for x, a, via in produced]
            + [{"source": f"a{a}", "target": f"e{x}", "relation": "input", "role": roles.get((x, a, "input"))}
               for x, a in inputs],
            key=lambda e: (e["source"], e["target"], e["relation"]))
    else:
        reached = {}
        frontier_artifacts = set(start)
        consumed: list[tuple] = []
        outputs: list[tuple] = []
        hops_now = 1
        hops = {a: 0 for a in start}
        # Breadth first, one filtered query per hop pair: consumers of the frontier, then what they wrote.
        while frontier_artifacts and hops_now <= max_hops:
            rows = con.execute(f"""
                SELECT DISTINCT e.execution_id, e.artifact_id, e.role FROM events e
                WHERE e.direction = 'input' AND e.artifact_id IN {_id_set(frontier_artifacts)}
            """).fetchall()
            consumed += rows
            new = sorted({x for x, _, _ in rows} - set(reached))
            for x in new:
                reached[x] = (hops_now, False)
            written = con.execute(f"""
                SELECT e.execution_id, e.artifact_id, e.direction, any_value(e.role) FROM events e
                WHERE e.direction IN ('output', 'reuse') AND e.execution_id IN {_id_set(new)}
                GROUP BY ALL
            """).fetchall() if new else []
            outputs += written
            frontier_artifacts = set()
            for _, a, _, _ in written:
                if a not in hops:
                    hops[a] = hops_now + 1
                    frontier_artifacts.add(a)
            hops_now += 2
        # Cache hits that re-used a reached artifact show that their run depended on it too (not walked further).
        reuses = con.execute(f"""
            SELECT e.execution_id, e.artifact_id, any_value(e.role) FROM events e
            WHERE e.direction = 'reuse' AND e.artifact_id IN {_id_set(hops)} GROUP BY ALL
        """).fetchall()
        for x, a, _ in reuses:
            if x not in reached:
                reached[x] = (hops[a] + 1, True)
        outputs += [(x, a, "reuse", role) for x, a, role in reuses]
        edges = {(f"a{a}", f"e{x}", "input", role) for x, a, role in consumed}
        edges |= {(f"e{x}", f"a{a}", d, role) for x, a, d, role in outputs if a in hops}
        graph.edges = [{"source": s_, "target": t, "relation": r, "role": role}
                       for s_, t, r, role in sorted(edges, key=lambda e: e[:3])]
    for row in _rows(con, f"SELECT {_ARTIFACT_COLUMNS} FROM artifacts WHERE artifact_id IN {_id_set(hops)}"):
        row["hops"] = hops[row["artifact_id"]]
        graph.artifacts[row["artifact_id"]] = row
    graph.artifacts = dict(sorted(graph.artifacts.items(), key=lambda kv: (kv[1]["hops"], kv[0])))
    for row in _rows(con, f"SELECT {_EXECUTION_COLUMNS} FROM steps s WHERE s.execution_id IN {_id_set(reached)}"):
        row["hops"], row["via_cache"] = reached[row["execution_id"]]
        graph.executions[row["execution_id"]] = row
    graph.executions = dict(sorted(graph.executions.items(), key=lambda kv: (kv[1]["hops"], kv[0])))
    run_ids = sorted({e["run_id"] for e in graph.executions.values() if e["run_id"]})
    if run_ids:
        for row in _rows(con, f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id IN "
                              f"(SELECT unnest(CAST({_lit(run_ids)} AS VARCHAR[]))) ORDER BY created_at, run_id"):
            graph.runs[row["run_id"]] = row
    return graph


# -- runs --------------------------------------------------------------------------------------------------------
def list_runs(con: duckdb.DuckDBPyConnection, *, pipeline: str | None = None,
              since: dt.datetime | None = None, state: str | None = None) -> list[dict[str, Any]]:
    where = []
    if pipeline:
        where.append(f"r.pipeline = {_lit(pipeline)}")
    if since:
        where.append(f"r.created_at >= {_lit(since)}")
    if state:
        where.append(f"r.state = {_lit(state.upper())}")
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    return _rows(con, f"""
        SELECT r.run_id, r.pipeline, r.orchestrator, r.namespace, r.state, r.created_at, r.finished_at,
               count(s.execution_id) AS steps,
               count(s.execution_id) FILTER (WHERE s.state = 'CACHED') AS cached,
               count(s.execution_id) FILTER (WHERE s.state = 'FAILED') AS failed
        FROM runs r LEFT JOIN steps s USING (run_id)
        {clause}
        GROUP BY ALL
        ORDER BY r.created_at DESC NULLS LAST, r.run_id
    """)


def run_detail(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    """A run with its steps, each with inputs and outputs (artifacts), states and cache origins."""
    runs = _rows(con, f"SELECT {_RUN_COLUMNS}, context_id, source FROM runs WHERE run_id = {_lit(run_id)}")
    if not runs:
        like = _rows(con, f"SELECT run_id FROM runs WHERE starts_with(run_id, {_lit(run_id)}) ORDER BY run_id LIMIT 5")
        hint = f" (did you mean {', '.join(r['run_id'] for r in like)}?)" if like else ""
        raise InputError(f"no run {run_id!r} in the workspace{hint}; `aipipe lineage runs` lists them")
    run = runs[0]
    steps = _rows(con, f"""
        SELECT {_EXECUTION_COLUMNS}, s.image, o.run_id AS cached_from_run
        FROM steps s LEFT JOIN steps o ON o.execution_id = s.cached_from
        WHERE s.run_id = {_lit(run_id)} ORDER BY s.created_at NULLS LAST, s.execution_id
    """)
    io = _rows(con, f"""
        SELECT e.execution_id, e.direction, e.role, a.artifact_id, a.kind, a.type_name, a.uri, a.state
        FROM events e JOIN artifacts a USING (artifact_id)
        WHERE e.execution_id IN (SELECT execution_id FROM steps WHERE run_id = {_lit(run_id)})
          AND e.direction IN ('input', 'output', 'reuse', 'pending')
        ORDER BY e.execution_id, e.direction, e.role, a.artifact_id
    """)
    by_step: dict[int, dict[str, list]] = {s["execution_id"]: {"inputs": [], "outputs": []} for s in steps}
    for row in io:
        bucket = "inputs" if row["direction"] == "input" else "outputs"
        entry = {k: row[k] for k in ("artifact_id", "kind", "type_name", "uri", "state", "role")}
        entry["reused"] = row["direction"] == "reuse"
        by_step[row["execution_id"]][bucket].append(entry)
    for step in steps:
        step.update(by_step[step["execution_id"]])
    produced = {a["artifact_id"] for s in steps for a in s["outputs"] if not a["reused"]}
    run["steps"] = steps
    # Inputs nobody in this run produced: data that came from outside the run (imports, earlier runs).
    run["external_inputs"] = sorted({a["artifact_id"] for s in steps for a in s["inputs"]} - produced
                                    - {a["artifact_id"] for s in steps for a in s["outputs"]})
    return run
