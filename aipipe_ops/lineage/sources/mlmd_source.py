"""The MLMD source: sqlite://, mysql://, grpc:// and grpcs:// stores, read through ml-metadata, read-only.

What one snapshot reads (every call counted; N = executions + artifacts):
- the three type lists (3 calls) and, per context type a present orchestrator uses, every context of it (1 call each);
- ids: the highest execution and artifact id and the newest update time of each (4 calls); then executions,
  artifacts and their events by id batches of `batch_size` (about N / batch_size calls each);
- on a re-run, per node kind (executions, artifacts, contexts): the highest id and the nodes updated since the
  last snapshot's settled update time, listed newest first (1 call when nothing changed, 100 rows per call; past a
  few times the calls of a whole copy, a fresh copy; on SQLite one read-only query of the update-time index),
  including, once, the margin a writer's transaction could still have been committing when the last snapshot
  read (see _settled_ms); only what changed is copied by id. An unchanged store costs 9 calls;
- parent links of pipeline contexts that have runs without a known pipeline (1 call per pipeline; on a re-run
  1 call per new run context when that is fewer);
- Associations only where no property names the run (TFX IR, or a KFP v2 execution cut off from its root DAG):
  one call per execution or one per run/node context, whichever is fewer.
"""

from __future__ import annotations

import math
import time
from typing import Any

import duckdb
import pyarrow as pa

from aipipe_ops.lineage import kinds
from aipipe_ops.lineage.orchestrators import StoreTypes, derivations, detect_orchestrators
from aipipe_ops.lineage.sources import mlmd_connection
from aipipe_ops.lineage.sources.base import CopyResult
from aipipe_ops.lineage.sources.mlmd_reader import MlmdReader
from aipipe_ops.lineage.sources.uri import StoreUri

SCHEMES = ("sqlite", "mysql", "grpc", "grpcs")
# Nodes whose update time falls this close before the last high-water mark are read again: a writer's
# transaction may commit a timestamp taken before our previous read.
UPDATE_SLACK_MS = 2_000
# The watermark's shape: a watermark of another shape (an older aipipe) means a fresh copy.
WATERMARK_FORMAT = 2
NODES = ("execution", "artifact", "context")
_HELD = {"execution": ("steps", "execution_id"), "artifact": ("artifacts", "artifact_id"),
         "context": ("mlmd_contexts", "context_id")}   # the workspace table holding each node kind
LINEAGE_TABLES = ("steps", "artifacts", "events", "mlmd_types", "mlmd_contexts", "mlmd_associations",
                  "mlmd_parent_contexts", "mlmd_context_lookups")


def _ms_to_ts(column: str) -> str:
    # Integer microseconds: exact, so a node's update time can be compared with the store's on the next run.
    return f"make_timestamptz({column} * 1000)"


class MlmdSource:
    def __init__(self, uri: StoreUri, *, password_prompt=None, batch_size: int | None = None):
        self.display_uri = uri.display
        self.store = mlmd_connection.connect(uri, password_prompt=password_prompt)
        # A SQLite store's update-time index, read directly (read-only) to find what changed without paging.
        self.sql = mlmd_connection.sqlite_read_only(uri) if uri.scheme == "sqlite" else None
        # gRPC responses cross a channel with a message limit: smaller batches keep each one well under it.
        self.batch_size = batch_size or (1000 if uri.scheme.startswith("grpc") else 5000)

    def close(self) -> None:
        self.store = None
        if self.sql is not None:
            self.sql.close()
            self.sql = None

    # -- the protocol -----------------------------------------------------------------------------------------
    def copy_into(self, con: duckdb.DuckDBPyConnection, previous: dict[str, Any] | None, progress) -> CopyResult:
        reader = MlmdReader(self.store, batch_size=self.batch_size, sql=self.sql)
        read_at = time.time()
        rows: dict[str, int] = {}
        notes: list[str] = []
        types = reader.types()
        store_types = self._store_types(types)
        orchestrators = detect_orchestrators(store_types)
        wanted = self._wanted_context_types(orchestrators, store_types)
        if previous is not None and (previous.get("format") != WATERMARK_FORMAT
                                     or previous.get("context_types") != wanted):
            previous = None           # an older watermark, or an orchestrator that appeared: copy afresh
        high: dict[str, int] = {}
        newest: dict[str, int] = {}
        ids: dict[str, list[int]] = {}
        if previous is not None:
            context_type_ids = {tid for tid, kind, name in zip(*(types.column(c).to_pylist()
                                                                for c in ("type_id", "kind", "name")))
                                if kind == "context" and name in wanted}
            for node in NODES:
                found = self._ids_to_read(con, reader, node, previous, high, newest, context_type_ids)
                if found is None:
                    # Re-reading everything by id is cheaper as a fresh copy than as thousands of updates.
                    notes.append("many changes since the last snapshot: copied the store afresh")
                    previous = None
                    break
                ids[node] = found
        full = previous is None
        if full:
            for node in ("execution", "artifact"):
                high[node] = reader.max_id(node)
                newest[node] = reader.newest_update_ms(node)
            ids = {node: list(range(1, high[node] + 1)) for node in ("execution", "artifact")}
            for table in LINEAGE_TABLES:
                con.execute(f"DELETE FROM {table}")
        exec_ids, art_ids = ids["execution"], ids["artifact"]

        con.execute("DELETE FROM mlmd_types")
        con.register("_types", types)
        con.execute("INSERT INTO mlmd_types SELECT * FROM _types")
        con.unregister("_types")

        contexts_before = self._contexts_digest(con)
        self._copy_contexts(con, reader, orchestrators, store_types, rows, None if full else ids["context"], types)
        if full:
            high["context"], newest["context"] = con.execute(
                "SELECT coalesce(max(context_id), 0), coalesce(max(epoch_ms(updated_at)), 0) FROM mlmd_contexts"
            ).fetchone()

        rows["executions"], _ = self._copy_executions(con, reader, exec_ids, progress)
        rows["artifacts"], _ = self._copy_artifacts(con, reader, art_ids, types, progress)
        rows["events"] = self._copy_events(con, reader, exec_ids, [] if full else art_ids, progress)
        watermark = {
            "format": WATERMARK_FORMAT,
            "max_ids": {node: int(high[node]) for node in NODES},
            "newest_ms": {node: int(newest[node]) for node in NODES},
            "settled_ms": {node: _settled_ms(node, newest, previous, read_at) for node in NODES},
            "read_at": read_at,
            "context_types": wanted,
            "schema_version": mlmd_connection.LIBRARY_SCHEMA_VERSION,
        }
        if (not full and not rows["executions"] and not rows["artifacts"] and not rows["events"]
                and self._contexts_digest(con) == contexts_before):
            # Nothing new: everything derived from the store is still right.
            return CopyResult(watermark=watermark, rows=rows, calls=dict(reader.calls),
                              orchestrators=[o.name for o in orchestrators], full=False, notes=notes, changed=False)

        task = progress.add_task("deriving runs and steps", total=None)
        derivations.assign_orchestrators(con, orchestrators)
        for orchestrator in orchestrators:
            orchestrator.derive_steps(con)
        if self._read_memberships(con, reader, orchestrators, rows):
            for orchestrator in orchestrators:
                if orchestrator.runs_from_associations:
                    orchestrator.derive_steps(con)
        con.execute("DELETE FROM runs WHERE source = ?", [self.display_uri])
        for orchestrator in orchestrators:
            orchestrator.derive_runs(con, self.display_uri)
        derivations.resolve_cache_origins(con)
        derivations.classify_events(con)
        derivations.finish_runs(con, orchestrators, self.display_uri)
        progress.update(task, completed=1, total=1)
        return CopyResult(watermark=watermark, rows=rows, calls=dict(reader.calls),
                          orchestrators=[o.name for o in orchestrators], full=full, notes=notes)

    # -- pieces -----------------------------------------------------------------------------------------------
    @staticmethod
    def _contexts_digest(con) -> tuple:
        return con.execute("SELECT count(*), sum(hash(context_id, name, updated_at, properties)) FROM mlmd_contexts"
                           ).fetchone()

    @staticmethod
    def _store_types(types: pa.Table) -> StoreTypes:
        by_kind: dict[str, set[str]] = {"execution": set(), "artifact": set(), "context": set()}
        for kind, name in zip(types.column("kind").to_pylist(), types.column("name").to_pylist()):
            by_kind[kind].add(name)
        return StoreTypes(frozenset(by_kind["execution"]), frozenset(by_kind["artifact"]),
                          frozenset(by_kind["context"]))

    @staticmethod
    def _wanted_context_types(orchestrators, store_types: StoreTypes) -> list[str]:
        return list(dict.fromkeys(t for o in orchestrators for t in o.context_types if t in store_types.contexts))

    def _copy_contexts(self, con, reader: MlmdReader, orchestrators, store_types: StoreTypes, rows,
                       ids: list[int] | None, types: pa.Table) -> None:
        """Every context of the wanted types (`ids` None), or only those with these ids (a re-run)."""
        wanted = self._wanted_context_types(orchestrators, store_types)
        if ids is None:
            tables = [reader.contexts_of_type(type_name) for type_name in wanted]
            for type_name in wanted:
                con.execute("DELETE FROM mlmd_contexts WHERE type_name = ?", [type_name])
        else:
            names = {tid: name for tid, kind, name in zip(*(types.column(c).to_pylist()
                                                             for c in ("type_id", "kind", "name")))
                     if kind == "context" and name in wanted}
            tables = [reader.contexts_by_id(ids, names)] if ids else []
        count = 0
        for table in tables:
            count += table.num_rows
            con.register("_ctx", table)
            con.execute("DELETE FROM mlmd_contexts WHERE context_id IN (SELECT context_id FROM _ctx)")
            con.execute(f"""INSERT INTO mlmd_contexts SELECT context_id, type_name, name, {_ms_to_ts('created_ms')},
                            {_ms_to_ts('updated_ms')}, properties::JSON FROM _ctx""")
            con.unregister("_ctx")
        rows["contexts"] = count
        # Parent links (pipeline -> run): only for pipelines when some run does not know its pipeline yet.
        run_types = [t for o in orchestrators for t in o.run_context_types]
        pipeline_types = [t for o in orchestrators for t in o.pipeline_context_types]
        if not run_types or not pipeline_types or (ids is not None and not count):
            return
        read = pa.table({"id": pa.array([i for t in tables for i in t.column("context_id").to_pylist()],
                                        pa.int64())})
        con.register("_read", read)
        orphans = [r[0] for r in con.execute(f"""
            SELECT c.context_id FROM mlmd_contexts c
            WHERE c.type_name IN ({', '.join('?' * len(run_types))})
              AND c.context_id NOT IN (SELECT child_id FROM mlmd_parent_contexts)
              AND (? OR c.context_id IN (SELECT id FROM _read))
            ORDER BY 1
        """, [*run_types, ids is None]).fetchall()]
        con.unregister("_read")
        if not orphans:
            return
        pipelines = con.execute(f"""
            SELECT context_id FROM mlmd_contexts WHERE type_name IN ({', '.join('?' * len(pipeline_types))})
        """, pipeline_types).fetchall()
        if ids is not None and len(orphans) < len(pipelines):
            # A re-run with a few new runs: ask each new run for its parent rather than each pipeline for all runs.
            links = [(child, parent) for child in orphans for parent in reader.parents_of_context(child)]
            if links:
                con.register("_links", pa.table({"child_id": [c for c, _ in links],
                                                 "parent_id": [p for _, p in links]}))
                con.execute("INSERT INTO mlmd_parent_contexts SELECT child_id, parent_id FROM _links")
                con.unregister("_links")
            return
        links = []
        for (pipeline_id,) in pipelines:
            links.extend((child, pipeline_id) for child in reader.children_of_context(pipeline_id))
        con.execute("DELETE FROM mlmd_parent_contexts")
        if links:
            con.register("_links", pa.table({"child_id": [c for c, _ in links], "parent_id": [p for _, p in links]}))
            con.execute("INSERT INTO mlmd_parent_contexts SELECT child_id, parent_id FROM _links")
            con.unregister("_links")

    def _ids_to_read(self, con, reader: MlmdReader, node: str, previous, high, newest,
                     context_type_ids: set[int]) -> list[int] | None:
        """Ids of the nodes of this kind that are new or changed since `previous`, or None when re-reading
        everything would be cheaper. Fills high[node] and newest[node] for the next watermark."""
        top = high[node] = reader.max_id(node)
        known = int(previous["max_ids"][node])
        # Paging by update time costs one call per 100 rows (new nodes included: they are the latest updated).
        # Past a few times the calls of a whole copy, a fresh copy is cheaper.
        budget = max(10, 3 * math.ceil(top / self.batch_size))
        listed = reader.updated_since(node, int(previous["settled_ms"][node]), max_pages=budget)
        if listed is None:
            return None
        newest[node] = max([int(previous["newest_ms"][node])] + [ms for _, ms, _ in listed[:1]])
        # Contexts of types no orchestrator reads are never held: only those of the wanted types count.
        candidates = {i: ms for i, ms, type_id in listed
                      if i <= known and (node != "context" or type_id in context_type_ids)}
        if candidates:
            # Nodes the workspace already holds at this very update time are unchanged.
            table, key = _HELD[node]
            con.register("_candidates", pa.table({"id": pa.array(list(candidates), pa.int64()),
                                                  "ms": pa.array(list(candidates.values()), pa.int64())}))
            unchanged = {r[0] for r in con.execute(f"""
                SELECT c.id FROM _candidates c JOIN {table} t ON t.{key} = c.id
                WHERE epoch_ms(t.updated_at) = c.ms""").fetchall()}
            con.unregister("_candidates")
            candidates = {i: ms for i, ms in candidates.items() if i not in unchanged}
        return sorted(candidates) + list(range(known + 1, top + 1))

    @staticmethod
    def _stage(con, table: str, batches, progress=None, task=None) -> None:
        """Append each Arrow batch the reader yields to the temp table (advancing the task by its rows, if any)."""
        for batch in batches:
            con.register("_batch", batch)
            con.execute(f"INSERT INTO {table} SELECT * FROM _batch")
            con.unregister("_batch")
            if task is not None:
                progress.advance(task, batch.num_rows)

    def _copy_executions(self, con, reader: MlmdReader, ids, progress) -> tuple[int, int]:
        """Copy these executions into steps; returns how many and their latest update time (ms)."""
        con.execute("""CREATE OR REPLACE TEMP TABLE _x (execution_id BIGINT, type_id BIGINT, name VARCHAR,
                       state VARCHAR, created_ms BIGINT, updated_ms BIGINT, properties VARCHAR)""")
        task = progress.add_task("executions", total=len(ids))
        self._stage(con, "_x", reader.executions(ids), progress, task)
        progress.update(task, completed=len(ids))
        con.execute("DELETE FROM steps WHERE execution_id IN (SELECT execution_id FROM _x)")
        con.execute(f"""
            INSERT INTO steps (execution_id, state, created_at, updated_at, type_name, name, properties)
            SELECT x.execution_id, x.state, {_ms_to_ts('x.created_ms')}, {_ms_to_ts('x.updated_ms')}, t.name, x.name,
                   x.properties::JSON
            FROM _x x LEFT JOIN mlmd_types t ON t.type_id = x.type_id AND t.kind = 'execution'
        """)
        count, top = con.execute("SELECT count(*), max(updated_ms) FROM _x").fetchone()
        con.execute("DROP TABLE _x")
        return int(count), top or 0

    def _copy_artifacts(self, con, reader: MlmdReader, ids, types: pa.Table, progress) -> tuple[int, int]:
        """Copy these artifacts with their kinds; returns how many and their latest update time (ms)."""
        kind_rows = [(tid, name, kinds.kind_of(name, base))
                     for tid, kind, name, base in zip(*(types.column(c).to_pylist()
                                                        for c in ("type_id", "kind", "name", "base_type")))
                     if kind == "artifact"]
        con.register("_kinds", pa.table({"type_id": pa.array([r[0] for r in kind_rows], pa.int64()),
                                         "type_name": pa.array([r[1] for r in kind_rows], pa.string()),
                                         "kind": pa.array([r[2] for r in kind_rows], pa.string())}))
        con.execute("""CREATE OR REPLACE TEMP TABLE _a (artifact_id BIGINT, type_id BIGINT, name VARCHAR,
                       uri VARCHAR, state VARCHAR, created_ms BIGINT, updated_ms BIGINT, properties VARCHAR)""")
        task = progress.add_task("artifacts", total=len(ids))
        self._stage(con, "_a", reader.artifacts(ids), progress, task)
        progress.update(task, completed=len(ids))
        con.execute("DELETE FROM artifacts WHERE artifact_id IN (SELECT artifact_id FROM _a)")
        con.execute(f"""
            INSERT INTO artifacts (artifact_id, kind, type_name, uri, state, created_at, properties, name, updated_at)
            SELECT a.artifact_id, coalesce(k.kind, 'other'), k.type_name, a.uri, a.state, {_ms_to_ts('a.created_ms')},
                   a.properties::JSON, a.name, {_ms_to_ts('a.updated_ms')}
            FROM _a a LEFT JOIN _kinds k ON k.type_id = a.type_id
        """)
        con.unregister("_kinds")
        count, top = con.execute("SELECT count(*), max(updated_ms) FROM _a").fetchone()
        con.execute("DROP TABLE _a")
        return int(count), top or 0

    def _copy_events(self, con, reader: MlmdReader, exec_ids, art_ids, progress) -> int:
        con.execute("""CREATE OR REPLACE TEMP TABLE _e (execution_id BIGINT, artifact_id BIGINT, event_type VARCHAR,
                       role VARCHAR, ms BIGINT)""")
        task = progress.add_task("events", total=len(exec_ids) + len(art_ids))
        for batches, size in ((reader.events_of_executions(exec_ids), len(exec_ids)),
                              (reader.events_of_artifacts(art_ids), len(art_ids))):
            self._stage(con, "_e", batches)
            progress.advance(task, size)
        con.execute("""
            DELETE FROM events USING (SELECT DISTINCT execution_id, artifact_id, event_type FROM _e) e
            WHERE events.execution_id = e.execution_id AND events.artifact_id = e.artifact_id
              AND events.event_type = e.event_type
        """)
        # Direction is settled once steps know their states (derivations.classify_events); 'unknown' until then.
        con.execute(f"""
            INSERT INTO events (execution_id, artifact_id, direction, role, event_type, created_at)
            SELECT DISTINCT ON (execution_id, artifact_id, event_type)
                   execution_id, artifact_id, 'unknown', role, event_type, {_ms_to_ts('ms')}
            FROM _e
        """)
        count = con.execute("SELECT count(*) FROM _e").fetchone()[0]
        con.execute("DROP TABLE _e")
        return int(count)

    def _read_memberships(self, con, reader: MlmdReader, orchestrators, rows) -> bool:
        """Read Associations for executions whose run (or node) no property names. True when any were read.

        Either one call per such execution (GetContextsByExecution) or one per context of the types still
        needed (GetExecutionsByContext), whichever is fewer: a re-run with a few new executions asks about
        those; a first snapshot lists a handful of node contexts instead of asking about thousands of steps.
        """
        needing = [o for o in orchestrators if o.runs_from_associations]
        if not needing:
            return False
        wanted_runs, wanted_nodes, unresolved = set(), set(), []
        for orchestrator in needing:
            node_types = list(orchestrator.node_context_types)
            node_check = "FALSE"
            if node_types:
                node_check = f"""NOT EXISTS (SELECT 1 FROM mlmd_associations a JOIN mlmd_contexts c USING (context_id)
                                 WHERE a.execution_id = s.execution_id
                                   AND c.type_name IN ({', '.join(repr(t) for t in node_types)}))"""
            found = con.execute(f"""
                SELECT s.execution_id, s.run_id IS NULL AS needs_run, {node_check} AS needs_node
                FROM steps s
                WHERE s.dialect = ? AND (s.run_id IS NULL OR {node_check})
                  AND s.execution_id NOT IN (SELECT execution_id FROM mlmd_context_lookups)
                ORDER BY s.execution_id
            """, [orchestrator.name]).fetchall()
            if any(r[1] for r in found):
                wanted_runs.update(orchestrator.run_context_types)
            if any(r[2] for r in found):
                wanted_nodes.update(node_types)
            unresolved.extend(r[0] for r in found)
        if not unresolved:
            return False
        context_types = sorted(wanted_runs | wanted_nodes)
        contexts = [r[0] for r in con.execute(f"""
            SELECT context_id FROM mlmd_contexts WHERE type_name IN ({', '.join('?' * len(context_types))})
            ORDER BY context_id
        """, context_types).fetchall()] if context_types else []
        known = {r[0] for r in con.execute("SELECT context_id FROM mlmd_contexts").fetchall()}
        pairs: list[tuple[int, int]] = []
        if len(unresolved) <= len(contexts):
            for execution_id in unresolved:
                pairs.extend((c, execution_id) for c in reader.contexts_of_execution(execution_id) if c in known)
        else:
            for context_id in contexts:
                pairs.extend((context_id, e) for e in reader.executions_of_context(context_id))
        if pairs:
            con.register("_assoc", pa.table({"context_id": pa.array([p[0] for p in pairs], pa.int64()),
                                             "execution_id": pa.array([p[1] for p in pairs], pa.int64())}))
            con.execute("""
                INSERT INTO mlmd_associations
                SELECT DISTINCT context_id, execution_id FROM _assoc
                EXCEPT SELECT context_id, execution_id FROM mlmd_associations
            """)
            con.unregister("_assoc")
        con.register("_looked", pa.table({"execution_id": pa.array(unresolved, pa.int64())}))
        con.execute("INSERT INTO mlmd_context_lookups SELECT execution_id FROM _looked")
        con.unregister("_looked")
        rows["associations"] = len(pairs)
        return True


def open_source(uri: StoreUri, *, password_prompt=None, batch_size: int | None = None) -> MlmdSource:
    return MlmdSource(uri, password_prompt=password_prompt, batch_size=batch_size)


def _settled_ms(node: str, newest: dict[str, int], previous: dict[str, Any] | None, read_at: float) -> int:
    """The update time below which every node of this kind was committed when this snapshot read the store.

    A writer stamps a node before its transaction commits, so a snapshot can miss a node stamped up to
    UPDATE_SLACK_MS before the newest update it saw: the next snapshot lists that margin again, once. Once a
    snapshot starts more than that margin after the previous one, every transaction open during the previous
    read has committed with a stamp after the previous newest update (the store's clock advances as ours does;
    its offset does not matter), so an unchanged store has no margin left to re-read.
    """
    margin = newest[node] - UPDATE_SLACK_MS
    if previous is None:
        return margin
    if (read_at - float(previous["read_at"])) * 1000 > UPDATE_SLACK_MS:
        return max(margin, int(previous["newest_ms"][node]) + 1)
    return max(margin, int(previous["settled_ms"][node]))
