"""Batched, id-based reads from an MLMD store, turned into Arrow tables for the workspace.

Why raw requests instead of the wrapper's list helpers: the wrapper pages every list call at 100 rows (one call
per 100 nodes), `filter_query` is deprecated and silently truncates at 101 rows, and `get_*_by_context` always
pages. Id-based Get*ByID calls return every row asked for in one response, so a store of N nodes is read in
about N / batch_size calls. Ids are dense autoincrement keys, so a range of ids is a batch; ids that do not exist
simply do not come back. Every call goes through the library's own `_call` (retries on Aborted, maps errors to
ml_metadata.errors), for the embedded SQLite/MySQL driver and for gRPC alike, and is counted.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import Counter
from typing import Iterable, Iterator, Sequence

import pyarrow as pa
from google.protobuf import json_format
from ml_metadata import errors as mlmd_errors
from ml_metadata.proto import metadata_store_pb2 as mlmd_pb
from ml_metadata.proto import metadata_store_service_pb2 as svc

from aipipe_ops.errors import SourceError

EXECUTION_STATES = dict(mlmd_pb.Execution.State.items())
EXECUTION_STATE_NAMES = {v: k for k, v in EXECUTION_STATES.items()}
ARTIFACT_STATE_NAMES = {v: k for k, v in mlmd_pb.Artifact.State.items()}
EVENT_TYPE_NAMES = {v: k for k, v in mlmd_pb.Event.Type.items()}
ARTIFACT_BASE_TYPES = {v: k for k, v in mlmd_pb.ArtifactType.SystemDefinedBaseType.items()}
EXECUTION_BASE_TYPES = {v: k for k, v in mlmd_pb.ExecutionType.SystemDefinedBaseType.items()}

_ORDER = mlmd_pb.ListOperationOptions.OrderByField
# The server caps a page at 100 rows and silently returns 101 rows without a token above that.
PAGE_SIZE = 100
_LIST_METHODS = {"execution": "GetExecutions", "artifact": "GetArtifacts", "context": "GetContexts"}
_SQL_TABLES = {"execution": "Execution", "artifact": "Artifact", "context": "Context"}   # schema version 10


def store_error(method: str, exc: Exception) -> SourceError:
    """One line for an MLMD call that failed mid-read (a server that went away, a store that errs): the snapshot is
    one transaction, so the workspace stays as it was."""
    detail = " ".join(str(exc).split())[:300] or "(no detail)"
    return SourceError(f"the MLMD store failed during the snapshot ({method}: {type(exc).__name__}: {detail}); "
                       f"the workspace is unchanged, run the snapshot again")


class MlmdReader:
    """Counted, batched reads. `batch_size` bounds ids per request (and so the response size)."""

    def __init__(self, store, *, batch_size: int = 5000, sql: sqlite3.Connection | None = None):
        self._store = store
        self.batch_size = batch_size
        self.sql = sql
        self.calls: Counter[str] = Counter()

    # -- plumbing -------------------------------------------------------------------------------------------
    def _call(self, method: str, request):
        response = getattr(svc, method + "Response")()
        try:
            self._store._call(method, request, response)
        except mlmd_errors.ResourceExhaustedError:
            raise                                   # _batched halves the batch and asks again
        except mlmd_errors.StatusError as exc:
            raise store_error(method, exc) from exc
        self.calls[method] += 1
        return response

    def _batched(self, method: str, field: str, ids: Sequence[int], result_field: str) -> Iterator[list]:
        """Yield the results for `ids` in batches; halve the batch when a response is too large for the channel."""
        size = self.batch_size
        start = 0
        while start < len(ids):
            chunk = ids[start:start + size]
            request = getattr(svc, method + "Request")()
            getattr(request, field).extend(chunk)
            try:
                response = self._call(method, request)
            except mlmd_errors.ResourceExhaustedError as exc:
                if size <= 50:
                    raise store_error(method, exc) from exc
                size //= 2
                continue
            start += len(chunk)
            yield list(getattr(response, result_field))

    # -- types and ids --------------------------------------------------------------------------------------
    def types(self) -> pa.Table:
        rows = {"type_id": [], "kind": [], "name": [], "version": [], "base_type": []}
        for method, kind, field, bases in (
            ("GetExecutionTypes", "execution", "execution_types", EXECUTION_BASE_TYPES),
            ("GetArtifactTypes", "artifact", "artifact_types", ARTIFACT_BASE_TYPES),
            ("GetContextTypes", "context", "context_types", {}),
        ):
            for t in getattr(self._call(method, getattr(svc, method + "Request")()), field):
                rows["type_id"].append(t.id)
                rows["kind"].append(kind)
                rows["name"].append(t.name)
                rows["version"].append(t.version or None)
                base = bases.get(t.base_type) if t.HasField("base_type") else None
                rows["base_type"].append(base if base not in (None, "UNSET") else None)
        return pa.table(rows)

    def max_id(self, node: str) -> int:
        """Highest execution/artifact/context id in the store (one call: order by id, descending, one row)."""
        method = _LIST_METHODS[node]
        request = getattr(svc, method + "Request")()
        request.options.max_result_size = 1
        request.options.order_by_field.field = _ORDER.ID
        request.options.order_by_field.is_asc = False
        rows = getattr(self._call(method, request), node + "s")
        return rows[0].id if rows else 0

    def newest_update_ms(self, node: str) -> int:
        """The latest update time (ms) of any execution/artifact/context in the store (one call)."""
        request = getattr(svc, _LIST_METHODS[node] + "Request")()
        request.options.max_result_size = 1
        request.options.order_by_field.field = _ORDER.LAST_UPDATE_TIME
        request.options.order_by_field.is_asc = False
        rows = getattr(self._call(_LIST_METHODS[node], request), node + "s")
        return rows[0].last_update_time_since_epoch if rows else 0

    def updated_since(self, node: str, since_ms: int, max_pages: int) -> list[tuple[int, int, int]] | None:
        """(id, update ms, type id) of nodes updated at or after `since_ms`, newest first, or None past `max_pages`
        pages (then a full re-read by id is cheaper than paging 100 rows at a time). Nothing changed: one call.

        On a SQLite store the same list comes from one read-only query of the node table's update-time index
        (`sql`, opened by the source), without reading the nodes themselves."""
        if self.sql is not None:
            table = _SQL_TABLES[node]
            self.calls[f"sql:{table}"] += 1
            try:
                return self.sql.execute(f"SELECT id, last_update_time_since_epoch, type_id FROM {table} "
                                        f"WHERE last_update_time_since_epoch >= ? "
                                        f"ORDER BY last_update_time_since_epoch DESC, id DESC", [since_ms]).fetchall()
            except sqlite3.Error as exc:
                raise store_error(f"SELECT ... FROM {table}", exc) from exc
        method = _LIST_METHODS[node]
        request = getattr(svc, method + "Request")()
        request.options.max_result_size = PAGE_SIZE
        request.options.order_by_field.field = _ORDER.LAST_UPDATE_TIME
        request.options.order_by_field.is_asc = False
        found: list[tuple[int, int, int]] = []
        for _ in range(max_pages):
            response = self._call(method, request)
            rows = getattr(response, node + "s")
            for row in rows:
                if row.last_update_time_since_epoch < since_ms:
                    return found
                found.append((row.id, row.last_update_time_since_epoch, row.type_id))
            if not response.next_page_token or not rows:
                return found
            request.options.next_page_token = response.next_page_token
        return None

    # -- nodes ----------------------------------------------------------------------------------------------
    def executions(self, ids: Sequence[int]) -> Iterator[pa.Table]:
        for batch in self._batched("GetExecutionsByID", "execution_ids", ids, "executions"):
            yield executions_table(batch)

    def artifacts(self, ids: Sequence[int]) -> Iterator[pa.Table]:
        for batch in self._batched("GetArtifactsByID", "artifact_ids", ids, "artifacts"):
            yield artifacts_table(batch)

    def events_of_executions(self, ids: Sequence[int]) -> Iterator[pa.Table]:
        for batch in self._batched("GetEventsByExecutionIDs", "execution_ids", ids, "events"):
            yield events_table(batch)

    def events_of_artifacts(self, ids: Sequence[int]) -> Iterator[pa.Table]:
        for batch in self._batched("GetEventsByArtifactIDs", "artifact_ids", ids, "events"):
            yield events_table(batch)

    # -- contexts -------------------------------------------------------------------------------------------
    def contexts_of_type(self, type_name: str) -> pa.Table:
        # No options: the server returns every context of the type in one response.
        request = svc.GetContextsByTypeRequest(type_name=type_name)
        return contexts_table(self._call("GetContextsByType", request).contexts, type_name)

    def contexts_by_id(self, ids: Sequence[int], type_names: dict[int, str]) -> pa.Table:
        """The contexts with these ids whose type is in `type_names` (type id -> name)."""
        tables = []
        for batch in self._batched("GetContextsByID", "context_ids", ids, "contexts"):
            for type_id, name in type_names.items():
                rows = [c for c in batch if c.type_id == type_id]
                if rows:
                    tables.append(contexts_table(rows, name))
        return pa.concat_tables(tables) if tables else contexts_table([], "")

    def parents_of_context(self, context_id: int) -> list[int]:
        request = svc.GetParentContextsByContextRequest(context_id=context_id)
        return [c.id for c in self._call("GetParentContextsByContext", request).contexts]

    def children_of_context(self, context_id: int) -> list[int]:
        request = svc.GetChildrenContextsByContextRequest(context_id=context_id)
        return [c.id for c in self._call("GetChildrenContextsByContext", request).contexts]

    def executions_of_context(self, context_id: int) -> list[int]:
        # No options: every associated execution in one response (the wrapper would page by 100).
        request = svc.GetExecutionsByContextRequest(context_id=context_id)
        return [e.id for e in self._call("GetExecutionsByContext", request).executions]

    def contexts_of_execution(self, execution_id: int) -> list[int]:
        request = svc.GetContextsByExecutionRequest(execution_id=execution_id)
        return [c.id for c in self._call("GetContextsByExecution", request).contexts]


# -- proto -> columns --------------------------------------------------------------------------------------------
def value_of(value: mlmd_pb.Value):
    """One MLMD Value as plain JSON data (ints stay ints, doubles stay doubles; structs become objects)."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        number = value.double_value
        return number if math.isfinite(number) else str(number)
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return json_format.MessageToDict(value.struct_value)
    if kind == "proto_value":
        return {"@type": value.proto_value.type_url}
    return None


def properties_json(node) -> str | None:
    """Declared properties and custom properties merged into one JSON object; a custom property whose name
    collides with a declared one keeps its value under `custom:<name>` (the convention TFX's KFP v2 runner uses)."""
    merged = {}
    custom = node.custom_properties
    declared = node.properties
    for key, value in custom.items():
        merged[key] = value_of(value)
    if declared:
        for key, value in declared.items():
            if key in merged:
                merged["custom:" + key] = merged[key]
            merged[key] = value_of(value)
    # Sorted keys: protobuf maps have no order, and the same node must read the same over any transport.
    return json.dumps(merged, separators=(",", ":"), sort_keys=True, default=str) if merged else None


def executions_table(rows: Iterable) -> pa.Table:
    ids, types, names, states, created, updated, props = [], [], [], [], [], [], []
    for e in rows:
        ids.append(e.id)
        types.append(e.type_id)
        names.append(e.name or None)
        states.append(EXECUTION_STATE_NAMES.get(e.last_known_state, "UNKNOWN"))
        created.append(e.create_time_since_epoch or None)
        updated.append(e.last_update_time_since_epoch or None)
        props.append(properties_json(e))
    return pa.table({"execution_id": pa.array(ids, pa.int64()), "type_id": pa.array(types, pa.int64()),
                     "name": pa.array(names, pa.string()), "state": pa.array(states, pa.string()),
                     "created_ms": pa.array(created, pa.int64()), "updated_ms": pa.array(updated, pa.int64()),
                     "properties": pa.array(props, pa.string())})


def artifacts_table(rows: Iterable) -> pa.Table:
    ids, types, names, uris, states, created, updated, props = [], [], [], [], [], [], [], []
    for a in rows:
        ids.append(a.id)
        types.append(a.type_id)
        names.append(a.name or None)
        uris.append(a.uri or None)
        states.append(ARTIFACT_STATE_NAMES.get(a.state, "UNKNOWN"))
        created.append(a.create_time_since_epoch or None)
        updated.append(a.last_update_time_since_epoch or None)
        props.append(properties_json(a))
    return pa.table({"artifact_id": pa.array(ids, pa.int64()), "type_id": pa.array(types, pa.int64()),
                     "name": pa.array(names, pa.string()), "uri": pa.array(uris, pa.string()),
                     "state": pa.array(states, pa.string()), "created_ms": pa.array(created, pa.int64()),
                     "updated_ms": pa.array(updated, pa.int64()), "properties": pa.array(props, pa.string())})


def events_table(rows: Iterable) -> pa.Table:
    executions, artifacts, types, roles, times = [], [], [], [], []
    for ev in rows:
        executions.append(ev.execution_id)
        artifacts.append(ev.artifact_id)
        types.append(EVENT_TYPE_NAMES.get(ev.type, "UNKNOWN"))
        # KFP: one key step (the input/output name as that task sees it); TFX: [key, index] pairs.
        role = None
        for step in ev.path.steps:
            if step.HasField("key"):
                role = step.key
                break
        roles.append(role)
        times.append(ev.milliseconds_since_epoch or None)
    return pa.table({"execution_id": pa.array(executions, pa.int64()), "artifact_id": pa.array(artifacts, pa.int64()),
                     "event_type": pa.array(types, pa.string()), "role": pa.array(roles, pa.string()),
                     "ms": pa.array(times, pa.int64())})


def contexts_table(rows: Iterable, type_name: str) -> pa.Table:
    ids, names, created, updated, props = [], [], [], [], []
    for c in rows:
        ids.append(c.id)
        names.append(c.name)
        created.append(c.create_time_since_epoch or None)
        updated.append(c.last_update_time_since_epoch or None)
        props.append(properties_json(c))
    return pa.table({"context_id": pa.array(ids, pa.int64()), "type_name": pa.array([type_name] * len(ids), pa.string()),
                     "name": pa.array(names, pa.string()), "created_ms": pa.array(created, pa.int64()),
                     "updated_ms": pa.array(updated, pa.int64()), "properties": pa.array(props, pa.string())})
