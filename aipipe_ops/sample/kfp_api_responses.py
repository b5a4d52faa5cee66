"""The sample fleet's KFP v2 runs as the KFP REST API v2beta1 would serve them, for both API generations:
`DIR/kfp_api/v2beta1/{task_details,native}/...json` (tests/lineage/kfp_api_server.py serves them).

Read back from the generated MLMD store through the MLMD snapshot, so the two sources describe the same fleet.
TFX runs are not included: on KFP they are v1 workflows whose lineage only MLMD holds. Field names follow
kubeflow/pipelines backend/api/v2beta1 as the API server marshals them (protojson with UseProtoNames: snake_case
names, enums by name, int64 as strings): run.proto on release-2.17, and run.proto / artifact.proto of PR #13986
on releases without MLMD (docs/lineage.md lists what was checked). Ids are the MLMD ids as strings (a real native
server uses UUIDs, which the source maps to stable 63-bit ids).

Each run carries its `pipeline_spec` as the KFP SDK compiles it (kubeflow/pipelines
sdk/python/test_data/pipelines/pipeline_with_resource_spec.yaml): root DAG tasks -> components -> executors, each
container with the `resources` its task's pod requests (cpuRequest in cores, memoryRequest in GB, their
resourceCpuRequest / resourceMemoryRequest quantity strings, and the accelerator's resourceType / resourceCount), as
`set_cpu_request`, `set_memory_request` and `set_accelerator_type` / `set_accelerator_limit` write them. MLMD never
records them; the API is where the lineage learns a step's requests.

A run's pipeline source is a oneof (run.proto `pipeline_source`; the API server answers one or the other): runs of a
pipeline alternate, in creation order, between one submitted with its spec (the SDK's create_run_from_pipeline_func:
`pipeline_spec` embedded) and one created from the uploaded pipeline version (`pipeline_version_reference`
{pipeline_id, pipeline_version_id} only). Those versions are `pipeline_versions.json` (GET pipelines/{pipeline_id}/
versions/{pipeline_version_id} bodies, by version id; pipeline.proto PipelineVersion), one per distinct spec of a
pipeline, each holding the spec its runs would have embedded, so a reader learns the same requests either way.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import uuid
from pathlib import Path

from aipipe_ops.lineage.snapshot import snapshot
from aipipe_ops.sample import pipelines as P
from aipipe_ops.sample.plan import RunPlan
from aipipe_ops.workspace import Workspace

RUN_STATES = {"SUCCEEDED": "SUCCEEDED", "FAILED": "FAILED", "RUNNING": "RUNNING", "CANCELED": "CANCELED"}
TASK_STATES = {"COMPLETE": "SUCCEEDED", "FAILED": "FAILED", "RUNNING": "RUNNING", "NEW": "PENDING",
               "CANCELED": "SKIPPED"}
NATIVE_TYPES = {"system.Artifact": "Artifact", "system.Model": "Model", "system.Dataset": "Dataset",
                "system.HTML": "HTML", "system.Markdown": "Markdown", "system.Metrics": "Metric", "system.ClassificationMetrics": "ClassificationMetric",
                "system.SlicedClassificationMetrics": "SlicedClassificationMetric"}
NAMESPACE_UUID = uuid.UUID("6f1c2a1e-0000-4000-8000-00000000a1b2")


def _native_type(type_name: str | None) -> str:
    # KFP's system.* types map onto the native ArtifactType names; others (tfx.*, TFX's own) keep their title.
    type_name = type_name or "system.Artifact"
    return NATIVE_TYPES.get(type_name, type_name)


def _ts(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _id(kind: str, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE_UUID, f"{kind}/{name}"))


def _resources(cpu_m: int, memory_mib: int, gpus: int, tpu_chips: int) -> dict:
    """A container's `resources` as the KFP SDK compiles set_cpu_request / set_memory_request / set_accelerator_*:
    the deprecated float fields (cores; GB of 10^9 bytes) beside the quantity strings."""
    out = {"cpuRequest": cpu_m / 1000, "memoryRequest": memory_mib * (1 << 20) / 1e9,
           "resourceCpuRequest": f"{cpu_m // 1000}" if cpu_m % 1000 == 0 else f"{cpu_m}m",
           "resourceMemoryRequest": f"{memory_mib}Mi"}
    if gpus or tpu_chips:
        kind, count = ("google.com/tpu", tpu_chips) if tpu_chips else ("nvidia.com/gpu", gpus)
        out["accelerator"] = {"count": str(count), "resourceCount": str(count), "resourceType": kind, "type": kind}
    return out


def pipeline_spec(run: RunPlan) -> dict:
    """The compiled pipeline spec of a KFP v2 run: every container task of its pipeline with the resources its pod
    requested in this run (the spec's, for a task that ran no pod in it: cached, skipped, never started)."""
    spec = P.PIPELINES[run.pipeline]
    pods = {s.step: next((p for p in s.pods if "-system-container-impl-" in p.name), None) for s in run.steps}
    components: dict = {}
    executors: dict = {}
    root_tasks: dict = {}
    condition_tasks: dict = {}
    for step in spec.steps:
        pod = pods.get(step.name)
        resources = (_resources(pod.cpu_m, pod.memory_mib, pod.gpus, pod.tpu_chips) if pod is not None else
                     _resources(step.cpu_m, step.memory_mib, step.gpus, step.tpu_chips))
        components[f"comp-{step.name}"] = {"executorLabel": f"exec-{step.name}"}
        executors[f"exec-{step.name}"] = {"container": {"image": step.image, "resources": resources}}
        task = {"componentRef": {"name": f"comp-{step.name}"}, "dependentTasks": list(step.deps),
                "taskInfo": {"name": step.name}}
        # llm-finetune's register-model runs inside `dsl.If(...)`: a sub-DAG component (fleet.py _condition_dag).
        (condition_tasks if spec.name == "llm-finetune" and step.name == "register-model" else root_tasks)[
            step.name] = task
    if condition_tasks:
        components["comp-condition-1"] = {"dag": {"tasks": condition_tasks}}
        root_tasks["condition-1"] = {"componentRef": {"name": "comp-condition-1"}, "dependentTasks": ["evaluate"],
                                     "taskInfo": {"name": "condition-1"}}
    return {"components": components, "deploymentSpec": {"executors": executors},
            "pipelineInfo": {"name": spec.name}, "root": {"dag": {"tasks": root_tasks}},
            "schemaVersion": "2.1.0", "sdkVersion": "kfp-2.13.0"}


def _pipeline_versions(runs: list[tuple], specs: dict[str, dict]) -> tuple[dict[str, dict], dict[str, str]]:
    """The uploaded pipeline versions (PipelineVersion bodies by id) and, for every second run of each pipeline in
    creation order (`runs` is in that order), the version it was created from: one version per distinct spec of a
    pipeline (the first one's id is the pipeline's `version` id), uploaded an hour before the first run created from
    it."""
    versions: dict[str, dict] = {}
    version_of: dict[str, str] = {}
    by_spec: dict[tuple[str, str], str] = {}
    seen: dict[str, int] = {}
    for run_id, pipeline, _, _, created, _ in runs:
        pipeline = pipeline or ""
        seen[pipeline] = seen.get(pipeline, 0) + 1
        if run_id not in specs or seen[pipeline] % 2:
            continue        # the 1st, 3rd, ... run of a pipeline embeds its spec
        key = (pipeline, json.dumps(specs[run_id], sort_keys=True))
        if key not in by_spec:
            n = sum(1 for p, _ in by_spec if p == pipeline)
            version_id = _id("version", pipeline if n == 0 else f"{pipeline}/{n + 1}")
            name = pipeline if n == 0 else f"{pipeline} v{n + 1}"
            by_spec[key] = version_id
            versions[version_id] = {"pipeline_id": _id("pipeline", pipeline), "pipeline_version_id": version_id,
                                    "display_name": name, "name": name,
                                    "created_at": _ts(created - dt.timedelta(hours=1)),
                                    "pipeline_spec": specs[run_id]}
        version_of[run_id] = by_spec[key]
    return versions, version_of


def write_kfp_api_responses(store: Path, out: Path, specs: dict[str, dict] | None = None) -> Path:
    """Write `out/kfp_api/v2beta1/...` from the MLMD store at `store`, each run with its pipeline spec from `specs`
    (run id -> pipeline_spec()) when given, embedded or through the pipeline version holding it
    (_pipeline_versions); returns that directory."""
    target = Path(out) / "kfp_api" / "v2beta1"
    with tempfile.TemporaryDirectory() as scratch:
        ws = Workspace.open(Path(scratch) / "w.duckdb")
        try:
            snapshot(ws, f"sqlite://{Path(store).resolve()}", progress=False)
            con = ws.con
            runs = con.execute("""SELECT run_id, pipeline, namespace, state, created_at, finished_at FROM runs
                                  WHERE orchestrator = 'kfp-v2' ORDER BY created_at, run_id""").fetchall()
            steps = con.execute("""SELECT execution_id, run_id, step, component, state, pod_name, created_at,
                                          updated_at, type_name,
                                          TRY_CAST(json_extract_string(properties, '$.parent_dag_id') AS DOUBLE)::BIGINT
                                   FROM steps s
                                   WHERE run_id IN (SELECT run_id FROM runs WHERE orchestrator = 'kfp-v2')
                                   ORDER BY execution_id""").fetchall()
            events = con.execute("""SELECT e.execution_id, e.artifact_id, e.direction, e.role FROM events e
                                    JOIN steps s USING (execution_id)
                                    WHERE s.run_id IN (SELECT run_id FROM runs WHERE orchestrator = 'kfp-v2')
                                    ORDER BY 1, 2""").fetchall()
            artifacts = con.execute("""SELECT artifact_id, type_name, uri, name, created_at, properties::VARCHAR
                                       FROM artifacts WHERE artifact_id IN (SELECT artifact_id FROM events e
                                       JOIN steps s USING (execution_id) WHERE s.run_id IN
                                       (SELECT run_id FROM runs WHERE orchestrator = 'kfp-v2'))
                                       ORDER BY artifact_id""").fetchall()
        finally:
            ws.close()
    by_run: dict[str, list] = {}
    for s in steps:
        by_run.setdefault(s[1], []).append(s)
    io: dict[int, dict[str, dict[str, list[str]]]] = {}
    for execution_id, artifact_id, direction, role in events:
        side = "inputs" if direction == "input" else "outputs"
        io.setdefault(execution_id, {"inputs": {}, "outputs": {}})[side].setdefault(role or "", []).append(
            str(artifact_id))
    pipelines = {_id("pipeline", r[1]): {"pipeline_id": _id("pipeline", r[1]), "display_name": r[1], "name": r[1]}
                 for r in runs if r[1]}
    experiments = {_id("experiment", r[2] or ""): {"experiment_id": _id("experiment", r[2] or ""),
                                                   "display_name": f"default-{r[2]}", "namespace": r[2]}
                   for r in runs}
    versions, version_of = _pipeline_versions(runs, specs or {})

    def run_json(run) -> dict:
        run_id, pipeline, namespace, state, created, finished = run
        body = {"run_id": run_id, "display_name": f"{pipeline}-{run_id[:8]}",
                "experiment_id": _id("experiment", namespace or ""), "storage_state": "AVAILABLE",
                "created_at": _ts(created), "scheduled_at": _ts(created),
                "finished_at": _ts(finished) or "1970-01-01T00:00:00Z", "state": RUN_STATES.get(state, "RUNTIME_STATE_UNSPECIFIED")}
        if specs and run_id in specs and run_id not in version_of:
            body["pipeline_spec"] = specs[run_id]
        else:       # created from a pipeline version (one with no spec given: a version not written, a 404)
            body["pipeline_version_reference"] = {
                "pipeline_id": _id("pipeline", pipeline or ""),
                "pipeline_version_id": version_of.get(run_id) or _id("version", pipeline or "")}
        return body

    # Generation 1 (KFP <= 2.17): run_details.task_details, MLMD ids.
    gen1 = []
    for run in runs:
        body = run_json(run)
        tasks = []
        run_steps = by_run.get(run[0], [])
        root = next((s for s in run_steps if s[3] == "dag" and s[2] == "root"), None)
        for s in run_steps:
            execution_id, _, step, component, state, pod, created, updated, type_name, parent = s
            sides = io.get(execution_id, {"inputs": {}, "outputs": {}})
            is_dag = component == "dag"
            detail = {"run_id": run[0], "task_id": f"{run[0][:8]}-{execution_id}", "display_name": step,
                      "create_time": _ts(created), "start_time": _ts(updated),
                      "state": "SKIPPED" if state == "CACHED" else TASK_STATES.get(state, "RUNTIME_STATE_UNSPECIFIED"),
                      "execution_id": str(execution_id),
                      "inputs": {k: {"artifact_ids": v} for k, v in sides["inputs"].items()},
                      "outputs": {k: {"artifact_ids": v} for k, v in sides["outputs"].items()}}
            if state not in ("RUNNING", "NEW"):
                detail["end_time"] = _ts(updated)
            if pod:
                detail["pod_name"] = pod
            if parent is not None:
                detail["parent_task_id"] = f"{run[0][:8]}-{parent}"
            if is_dag:
                detail["child_tasks"] = [{"pod_name": c[5]} if c[5] else {"task_id": f"{run[0][:8]}-{c[0]}"}
                                         for c in run_steps if c[9] == execution_id]
            tasks.append(detail)
        body["run_details"] = {"task_details": tasks}
        gen1.append(body)

    # Generation 2 (releases without MLMD): tasks, artifacts and artifact_tasks of their own.
    native_runs, native_tasks, edges = [], {}, []
    step_names = {s[0]: s[2] for s in steps}
    producers = {str(a): step_names.get(e, "") for e, a, direction, _ in events if direction == "output"}
    run_of_step = {s[0]: s[1] for s in steps}
    namespace_of_run = {r[0]: r[2] for r in runs}
    namespaces: dict[int, str | None] = {}
    for e, a, _, _ in events:
        namespaces.setdefault(a, namespace_of_run.get(run_of_step.get(e)))
    for run in runs:
        body = run_json(run)
        run_steps = by_run.get(run[0], [])
        body["task_count"] = len(run_steps)
        native_runs.append(body)
        root = next((s for s in run_steps if s[3] == "dag" and s[2] == "root"), None)
        tasks = []
        for s in run_steps:
            execution_id, _, step, component, state, pod, created, updated, type_name, parent = s
            kind = ("ROOT" if parent is None and component == "dag" else "DAG" if component == "dag" else
                    "IMPORTER" if component == "importer" else "RUNTIME")
            task = {"name": step, "display_name": step, "task_id": str(execution_id), "run_id": run[0],
                    "pods": [{"name": pod, "uid": _id("pod", pod), "type": "EXECUTOR"}] if pod else [],
                    "create_time": _ts(created), "state": TASK_STATES.get(state, state), "type": kind}
            if state not in ("RUNNING", "NEW"):
                task["end_time"] = _ts(updated)
            if parent is not None:
                task["parent_task_id"] = str(parent)
            if component == "dag":
                task["child_tasks"] = [{"task_id": str(c[0]), "name": c[2]} for c in run_steps if c[9] == execution_id]
            tasks.append(task)
            # IOType: an input fed by an upstream task's output is TASK_OUTPUT_INPUT; a task's own output OUTPUT.
            for side, io_type in (("inputs", "TASK_OUTPUT_INPUT"), ("outputs", "OUTPUT")):
                for key, ids in io.get(execution_id, {}).get(side, {}).items():
                    edges.extend({"id": _id("artifact_task", f"{execution_id}/{side}/{key}/{a}"), "artifact_id": a,
                                  "run_id": run[0], "task_id": str(execution_id), "type": io_type,
                                  "producer": {"task_name": producers.get(a, "")}, "key": key} for a in ids)
        native_tasks[run[0]] = tasks
    native_artifacts = [{"artifact_id": str(a), "name": name or "", "uri": uri,
                         "type": _native_type(t), "namespace": namespaces.get(a) or "",
                         "created_at": _ts(created), **({"metadata": json.loads(props)} if props else {})}
                        for a, t, uri, name, created, props in artifacts]

    files = {"pipelines.json": pipelines, "experiments.json": experiments, "pipeline_versions.json": versions,
             "task_details/runs.json": gen1, "native/runs.json": native_runs, "native/tasks.json": native_tasks,
             "native/artifacts.json": native_artifacts, "native/artifact_tasks.json": edges}
    for name, data in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, separators=(",", ":")))
    return target
