"""KFP v2 stores (system.* types) map onto runs/steps/artifacts/events as the backend wrote them."""

import json

from ml_metadata.proto import metadata_store_pb2 as pb

from .builders import KfpV2Run
from .scenarios import kfp_v2_cached_rerun

RUN1 = "6f1c2a1e-0000-4000-8000-000000000001"
RUN2 = "6f1c2a1e-0000-4000-8000-000000000002"


def _rows(ws, sql, *params):
    cursor = ws.con.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r)) for r in cursor.fetchall()]


def test_runs_come_from_pipeline_run_contexts(builder, store_path, snap, workspace):
    kfp_v2_cached_rerun(builder)
    report = snap(store_path)
    assert report.orchestrators == ["kfp-v2"]
    runs = {r["run_id"]: r for r in _rows(workspace, "SELECT * FROM runs")}
    assert set(runs) == {RUN1, RUN2}
    assert {r["pipeline"] for r in runs.values()} == {"churn"}
    assert {r["orchestrator"] for r in runs.values()} == {"kfp-v2"}
    assert {r["namespace"] for r in runs.values()} == {"team-a"}
    # The root DAG stays RUNNING in MLMD; the run's state comes from its tasks.
    assert {r["state"] for r in runs.values()} == {"SUCCEEDED"}
    assert all(r["finished_at"] >= r["created_at"] for r in runs.values())
    # KFP writes a placeholder, not the Argo workflow name: it is not passed on as one.
    assert {r["workflow"] for r in runs.values()} == {None}


def test_steps_know_run_task_pod_image_and_cache_origin(builder, store_path, snap, workspace):
    ids = kfp_v2_cached_rerun(builder)
    snap(store_path)
    steps = {s["execution_id"]: s for s in _rows(workspace, "SELECT * FROM steps")}
    train2 = steps[ids.executions["train2"]]
    assert train2["run_id"] == RUN2
    assert train2["step"] == "train-model" and train2["component"] == "train-model"
    assert train2["pod_name"].endswith("train-model-driver-1")
    assert train2["image"] == "gcr.io/team/train:1.0"
    assert train2["state"] == "COMPLETE"
    assert train2["updated_at"] >= train2["created_at"]
    cached = steps[ids.executions["prep2"]]
    assert cached["state"] == "CACHED"
    assert cached["cached_from"] == ids.executions["prep1"]      # the string cached_execution_id, as an id
    assert cached["pod_name"] is None
    assert steps[ids.executions["import1"]]["run_id"] == RUN1
    assert steps[ids.executions["import1"]]["component"] == "importer"
    assert steps[ids.executions["root1"]]["component"] == "dag"


def test_output_of_a_cache_hit_is_reuse_not_production(builder, store_path, snap, workspace):
    ids = kfp_v2_cached_rerun(builder)
    snap(store_path)
    train = ids.artifacts["train"]
    events = _rows(workspace, "SELECT execution_id, direction, role FROM events WHERE artifact_id = ? "
                              "ORDER BY execution_id, direction", train)
    assert {(e["execution_id"], e["direction"]) for e in events} == {
        (ids.executions["prep1"], "output"), (ids.executions["prep2"], "reuse"),
        (ids.executions["train1"], "input"), (ids.executions["train2"], "input")}
    producers = workspace.con.execute("SELECT execution_id FROM lineage_producers WHERE artifact_id = ?",
                                      [train]).fetchall()
    assert producers == [(ids.executions["prep1"],)]


def test_artifacts_get_kinds_and_properties(builder, store_path, snap, workspace):
    ids = kfp_v2_cached_rerun(builder)
    snap(store_path)
    arts = {a["artifact_id"]: a for a in _rows(workspace, "SELECT * FROM artifacts")}
    assert arts[ids.artifacts["model1"]]["kind"] == "model"
    assert arts[ids.artifacts["metrics1"]]["kind"] == "metrics"
    assert arts[ids.artifacts["raw"]]["kind"] == "dataset"
    assert arts[ids.artifacts["model1"]]["state"] == "LIVE"
    props = json.loads(arts[ids.artifacts["model1"]]["properties"])
    assert props == {"display_name": "model", "framework": "xgboost"}


def test_executions_without_root_dag_fall_back_to_associations(builder, store_path, snap, workspace):
    run = KfpV2Run(builder, "orphans", "6f1c2a1e-0000-4000-8000-0000000000aa")
    # An execution whose parent_dag_id points at nothing this store knows (e.g. a pruned DAG).
    e, _ = run.task("lonely", parent_dag=999999, outputs={"out": "system.Artifact"})
    report = snap(store_path)
    assert report.calls.get("GetContextsByExecution", 0) + report.calls.get("GetExecutionsByContext", 0) >= 1
    assert workspace.con.execute("SELECT run_id FROM steps WHERE execution_id = ?", [e]).fetchone()[0] == \
        "6f1c2a1e-0000-4000-8000-0000000000aa"


def test_sub_dag_children_resolve_to_the_run(builder, store_path, snap, workspace):
    run = KfpV2Run(builder, "nested", "6f1c2a1e-0000-4000-8000-0000000000bb")
    sub, _ = builder.execute("system.DAGExecution", state=pb.Execution.COMPLETE,
                             custom={"task_name": "for-loop-1", "parent_dag_id": run.root_dag},
                             contexts=[run.pipeline_ctx, run.run_ctx])
    child, _ = run.task("inner", parent_dag=sub, outputs={"out": "system.Dataset"})
    report = snap(store_path)
    assert "GetContextsByExecution" not in report.calls      # parent_dag_id answered, no association reads
    assert workspace.con.execute("SELECT run_id FROM steps WHERE execution_id = ?", [child]).fetchone()[0] == \
        "6f1c2a1e-0000-4000-8000-0000000000bb"


def test_failed_and_running_tasks_decide_the_run_state(builder, store_path, snap, workspace):
    ok = KfpV2Run(builder, "p", "run-ok")
    ok.task("a", outputs={"o": "system.Dataset"})
    failed = KfpV2Run(builder, "p", "run-failed")
    failed.task("a", outputs={"o": "system.Dataset"})
    failed.task("b", state=pb.Execution.FAILED)
    running = KfpV2Run(builder, "p", "run-running")
    running.task("a", state=pb.Execution.RUNNING, pod=False)
    skipped = KfpV2Run(builder, "p", "run-condition-false")
    skipped.task("a", outputs={"o": "system.Dataset"})
    skipped.task("push", state=pb.Execution.CANCELED, pod=False)
    snap(store_path)
    states = dict(workspace.con.execute("SELECT run_id, state FROM runs").fetchall())
    assert states == {"run-ok": "SUCCEEDED", "run-failed": "FAILED", "run-running": "RUNNING",
                      "run-condition-false": "SUCCEEDED"}
    finished = dict(workspace.con.execute("SELECT run_id, finished_at IS NOT NULL FROM runs").fetchall())
    assert finished["run-running"] is False and finished["run-failed"] is True


def test_tfx_types_written_by_the_kfp_v2_backend(builder, store_path, snap, workspace):
    run = KfpV2Run(builder, "taxi-v2", "run-tfx-on-v2")
    _, ex = run.task("csvexamplegen", outputs={"examples": ("tfx.Examples", {"span": 1.0})})
    _, model = run.task("trainer", inputs={"examples": ex["examples"]}, outputs={"model": "tfx.Model"})
    _, blessing = run.task("evaluator", inputs={"model": model["model"]},
                           outputs={"blessing": ("tfx.ModelBlessing", {"blessed": 1.0})})
    run.task("pusher", inputs={"model": model["model"], "_Evaluator.blessing": blessing["blessing"]},
             outputs={"pushed_model": ("tfx.PushedModel", {"pushed": 1.0})})
    snap(store_path)
    kinds = dict(workspace.con.execute("SELECT type_name, kind FROM artifacts").fetchall())
    assert kinds == {"tfx.Examples": "dataset", "tfx.Model": "model", "tfx.ModelBlessing": "blessing",
                     "tfx.PushedModel": "pushed_model"}
