"""Writes the MLMD store through ml_metadata.MetadataStore only, one call per WriteOp, in time order.

Run as a child process (`python -m aipipe_ops.sample.mlmd_writer PLAN STORE IDS`) so that libfaketime can be
preloaded into it (fake_clock.py) and so that it runs on the second core while the parent streams billing rows.
It prints "progress <n>" lines on stdout and writes the ids it got to IDS (JSON): execution, artifact (with the
final uri) and context ids by plan key.
"""

from __future__ import annotations

import json
import os
import pickle
import sys

from google.protobuf import struct_pb2
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as mlmd

from aipipe_ops.sample.fake_clock import FakeClock
from aipipe_ops.sample.mlmd_ops import StorePlan
from aipipe_ops.sample.plan import Ref

PROPERTY_TYPES = {"INT": mlmd.INT, "DOUBLE": mlmd.DOUBLE, "STRING": mlmd.STRING}
BASE_TYPES = {"DATASET": mlmd.ArtifactType.DATASET, "MODEL": mlmd.ArtifactType.MODEL,
              "METRICS": mlmd.ArtifactType.METRICS, "STATISTICS": mlmd.ArtifactType.STATISTICS}
EXECUTION_STATES = {name: mlmd.Execution.State.Value(name)
                    for name in ("RUNNING", "COMPLETE", "FAILED", "CACHED", "CANCELED")}


class StoreWriter:
    def __init__(self, plan: StorePlan, store_path: str, clock: FakeClock, progress=None):
        self.plan = plan
        self.clock = clock
        self.progress = progress
        config = mlmd.ConnectionConfig()
        config.sqlite.filename_uri = store_path
        config.sqlite.connection_mode = mlmd.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
        self.store = metadata_store.MetadataStore(config)
        self.type_ids: dict[tuple[str, str], int] = {}
        self.contexts: dict[str, mlmd.Context] = {}
        self.executions: dict[str, mlmd.Execution] = {}
        self.artifact_ids: dict[str, int] = {}
        self.artifact_uris: dict[str, str] = {}
        self.expected_times: dict[int, list[int]] = {}

    # ---- values ------------------------------------------------------------------------------------------
    def _resolve(self, v):
        if isinstance(v, Ref):
            if v.kind == "execution_id":
                return self.executions[v.key].id
            if v.kind == "execution_id_str":
                return str(self.executions[v.key].id)
            if v.kind == "artifact_id":
                return self.artifact_ids[v.key]
            if v.kind == "artifact_uri":
                return self.artifact_uris[v.key]
            raise ValueError(v.kind)
        return v

    def _set(self, target, name: str, v) -> None:
        v = self._resolve(v)
        value = target[name]
        if isinstance(v, bool):
            value.int_value = int(v)
        elif isinstance(v, int):
            value.int_value = v
        elif isinstance(v, float):
            value.double_value = v
        elif isinstance(v, str):
            value.string_value = v
        elif isinstance(v, dict):
            s = struct_pb2.Struct()
            s.update(v)
            value.struct_value.CopyFrom(s)
        else:
            raise TypeError(f"{name}: {type(v).__name__}")

    # ---- types and contexts ------------------------------------------------------------------------------
    def register_types(self) -> None:
        for name in self.plan.context_types:
            self.type_ids[("context", name)] = self.store.put_context_type(mlmd.ContextType(name=name))
        for name in self.plan.execution_types:
            self.type_ids[("execution", name)] = self.store.put_execution_type(mlmd.ExecutionType(name=name))
        for name, (props, base) in self.plan.artifact_types.items():
            t = mlmd.ArtifactType(name=name)
            for prop, kind in props.items():
                t.properties[prop] = PROPERTY_TYPES[kind]
            if base:
                t.base_type = BASE_TYPES[base]
            self.type_ids[("artifact", name)] = self.store.put_artifact_type(t)

    def _context(self, key: str) -> mlmd.Context:
        if key in self.contexts:
            return self.contexts[key]
        spec = self.plan.contexts[key]
        parent = self._context(spec.parent) if spec.parent else None
        ctx = mlmd.Context(type_id=self.type_ids[("context", spec.type_name)], name=spec.name)
        for k, v in spec.custom.items():
            self._set(ctx.custom_properties, k, v)
        [ctx.id] = self.store.put_contexts([ctx])
        if parent is not None:
            self.store.put_parent_contexts([mlmd.ParentContext(child_id=ctx.id, parent_id=parent.id)])
        self.contexts[key] = ctx
        return ctx

    # ---- executions --------------------------------------------------------------------------------------
    def _event(self, kind, art_key: str | None, path: list, ms: int) -> mlmd.Event:
        e = mlmd.Event(type=kind, milliseconds_since_epoch=ms)
        if art_key is not None:
            e.artifact_id = self.artifact_ids[art_key]
        for step in path:
            if isinstance(step, int):
                e.path.steps.add().index = step
            else:
                e.path.steps.add().key = step
        return e

    def apply(self, op) -> None:
        self.clock.set(op.time)
        contexts = [self._context(k) for k in op.contexts]
        if op.first:
            execution = mlmd.Execution(type_id=self.type_ids[("execution", op.exec_type)])
            if op.name:
                execution.name = op.name
        else:
            execution = self.executions[op.exec_key]
        execution.last_known_state = EXECUTION_STATES[op.state]
        for k, v in op.custom.items():
            self._set(execution.custom_properties, k, v)
        ms = op.time * 1000
        pairs = [(None, self._event(mlmd.Event.INPUT, a, p, ms)) for a, p in op.input_events]
        pairs += [(None, self._event(mlmd.Event.OUTPUT, a, p, ms)) for a, p in op.reused_output_events]
        new_keys = []
        for art_key, path in op.new_artifacts:
            spec = self.plan.artifacts[art_key]
            art = mlmd.Artifact(type_id=self.type_ids[("artifact", spec.type_name)],
                                state=mlmd.Artifact.State.Value(spec.state))
            art.uri = spec.uri.replace("{execution_id}", str(execution.id))
            for k, v in spec.properties.items():
                self._set(art.properties, k, v)
            for k, v in spec.custom.items():
                self._set(art.custom_properties, k, v)
            pairs.append((art, self._event(mlmd.Event.OUTPUT, None, path, ms)))
            new_keys.append((art_key, art.uri))
        exec_id, artifact_ids, _ = self.store.put_execution(execution, pairs, contexts)
        if op.first:
            execution.id = exec_id
            self.executions[op.exec_key] = execution
            self.expected_times[exec_id] = [op.time * 1000, op.time * 1000]
        else:
            self.expected_times[exec_id][1] = op.time * 1000
        created = artifact_ids[len(artifact_ids) - len(new_keys):] if new_keys else []
        for (art_key, uri), art_id in zip(new_keys, created):
            self.artifact_ids[art_key] = art_id
            self.artifact_uris[art_key] = uri

    def verify_times(self) -> None:
        """Every execution holds the simulated times of its calls (a wrong clock must not go unnoticed)."""
        for e in self.store.get_executions():
            want = self.expected_times[e.id]
            if [e.create_time_since_epoch, e.last_update_time_since_epoch] != want:
                raise RuntimeError(f"execution {e.id} holds times {e.create_time_since_epoch}/"
                                   f"{e.last_update_time_since_epoch} ms, expected {want[0]}/{want[1]}: "
                                   f"the fake clock did not hold")

    def write(self) -> dict:
        if self.plan.ops:
            self.clock.set(self.plan.ops[0].time)
        self.register_types()
        for n, op in enumerate(self.plan.ops, 1):
            self.apply(op)
            if self.progress and n % 500 == 0:
                self.progress(n)
        if self.progress:
            self.progress(len(self.plan.ops))
        if self.clock.active:
            self.verify_times()
        return {
            "executions": {k: e.id for k, e in self.executions.items()},
            "artifacts": {k: [i, self.artifact_uris[k]] for k, i in self.artifact_ids.items()},
            "contexts": {k: c.id for k, c in self.contexts.items()},
        }


def main(argv: list[str]) -> int:
    plan_path, store_path, ids_path = argv
    with open(plan_path, "rb") as handle:
        plan = pickle.load(handle)
    clock = FakeClock(os.environ.get("FAKETIME_TIMESTAMP_FILE"))

    def progress(n: int) -> None:
        print(f"progress {n}", flush=True)

    ids = StoreWriter(plan, store_path, clock, progress).write()
    with open(ids_path, "w") as handle:
        json.dump(ids, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
