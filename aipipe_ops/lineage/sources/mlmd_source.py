"""The MLMD source: sqlite://, mysql://, grpc:// and grpcs:// stores, read through ml-metadata, read-only.

What one snapshot reads (every call counted; N = executions + artifacts):
- the three type lists (3 calls) and, per context type a present orchestrator uses, every context of it (1 call each);
- ids: the highest execution and artifact id (2 calls); then executions, artifacts and their events by id
  batches of `batch_size` (about N / batch_size calls each);
- on a re-run: only ids above the last high-water mark, plus nodes updated since the last snapshot (listed newest
  first, 100 per call; when that would take more than a few times the calls of a whole copy, a fresh copy);
- parent links of pipeline contexts that have runs without a known pipeline (1 call per pipeline);
- Associations only where no property names the run (TFX IR, or a KFP v2 execution cut off from its root DAG):
  one call per execution or one per run/node context, whichever is fewer.
"""

from __future__ import annotations

import math
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
LINEAGE_TABLES = ("steps", "artifacts", "events", "mlmd_types", "mlmd_contexts", "mlmd_associations",
                  "mlmd_parent_contexts", "mlmd_context_lookups")


def _ms_to_ts(column: str) -> str:
    # Integer microseconds: exact, so a node's update time can be compared with the store's on the next run.
    return f"make_timestamptz({column} * 1000)"


class MlmdSource:
    def __init__(self, uri: StoreUri, *, password_prompt=None, batch_size: int | None = None):
        self.display_uri = uri.display
        self.store = mlmd_connection.connect(uri, password_prompt=password_prompt)
        # gRPC responses cross a channel with a message limit: smaller batches keep each one well under it.
        self.batch_size = batch_size or (1000 if uri.scheme.startswith("grpc") else 5000)

    def close(self) -> None:
        self.store = None

    # -- the protocol -----------------------------------------------------------------------------------------
    def copy_into(self, con: duckdb.DuckDBPyConnection, previous: dict[str, Any] | None, progress) -> CopyResult:
        reader = MlmdReader(self.store, batch_size=self.batch_size)
        rows: dict[str, int] = {}
        notes: list[str] = []
        high: dict[str, int] = {}
        if previous is not None:
            exec_ids, exec_full = self._ids_to_read(con, reader, "execution", previous, high)
            art_ids, art_full = self._ids_to_read(con, reader, "artifact", previous, high)
            if exec_full or art_full:
                # Re-reading everything by id is cheaper as a fresh copy than as thousands of updates.
                notes.append("many changes since the last snapshot: copied the store afresh")
                previous = None
        else:
            high = {"execution": reader.max_id("execution"), "artifact": reader.max_id("artifact")}
        full = previous is None
        if full:
            exec_ids = list(range(1, high["execution"] + 1))
            art_ids = list(range(1, high["artifact"] + 1))
            for table in LINEAGE_TABLES:
                con.execute(f"DELETE FROM {table}")

        types = reader.types()
        con.execute("DELETE FROM mlmd_types")
        con.register("_types", types)
        con.execute("INSERT INTO mlmd_types SELECT * FROM _types")
        con.unregister("_types")
        store_types = self._store_types(types)
        orchestrators = detect_orchestrators(store_types)

        contexts_before = self._contexts_digest(con)
        self._copy_contexts(con, reader, orchestrators, store_types, rows)

        rows["executions"], executions_ms = self._copy_executions(con, reader, exec_ids, progress)
        rows["artifacts"], artifacts_ms = self._copy_artifacts(con, reader, art_ids, types, progress)
        rows["events"] = self._copy_events(con, reader, exec_ids, [] if full else art_ids, progress)
        watermark = {
            "max_execution_id": high["execution"],
            "max_artifact_id": high["artifact"],
            "updated_ms": max(previous.get("updated_ms", 0) if previous else 0, executions_ms, artifacts_ms),
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

    def _copy_contexts(self, con, reader: MlmdReader, orchestrators, store_types: StoreTypes, rows) -> None:
        wanted = [t for o in orchestrators for t in o.context_types if t in store_types.contexts]
        wanted = list(dict.fromkeys(wanted))
        count = 0
        for type_name in wanted:
            table = reader.contexts_of_type(type_name)
            count += table.num_rows
            con.execute("DELETE FROM mlmd_contexts WHERE type_name = ?", [type_name])
            con.register("_ctx", table)
            con.execute(f"""INSERT INTO mlmd_contexts SELECT context_id, type_name, name, {_ms_to_ts('created_ms')},
                            {_ms_to_ts('updated_ms')}, properties::JSON FROM _ctx""")
            con.unregister("_ctx")
        rows["contexts"] = count
        # Parent links (pipeline -> run): only for pipelines when some run does not know its pipeline yet.
        run_types = [t for o in orchestrators for t in o.run_context_types]
        pipeline_types = [t for o in orchestrators for t in o.pipeline_context_types]
        if not run_types or not pipeline_types:
            return
        orphans = con.execute(f"""
            SELECT count(*) FROM mlmd_contexts c
            WHERE c.type_name IN ({', '.join('?' * len(run_types))})
              AND c.context_id NOT IN (SELECT child_id FROM mlmd_parent_contexts)
        """, run_types).fetchone()[0]
        if not orphans:
            return
        pipelines = con.execute(f"""
            SELECT context_id FROM mlmd_contexts WHERE type_name IN ({', '.join('?' * len(pipeline_types))})
        """, pipeline_types).fetchall()
        links = []
        for (pipeline_id,) in pipelines:
            links.extend((child, pipeline_id) for child in reader.children_of_context(pipeline_id))
        con.execute("DELETE FROM mlmd_parent_contexts")
        if links:
            con.register("_links", pa.table({"child_id": [c for c, _ in links], "parent_id": [p for _, p in links]}))
            con.execute("INSERT INTO mlmd_parent_contexts SELECT child_id, parent_id FROM _links")
            con.unregister("_links")

    def _ids_to_read(self, con, reader: MlmdReader, node: str, previous, high) -> tuple[list[int], bool]:
        """Ids new or changed since `previous`, and whether re-reading everything would be cheaper."""
        top = high[node] = reader.max_id(node)
        known = int(previous.get(f"max_{node}_id", 0))
        new = list(range(known + 1, top + 1))
        since = int(previous.get("updated_ms", 0)) - UPDATE_SLACK_MS
        # Paging by update time costs one call per 100 rows (new nodes included: they are the latest updated).
        # Past a few times the calls of a whole copy, a fresh copy is cheaper.
        budget = max(10, 3 * math.ceil(top / self.batch_size))
        changed = reader.updated_since(node, since, max_pages=budget)
        if changed is None:
            return [], True
        candidates = {i: ms for i, ms in changed if i <= known}
        if candidates:
            # Nodes inside the re-read margin that the workspace already holds at this very update time.
            table, key = ("steps", "execution_id") if node == "execution" else ("artifacts", "artifact_id")
            con.register("_candidates", pa.table({"id": pa.array(list(candidates), pa.int64()),
                                                  "ms": pa.array(list(candidates.values()), pa.int64())}))
            unchanged = {r[0] for r in con.execute(f"""
                SELECT c.id FROM _candidates c JOIN {table} t ON t.{key} = c.id
                WHERE epoch_ms(t.updated_at) = c.ms""").fetchall()}
            con.unregister("_candidates")
            candidates = {i: ms for i, ms in candidates.items() if i not in unchanged}
        return sorted(candidates) + new, False

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
