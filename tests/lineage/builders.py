"""Write small MLMD stores through the real ml-metadata library, the way each orchestrator writes them.

Each writer follows the shapes in reference/lineage.md (§3 KFP v2 driver/launcher, §4 KFP v1 metadata-writer,
§5 TFX launchers): the same type names, context names, property names and value types (KFP v2 numbers are
doubles, its cached_execution_id a string; TFX writes [key, index] event paths), and one put_execution per
execution, which also attributes the artifacts and associates the contexts, as the real writers do.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any, Iterable

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

Props = dict[str, Any]


def _set(props_map, values: Props | None) -> None:
    for key, value in (values or {}).items():
        if isinstance(value, bool):
            props_map[key].bool_value = value
        elif isinstance(value, int):
            props_map[key].int_value = value
        elif isinstance(value, float):
            props_map[key].double_value = value
        elif isinstance(value, dict):
            props_map[key].struct_value.update(value)
        else:
            props_map[key].string_value = str(value)


class StoreBuilder:
    """A READWRITE store on a SQLite file (tests only: aipipe itself opens stores READONLY)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        config = pb.ConnectionConfig()
        config.sqlite.filename_uri = str(self.path)
        config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
        self.store = metadata_store.MetadataStore(config)
        self._types: dict[tuple[str, str], int] = {}
        self._contexts: dict[tuple[str, str], int] = {}

    @classmethod
    def on(cls, store: metadata_store.MetadataStore) -> "StoreBuilder":
        builder = cls.__new__(cls)
        builder.path = None
        builder.store = store
        builder._types = {}
        builder._contexts = {}
        return builder

    # -- types and contexts ----------------------------------------------------------------------------------
    def artifact_type(self, name: str, base_type: int | None = None, properties: dict[str, int] | None = None) -> int:
        key = ("artifact", name)
        if key not in self._types:
            t = pb.ArtifactType(name=name, properties=properties or {})
            if base_type is not None:
                t.base_type = base_type
            self._types[key] = self.store.put_artifact_type(t, can_add_fields=True)
        return self._types[key]

    def execution_type(self, name: str, properties: dict[str, int] | None = None) -> int:
        key = ("execution", name)
        if key not in self._types:
            self._types[key] = self.store.put_execution_type(
                pb.ExecutionType(name=name, properties=properties or {}), can_add_fields=True)
        return self._types[key]

    def context_type(self, name: str, properties: dict[str, int] | None = None) -> int:
        key = ("context", name)
        if key not in self._types:
            self._types[key] = self.store.put_context_type(
                pb.ContextType(name=name, properties=properties or {}), can_add_fields=True)
        return self._types[key]

    def context(self, type_name: str, name: str, custom: Props | None = None, props: Props | None = None,
                type_properties: dict[str, int] | None = None) -> int:
        key = (type_name, name)
        if key not in self._contexts:
            c = pb.Context(type_id=self.context_type(type_name, type_properties), name=name)
            _set(c.custom_properties, custom)
            _set(c.properties, props)
            [self._contexts[key]] = self.store.put_contexts([c])
        return self._contexts[key]

    def parent(self, child_id: int, parent_id: int) -> None:
        self.store.put_parent_contexts([pb.ParentContext(child_id=child_id, parent_id=parent_id)])

    # -- nodes -----------------------------------------------------------------------------------------------
    def new_artifact(self, type_name: str, uri: str, custom: Props | None = None, props: Props | None = None,
                     state: int = pb.Artifact.LIVE, base_type: int | None = None,
                     type_properties: dict[str, int] | None = None) -> pb.Artifact:
        a = pb.Artifact(type_id=self.artifact_type(type_name, base_type, type_properties), uri=uri, state=state)
        _set(a.custom_properties, custom)
        _set(a.properties, props)
        return a

    def put_artifact(self, artifact: pb.Artifact) -> int:
        [artifact_id] = self.store.put_artifacts([artifact])
        return artifact_id

    def execute(self, type_name: str, *, state: int = pb.Execution.COMPLETE, custom: Props | None = None,
                props: Props | None = None, name: str | None = None, type_properties: dict[str, int] | None = None,
                inputs: dict[str, Iterable[int]] | None = None, outputs: dict[str, Iterable] | None = None,
                contexts: Iterable[int] = (), tfx_paths: bool = False,
                output_event: int = pb.Event.OUTPUT) -> tuple[int, dict[str, list[int]]]:
        """One put_execution: inputs are existing artifact ids; outputs are new pb.Artifact or existing ids."""
        e = pb.Execution(type_id=self.execution_type(type_name, type_properties), last_known_state=state)
        if name:
            e.name = name
        _set(e.custom_properties, custom)
        _set(e.properties, props)
        pairs = []
        order: list[tuple[str, int | None]] = []

        def event(kind: int, key: str, index: int, artifact_id: int | None) -> pb.Event:
            ev = pb.Event(type=kind)
            if artifact_id is not None:
                ev.artifact_id = artifact_id
            ev.path.steps.add().key = key
            if tfx_paths:
                ev.path.steps.add().index = index
            return ev

        existing = self._fetch(inputs, outputs)
        for key, ids in (inputs or {}).items():
            for index, artifact_id in enumerate(ids):
                pairs.append((existing[artifact_id], event(pb.Event.INPUT, key, index, artifact_id)))
        for key, items in (outputs or {}).items():
            for index, item in enumerate(items):
                if isinstance(item, int):
                    pairs.append((existing[item], event(output_event, key, index, item)))
                    order.append((key, item))
                else:
                    pairs.append((item, event(output_event, key, index, None)))
                    order.append((key, None))
        execution_id, artifact_ids, _ = self.store.put_execution(
            e, pairs, [pb.Context(id=c) for c in contexts], force_reuse_context=True)
        produced: dict[str, list[int]] = {}
        output_ids = artifact_ids[sum(len(list(v)) for v in (inputs or {}).values()):]
        for (key, _), artifact_id in zip(order, output_ids):
            produced.setdefault(key, []).append(artifact_id)
        return execution_id, produced

    def _fetch(self, inputs, outputs) -> dict[int, pb.Artifact]:
        """The existing artifacts the inputs and outputs name by id."""
        ids = [i for v in (inputs or {}).values() for i in v]
        ids += [i for v in (outputs or {}).values() for i in v if isinstance(i, int)]
        return {a.id: a for a in self.store.get_artifacts_by_id(ids)} if ids else {}


# -- KFP v2 ----------------------------------------------------------------------------------------------------
class KfpV2Run:
    """A run as the KFP v2 driver/launcher records it (backend/src/v2/metadata/client.go)."""

    def __init__(self, b: StoreBuilder, pipeline: str, run_id: str, namespace: str = "team-a",
                 root: str = "gs://bucket/pipeline-root"):
        self.b, self.pipeline, self.run_id, self.namespace, self.root = b, pipeline, run_id, namespace, root
        self.pipeline_ctx = b.context("system.Pipeline", pipeline)
        self.run_ctx = b.context("system.PipelineRun", run_id, custom={
            "namespace": namespace, "resource_name": "run-resource",
            "pipeline_root": f"{root}/{pipeline}/{run_id}", "store_session_info": '{"provider":"gs"}'})
        b.parent(self.run_ctx, self.pipeline_ctx)
        # The root DAG stays RUNNING: nothing ever publishes it (reference/lineage.md §3.3).
        self.root_dag, _ = b.execute("system.DAGExecution", state=pb.Execution.RUNNING, name=f"run/{run_id}",
                                     custom={"display_name": "", "task_name": "", "inputs": {"epochs": 3.0}},
                                     contexts=[self.pipeline_ctx, self.run_ctx])

    def task(self, task_name: str, *, inputs: dict[str, list[int]] | None = None,
             outputs: dict[str, str | tuple[str, Props]] | None = None, state: int = pb.Execution.COMPLETE,
             pod: bool = True, image: str = "gcr.io/team/train:1.0", parent_dag: int | None = None,
             reuse: dict[str, list[int]] | None = None, cached_from: int | None = None,
             execution_type: str = "system.ContainerExecution") -> tuple[int, dict[str, list[int]]]:
        custom: Props = {"display_name": task_name, "task_name": task_name,
                         "parent_dag_id": parent_dag or self.root_dag, "inputs": {"lr": 0.1}}
        if execution_type == "system.ContainerExecution":
            custom.update({"image": image, "namespace": self.namespace, "cache_fingerprint": f"fp-{task_name}"})
            if pod and state != pb.Execution.CACHED:
                custom.update({"pod_name": f"{self.pipeline}-{self.run_id[:8]}-{task_name}-driver-1",
                               "pod_uid": f"uid-{task_name}"})
        if cached_from is not None:
            custom["cached_execution_id"] = str(cached_from)   # KFP writes it as a string
        new_outputs: dict[str, list] = {}
        for key, spec in (outputs or {}).items():
            type_name, metadata = (spec, {}) if isinstance(spec, str) else spec
            uri = f"{self.root}/{self.pipeline}/{self.run_id}/{task_name}/salt/{key}"
            new_outputs[key] = [self.b.new_artifact(type_name, uri, custom={"display_name": key, **metadata})]
        for key, ids in (reuse or {}).items():
            new_outputs[key] = list(ids)
        return self.b.execute(execution_type, state=state, custom=custom, inputs=inputs, outputs=new_outputs,
                              contexts=[self.pipeline_ctx, self.run_ctx])

    def importer(self, key: str, type_name: str, uri: str, existing: int | None = None) -> tuple[int, dict]:
        out = [existing] if existing else [self.b.new_artifact(type_name, uri, custom={"display_name": key})]
        return self.b.execute("system.ImporterExecution", custom={"task_name": f"importer-{key}",
                                                                    "display_name": "", "parent_dag_id": self.root_dag},
                              outputs={"artifact": out}, contexts=[self.pipeline_ctx, self.run_ctx])


# -- KFP v1 ----------------------------------------------------------------------------------------------------
V1_PROPS = {"pipeline_name": pb.STRING, "run_id": pb.STRING, "component_id": pb.STRING}


class KfpV1Run:
    """A run as KFP v1's metadata-writer records finished pods (backend/metadata_writer)."""

    def __init__(self, b: StoreBuilder, workflow: str):
        self.b, self.workflow = b, workflow
        self.ctx = b.context("KfpRun", workflow, props={"pipeline_name": workflow, "run_id": workflow},
                             type_properties={"pipeline_name": pb.STRING, "run_id": pb.STRING})

    def step(self, component: str, *, inputs=None, outputs: dict[str, str] | None = None,
             spec: str = "name: x") -> tuple[int, dict]:
        digest = hashlib.sha256(spec.encode()).hexdigest()
        new = {key: [self.b.new_artifact(type_name, f"minio://mlpipeline/artifacts/{self.workflow}/{component}/{key}.tgz",
                                         custom={"name": key, "pipeline_name": self.workflow, "run_id": self.workflow})]
               for key, type_name in (outputs or {}).items()}
        return self.b.execute(f"components.{component}@sha256={digest}", state=pb.Execution.UNKNOWN,
                              props={"pipeline_name": self.workflow, "run_id": self.workflow, "component_id": component},
                              custom={"kfp_pod_name": f"{self.workflow}-{abs(hash(component)) % 10**10}"},
                              type_properties=V1_PROPS, inputs=inputs, outputs=new, contexts=[self.ctx])


# -- TFX (IR orchestrator) ---------------------------------------------------------------------------------------
TFX = {
    "ExampleGen": "tfx.components.example_gen.csv_example_gen.component.CsvExampleGen",
    "StatisticsGen": "tfx.components.statistics_gen.component.StatisticsGen",
    "SchemaGen": "tfx.components.schema_gen.component.SchemaGen",
    "ExampleValidator": "tfx.components.example_validator.component.ExampleValidator",
    "Transform": "tfx.components.transform.component.Transform",
    "Trainer": "tfx.components.trainer.component.Trainer",
    "Evaluator": "tfx.components.evaluator.component.Evaluator",
    "Pusher": "tfx.components.pusher.component.Pusher",
}
TFX_SPAN = {"span": pb.INT, "version": pb.INT, "split_names": pb.STRING}


class TfxRun:
    """A run of TFX's portable orchestrator (pipeline / pipeline_run / node contexts, [key, index] paths)."""

    def __init__(self, b: StoreBuilder, pipeline: str, run_id: str, root: str = "gs://bucket/tfx", on_kfp: bool = True):
        self.b, self.pipeline, self.run_id, self.root, self.on_kfp = b, pipeline, run_id, root, on_kfp
        self.pipeline_ctx = b.context("pipeline", pipeline)
        self.run_ctx = b.context("pipeline_run", run_id)
        b.parent(self.run_ctx, self.pipeline_ctx)

    def node(self, node_id: str, component: str | None = None, *, inputs: dict[str, list[int]] | None = None,
             outputs: dict[str, tuple[str, Props] | str] | None = None, state: int = pb.Execution.COMPLETE,
             reuse: dict[str, list[int]] | None = None, pod: bool | None = None,
             custom: Props | None = None) -> tuple[int, dict[str, list[int]]]:
        node_ctx = self.b.context("node", f"{self.pipeline}.{node_id}")
        new_outputs: dict[str, list] = {}
        for key, spec in (outputs or {}).items():
            type_name, metadata = (spec, {}) if isinstance(spec, str) else spec
            declared = {k: v for k, v in metadata.items() if k in TFX_SPAN}
            extra = {k: v for k, v in metadata.items() if k not in TFX_SPAN}
            new_outputs[key] = [self.b.new_artifact(
                type_name, f"{self.root}/{node_id}/{key}/{int(time.time() * 1e6) % 10**9}",
                custom={"tfx_version": "1.15.0", **extra}, props=declared,
                type_properties=TFX_SPAN if type_name in ("Examples", "ExampleStatistics", "ExampleAnomalies") else None)]
        for key, ids in (reuse or {}).items():
            new_outputs[key] = list(ids)
        props = dict(custom or {})
        if pod if pod is not None else self.on_kfp:
            props["kfp_pod_name"] = f"{self.run_id}-{abs(hash(node_id)) % 10**10}"
        return self.b.execute(TFX.get(component or node_id, component or node_id), state=state, custom=props,
                              name=f"{self.run_id}-{node_id}", inputs=inputs, outputs=new_outputs,
                              contexts=[self.pipeline_ctx, self.run_ctx, node_ctx], tfx_paths=True)


def runs_in_every_state(builder: StoreBuilder) -> tuple[int, int]:
    """A KFP v2 pipeline with one run that succeeded, one whose `train` FAILED and one whose `train` is still
    RUNNING: the fleet of the run-state audit rules. Returns the failed and the running execution ids."""
    ok = KfpV2Run(builder, "p", "run-ok")
    ok.task("a", outputs={"o": "system.Dataset"})
    bad = KfpV2Run(builder, "p", "run-failed")
    bad.task("a", outputs={"o": "system.Dataset"})
    failed, _ = bad.task("train", state=pb.Execution.FAILED)
    slow = KfpV2Run(builder, "p", "run-running")
    running, _ = slow.task("train", state=pb.Execution.RUNNING)
    return failed, running


def sha256(path: str | Path) -> str:
    """Digest of a store file: read-only means byte-identical before and after."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
