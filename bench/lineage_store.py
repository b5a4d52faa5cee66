"""A dense MLMD store for the lineage benchmark, written through ml-metadata's batch put calls.

Shape (the issue's budget: 50,000 executions, ~150k artifacts, ~400k events): mostly KFP v2 runs (root DAG +
8 container tasks, each reading the previous task's 4 outputs and one of the first task's, writing 4: data,
metrics, model, executor-logs) of five pipelines, every fourth run hitting the cache for its first three
tasks (CACHED, cached_execution_id, OUTPUT events to the originals); and TFX IR runs (taxi: ExampleGen ... Pusher,
[key, index] paths, kfp_pod_name, pipeline / pipeline_run / node contexts). Deterministic for a given size.
"""

from __future__ import annotations

import random
from pathlib import Path

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

KFP_TASKS = 8
TFX_NODES = (
    ("CsvExampleGen", "tfx.components.example_gen.csv_example_gen.component.CsvExampleGen", (), (("examples", "Examples"),)),
    ("StatisticsGen", "tfx.components.statistics_gen.component.StatisticsGen", (("examples", 0, "examples"),),
     (("statistics", "ExampleStatistics"),)),
    ("SchemaGen", "tfx.components.schema_gen.component.SchemaGen", (("statistics", 1, "statistics"),), (("schema", "Schema"),)),
    ("ExampleValidator", "tfx.components.example_validator.component.ExampleValidator",
     (("statistics", 1, "statistics"), ("schema", 2, "schema")), (("anomalies", "ExampleAnomalies"),)),
    ("Transform", "tfx.components.transform.component.Transform", (("examples", 0, "examples"), ("schema", 2, "schema")),
     (("transform_graph", "TransformGraph"), ("transformed_examples", "Examples"))),
    ("Trainer", "tfx.components.trainer.component.Trainer",
     (("examples", 4, "transformed_examples"), ("transform_graph", 4, "transform_graph"), ("schema", 2, "schema")),
     (("model", "Model"), ("model_run", "ModelRun"))),
    ("Evaluator", "tfx.components.evaluator.component.Evaluator", (("examples", 0, "examples"), ("model", 5, "model")),
     (("evaluation", "ModelEvaluation"), ("blessing", "ModelBlessing"))),
    ("Pusher", "tfx.components.pusher.component.Pusher", (("model", 5, "model"), ("_Evaluator.blessing", 6, "blessing")),
     (("pushed_model", "PushedModel"),)),
)


def write_dense_store(path: Path, executions: int = 50_000, seed: int = 7, batch_runs: int = 400) -> dict:
    """Write the store at `path` (must not exist); returns counts."""
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    store = metadata_store.MetadataStore(config)
    rng = random.Random(seed)
    t = {name: store.put_execution_type(pb.ExecutionType(name=name)) for name in
         ("system.DAGExecution", "system.ContainerExecution", *(n[1] for n in TFX_NODES))}
    a = {name: store.put_artifact_type(pb.ArtifactType(name=name)) for name in
         ("system.Dataset", "system.Metrics", "system.Model", "system.Artifact",
          *sorted({o[1] for n in TFX_NODES for o in n[3]}))}
    c = {name: store.put_context_type(pb.ContextType(name=name)) for name in
         ("system.Pipeline", "system.PipelineRun", "pipeline", "pipeline_run", "node")}
    pipelines = {f"train-{k}": store.put_contexts([pb.Context(type_id=c["system.Pipeline"], name=f"train-{k}")])[0]
                 for k in range(5)}
    [taxi] = store.put_contexts([pb.Context(type_id=c["pipeline"], name="taxi")])
    nodes = dict(zip((n[0] for n in TFX_NODES),
                     store.put_contexts([pb.Context(type_id=c["node"], name=f"taxi.{n[0]}") for n in TFX_NODES])))
    previous: dict[str, tuple[list[int], list[list[int]]]] = {}   # pipeline -> (task execution ids, task outputs)
    written = {"executions": 0, "artifacts": 0, "events": 0, "runs": 0}
    run_no = 0
    while written["executions"] < executions:
        plans = []
        for _ in range(batch_runs):
            run_no += 1
            plans.append(("tfx" if run_no % 5 == 0 else "kfp", run_no))
        kfp = [n for kind, n in plans if kind == "kfp"]
        tfx = [n for kind, n in plans if kind == "tfx"]
        _write_kfp_runs(store, rng, t, a, c, pipelines, previous, kfp, written)
        _write_tfx_runs(store, rng, t, a, c, taxi, nodes, tfx, written)
    return written


def _uuid(rng: random.Random) -> str:
    h = "%032x" % rng.getrandbits(128)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:]}"


def _write_kfp_runs(store, rng, t, a, c, pipelines, previous, run_numbers, written) -> None:
    runs = []
    for n in run_numbers:
        pipeline = f"train-{n % 5}"
        run_id = _uuid(rng)
        ctx = pb.Context(type_id=c["system.PipelineRun"], name=run_id)
        ctx.custom_properties["namespace"].string_value = f"team-{n % 3}"
        ctx.custom_properties["pipeline_root"].string_value = f"gs://bench/root/{pipeline}/{run_id}"
        ctx.custom_properties["resource_name"].string_value = "run-resource"
        runs.append((n, pipeline, run_id, ctx))
    run_ctx_ids = store.put_contexts([r[3] for r in runs])
    store.put_parent_contexts([pb.ParentContext(child_id=cid, parent_id=pipelines[r[1]])
                               for r, cid in zip(runs, run_ctx_ids)])
    roots = []
    for n, pipeline, run_id, _ in runs:
        e = pb.Execution(type_id=t["system.DAGExecution"], name=f"run/{run_id}", last_known_state=pb.Execution.RUNNING)
        e.custom_properties["task_name"].string_value = ""
        roots.append(e)
    root_ids = store.put_executions(roots)
    tasks, artifacts, plan = [], [], []
    for (n, pipeline, run_id, _), root_id in zip(runs, root_ids):
        cached = n % 4 == 0 and pipeline in previous
        for i in range(KFP_TASKS):
            e = pb.Execution(type_id=t["system.ContainerExecution"])
            name = f"task-{i}"
            for key, value in (("task_name", name), ("display_name", name), ("image", f"gcr.io/bench/{pipeline}:1"),
                               ("namespace", f"team-{n % 3}")):
                e.custom_properties[key].string_value = value
            e.custom_properties["parent_dag_id"].int_value = root_id
            e.custom_properties["inputs"].struct_value.update({"lr": 0.01 * (i + 1), "epochs": 3.0})
            reuse = cached and i < 3
            if reuse:
                e.last_known_state = pb.Execution.CACHED
                e.custom_properties["cached_execution_id"].string_value = str(previous[pipeline][0][i])
            else:
                e.last_known_state = pb.Execution.COMPLETE if rng.random() > 0.01 else pb.Execution.FAILED
                e.custom_properties["pod_name"].string_value = f"{pipeline}-{run_id[:8]}-{name}-{rng.randrange(10**9)}"
            tasks.append(e)
            outs = []
            if not reuse:
                for key, type_name in (("data", "system.Dataset"), ("metrics", "system.Metrics"),
                                       ("model", "system.Model"), ("executor-logs", "system.Artifact")):
                    art = pb.Artifact(type_id=a[type_name], uri=f"gs://bench/root/{pipeline}/{run_id}/{name}/{key}",
                                      state=pb.Artifact.LIVE)
                    art.custom_properties["display_name"].string_value = key
                    if key == "metrics":
                        art.custom_properties["accuracy"].double_value = rng.random()
                    outs.append((key, len(artifacts)))
                    artifacts.append(art)
            plan.append((n, pipeline, run_id, i, reuse, outs))
    task_ids = store.put_executions(tasks)
    artifact_ids = store.put_artifacts(artifacts)
    events, associations, attributions = [], [], []
    per_run: dict[int, tuple[list[int], list[list[int]]]] = {}
    for (n, pipeline, run_id, i, reuse, outs), eid, ctx_id in zip(
            plan, task_ids, [cid for cid in run_ctx_ids for _ in range(KFP_TASKS)]):
        ids, outputs = per_run.setdefault(n, ([], []))
        ids.append(eid)
        produced = ([artifact_ids[idx] for _, idx in outs] if not reuse else previous[pipeline][1][i])
        outputs.append(produced)
        for key, art_id in zip(("data", "metrics", "model", "executor-logs"), produced):
            ev = pb.Event(execution_id=eid, artifact_id=art_id, type=pb.Event.OUTPUT)
            ev.path.steps.add().key = key
            events.append(ev)
            attributions.append(pb.Attribution(context_id=ctx_id, artifact_id=art_id))
        inputs = outputs[i - 1] if i else []
        if i > 1:
            inputs = inputs + [outputs[0][0]]
        if i > 2:
            inputs = inputs + [outputs[1][2]]
        for key, art_id in zip(("data", "metrics", "model", "logs", "raw", "base_model"), inputs):
            ev = pb.Event(execution_id=eid, artifact_id=art_id, type=pb.Event.INPUT)
            ev.path.steps.add().key = key
            events.append(ev)
        associations.append(pb.Association(context_id=ctx_id, execution_id=eid))
        associations.append(pb.Association(context_id=pipelines[pipeline], execution_id=eid))
    for root_id, ctx_id, (n, pipeline, _, _) in zip(root_ids, run_ctx_ids, runs):
        associations.append(pb.Association(context_id=ctx_id, execution_id=root_id))
        associations.append(pb.Association(context_id=pipelines[pipeline], execution_id=root_id))
        previous[pipeline] = per_run[n]
    store.put_events(events)
    for start in range(0, max(len(associations), len(attributions)), 2000):
        store.put_attributions_and_associations(attributions[start:start + 2000], associations[start:start + 2000])
    written["executions"] += len(root_ids) + len(task_ids)
    written["artifacts"] += len(artifact_ids)
    written["events"] += len(events)
    written["runs"] += len(runs)


def _write_tfx_runs(store, rng, t, a, c, taxi, nodes, run_numbers, written) -> None:
    if not run_numbers:
        return
    names = [f"taxi-{rng.randrange(36**5):05x}{n}" for n in run_numbers]
    run_ctx_ids = store.put_contexts([pb.Context(type_id=c["pipeline_run"], name=name) for name in names])
    store.put_parent_contexts([pb.ParentContext(child_id=cid, parent_id=taxi) for cid in run_ctx_ids])
    executions, artifacts, plan = [], [], []
    for name in names:
        for node, type_name, _, outputs in TFX_NODES:
            e = pb.Execution(type_id=t[type_name], last_known_state=pb.Execution.COMPLETE, name=f"{name}-{node}")
            e.custom_properties["kfp_pod_name"].string_value = f"{name}-{rng.randrange(10**10)}"
            executions.append(e)
            outs = []
            for key, art_type in outputs:
                art = pb.Artifact(type_id=a[art_type], uri=f"gs://bench/tfx/{node}/{key}/{len(artifacts)}",
                                  state=pb.Artifact.LIVE)
                art.custom_properties["tfx_version"].string_value = "1.15.0"
                if art_type == "ModelBlessing":
                    art.custom_properties["blessed"].int_value = 1 if rng.random() > 0.1 else 0
                if art_type == "PushedModel":
                    art.custom_properties["pushed"].int_value = 1
                outs.append((key, len(artifacts)))
                artifacts.append(art)
            plan.append(outs)
    execution_ids = store.put_executions(executions)
    artifact_ids = store.put_artifacts(artifacts)
    events, associations, attributions = [], [], []
    for r, (name, ctx_id) in enumerate(zip(names, run_ctx_ids)):
        produced: list[dict[str, int]] = []
        for k, (node, _, inputs, _) in enumerate(TFX_NODES):
            eid = execution_ids[r * len(TFX_NODES) + k]
            outs = {key: artifact_ids[idx] for key, idx in plan[r * len(TFX_NODES) + k]}
            produced.append(outs)
            for key, art_id in outs.items():
                ev = pb.Event(execution_id=eid, artifact_id=art_id, type=pb.Event.OUTPUT)
                ev.path.steps.add().key = key
                ev.path.steps.add().index = 0
                events.append(ev)
                attributions.append(pb.Attribution(context_id=ctx_id, artifact_id=art_id))
            for key, source, out_key in inputs:
                ev = pb.Event(execution_id=eid, artifact_id=produced[source][out_key], type=pb.Event.INPUT)
                ev.path.steps.add().key = key
                ev.path.steps.add().index = 0
                events.append(ev)
            for context_id in (ctx_id, taxi, nodes[node]):
                associations.append(pb.Association(context_id=context_id, execution_id=eid))
    store.put_events(events)
    for start in range(0, max(len(associations), len(attributions)), 2000):
        store.put_attributions_and_associations(attributions[start:start + 2000], associations[start:start + 2000])
    written["executions"] += len(execution_ids)
    written["artifacts"] += len(artifact_ids)
    written["events"] += len(events)
    written["runs"] += len(names)


def add_kfp_runs(path: Path, runs: int = 1, seed: int = 8) -> dict:
    """Append `runs` new KFP v2 runs of the existing pipelines to the store at `path` (the bench's own scratch copy;
    no cache hits), as the driver and launcher would; returns counts."""
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE
    store = metadata_store.MetadataStore(config)
    t = {e.name: e.id for e in store.get_execution_types()}
    a = {e.name: e.id for e in store.get_artifact_types()}
    c = {e.name: e.id for e in store.get_context_types()}
    pipelines = {f"train-{k}": store.get_context_by_type_and_name("system.Pipeline", f"train-{k}").id for k in range(5)}
    written = {"executions": 0, "artifacts": 0, "events": 0, "runs": 0}
    # Run numbers not divisible by 4 or 5: KFP runs without cache hits (previous is empty anyway).
    _write_kfp_runs(store, random.Random(seed), t, a, c, pipelines, {}, [1 + 5 * k for k in range(runs)], written)
    return written
