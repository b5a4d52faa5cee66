"""The MLMD store opens READONLY in ml-metadata and holds exactly what the ground truth says."""

from __future__ import annotations

import calendar
import time

import pytest
from ml_metadata import errors
from ml_metadata.proto import metadata_store_pb2 as mlmd

from aipipe_ops.sample.fake_clock import find_libfaketime

RUN_CONTEXT = {"kfp-v2": "system.PipelineRun", "tfx": "pipeline_run"}
PIPELINE_CONTEXT = {"kfp-v2": "system.Pipeline", "tfx": "pipeline"}


def _epoch(iso: str) -> int:
    return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))


def _state(e: mlmd.Execution) -> str:
    return mlmd.Execution.State.Name(e.last_known_state)


def _value(v: mlmd.Value):
    kind = v.WhichOneof("value")
    return getattr(v, kind) if kind else None


def test_store_is_readonly_schema_10(store, sample_dir):
    with pytest.raises(errors.InternalError):
        store.put_execution_type(mlmd.ExecutionType(name="not.allowed"))
    import sqlite3

    with sqlite3.connect(f"file:{sample_dir / 'mlmd.sqlite'}?mode=ro", uri=True) as db:
        assert db.execute("SELECT schema_version FROM MLMDEnv").fetchone() == (10,)


def test_runs_are_exactly_the_run_contexts(store, truth):
    names = {c.name for t in RUN_CONTEXT.values() for c in store.get_contexts_by_type(t)}
    assert names == set(truth["runs"])
    assert len(names) == truth["counts"]["runs"]


def test_each_run_holds_its_executions_with_their_states(store, truth):
    for run_id, run in truth["runs"].items():
        ctx = store.get_context_by_type_and_name(RUN_CONTEXT[run["orchestrator"]], run_id)
        assert ctx.id == run["run_context_id"]
        executions = {str(e.id): e for e in store.get_executions_by_context(ctx.id)}
        assert set(executions) == set(run["steps"]), run_id
        for exec_id, step in run["steps"].items():
            e = executions[exec_id]
            assert _state(e) == step["state"], (run_id, step["step"])
            assert e.type == step["type"]
        parents = store.get_parent_contexts_by_context(ctx.id)
        assert [(p.type, p.name) for p in parents] == [(PIPELINE_CONTEXT[run["orchestrator"]], run["pipeline"])]
        assert parents[0].id == run["pipeline_context_id"]


def test_lineage_edges_match_the_ground_truth(store, truth):
    for run in truth["runs"].values():
        ids = [int(i) for i in run["steps"]]
        got = {}
        for ev in store.get_events_by_execution_ids(ids):
            key = next(s.key for s in ev.path.steps if s.HasField("key"))
            direction = {mlmd.Event.INPUT: "inputs", mlmd.Event.OUTPUT: "outputs"}[ev.type]
            got.setdefault((str(ev.execution_id), direction), set()).add((key, ev.artifact_id))
        want = {}
        for exec_id, step in run["steps"].items():
            for direction in ("inputs", "outputs"):
                for edge in step[direction]:
                    want.setdefault((exec_id, direction), set()).add((edge["key"], edge["artifact_id"]))
        assert got == want
    total = sum(len(s["inputs"]) + len(s["outputs"]) for r in truth["runs"].values() for s in r["steps"].values())
    assert total == truth["counts"]["events"]


def test_cached_steps_point_at_the_original_artifacts(store, truth):
    cached = [(run, s) for run in truth["runs"].values() for s in run["steps"].values() if s["state"] == "CACHED"]
    dialects = {run["orchestrator"] for run, _ in cached}
    assert dialects == {"kfp-v2", "tfx"}
    all_steps = {k: s for run in truth["runs"].values() for k, s in run["steps"].items()}
    for run, step in cached:
        original = all_steps[str(step["cached_from"])]
        assert original["state"] in ("COMPLETE", "CACHED")
        assert {o["artifact_id"] for o in step["outputs"]} == {o["artifact_id"] for o in original["outputs"]}
        assert step["outputs"], "a cache hit re-uses outputs"
    kfp = [(run, s) for run, s in cached if run["orchestrator"] == "kfp-v2"]
    for run, step in kfp:
        [e] = store.get_executions_by_id([int(k) for k, v in run["steps"].items() if v is step])
        # KFP keeps the original execution id as a *string* custom property, and no pod ran.
        assert e.custom_properties["cached_execution_id"].string_value == str(step["cached_from"])
        assert "pod_name" not in e.custom_properties


def test_kfp_v2_dialect(store, truth):
    kfp_runs = {k: r for k, r in truth["runs"].items() if r["orchestrator"] == "kfp-v2"}
    run_id, run = next(iter(kfp_runs.items()))
    ctx = store.get_context_by_type_and_name("system.PipelineRun", run_id)
    assert ctx.custom_properties["namespace"].string_value == run["namespace"]
    assert ctx.custom_properties["pipeline_root"].string_value.endswith(f"/{run['pipeline']}/{run_id}")
    assert ctx.custom_properties["resource_name"].string_value == "run-resource"
    for run_id, run in kfp_runs.items():
        execs = store.get_executions_by_id([int(i) for i in run["steps"]])
        roots = [e for e in execs if e.name == f"run/{run_id}"]
        assert len(roots) == 1 and roots[0].type == "system.DAGExecution"
        assert _state(roots[0]) == "RUNNING"  # the backend never closes the root DAG (lineage.md §3.3)
        for e in execs:
            step = run["steps"][str(e.id)]
            if e.id != roots[0].id:
                assert e.custom_properties["parent_dag_id"].int_value == step["parent_dag_id"]
                assert e.custom_properties["task_name"].string_value == step["step"]
            if e.type == "system.ContainerExecution" and step["state"] in ("COMPLETE", "FAILED", "RUNNING"):
                assert e.custom_properties["pod_name"].string_value == step["pods"][-1]["name"]
                assert "-system-container-impl-" in e.custom_properties["pod_name"].string_value
                assert e.custom_properties["namespace"].string_value == run["namespace"]
                assert e.custom_properties["image"].string_value
    states = {s["state"] for r in kfp_runs.values() for s in r["steps"].values()}
    assert {"COMPLETE", "FAILED", "CACHED", "CANCELED", "RUNNING"} <= states
    assert any(r["state"] == "RUNNING" for r in kfp_runs.values()), "one run stuck RUNNING"
    model_types = {a.type for a in store.get_artifacts_by_type("system.Model")}
    assert model_types == {"system.Model"}
    metrics = store.get_artifacts_by_type("system.Metrics")
    assert metrics and all(any(v.WhichOneof("value") == "double_value" for k, v in m.custom_properties.items())
                           for m in metrics)
    blessings = store.get_artifacts_by_type("tfx.ModelBlessing")
    assert {m.custom_properties["blessed"].double_value for m in blessings} == {0.0, 1.0}


def test_tfx_dialect(store, truth):
    tfx_runs = {k: r for k, r in truth["runs"].items() if r["orchestrator"] == "tfx"}
    assert tfx_runs
    for run_id, run in tfx_runs.items():
        assert run_id == run["workflow"]  # pipeline_run = the Argo workflow name (TFX on KFP takes WORKFLOW_ID)
        for exec_id, step in run["steps"].items():
            [e] = store.get_executions_by_id([int(exec_id)])
            assert e.type.startswith("tfx.components.")
            assert e.custom_properties["kfp_pod_name"].string_value == step["pods"][0]["name"]
            contexts = {(c.type, c.name) for c in store.get_contexts_by_execution(e.id)}
            assert ("node", f"{run['pipeline']}.{step['step']}") in contexts
            assert ("pipeline_run", run_id) in contexts
    events = store.get_events_by_execution_ids([int(i) for r in tfx_runs.values() for i in r["steps"]])
    assert events and all([s.WhichOneof("value") for s in ev.path.steps] == ["key", "index"] for ev in events)
    examples = store.get_artifacts_by_type("Examples")
    assert examples and all(ex.properties["span"].int_value > 0 for ex in examples)
    assert store.get_artifact_type("Examples").base_type == mlmd.ArtifactType.DATASET


def test_tfx_blessing_and_push_scenarios(store, truth):
    tfx = {k: r for k, r in truth["runs"].items() if r["orchestrator"] == "tfx"}
    by_scenario = {}
    for run in tfx.values():
        by_scenario.setdefault(run["scenario"], []).append(run)
    unblessed = by_scenario["unblessed"][0]
    steps = {s["step"]: (k, s) for k, s in unblessed["steps"].items()}
    assert "Pusher" not in steps  # the Cond is false: no Pusher execution at all
    blessing_id = next(o["artifact_id"] for o in steps["Evaluator"][1]["outputs"] if o["key"] == "blessing")
    [blessing] = store.get_artifacts_by_id([blessing_id])
    assert blessing.custom_properties["blessed"].int_value == 0
    model_id = next(o["artifact_id"] for o in steps["Trainer"][1]["outputs"] if o["key"] == "model")
    assert blessing.custom_properties["current_model_id"].int_value == model_id
    [model] = store.get_artifacts_by_id([model_id])
    assert blessing.custom_properties["current_model"].string_value == model.uri
    hotfix = by_scenario["hotfix"][0]
    pusher_id, pusher = next((k, s) for k, s in hotfix["steps"].items() if s["step"] == "Pusher")
    assert {i["key"] for i in pusher["inputs"]} == {"model"}  # pushed without any blessing input
    pushed_id = pusher["outputs"][0]["artifact_id"]
    [pushed] = store.get_artifacts_by_id([pushed_id])
    assert pushed.type == "PushedModel" and pushed.custom_properties["pushed"].int_value == 1
    ok = by_scenario["ok"][0]
    pusher = next(s for s in ok["steps"].values() if s["step"] == "Pusher")
    assert {i["key"] for i in pusher["inputs"]} == {"model", "_Evaluator.blessing"}
    assert any(r["anomalies_found"] for r in tfx.values())
    failed = by_scenario["fail"][0]
    trainer = next((k, s) for k, s in failed["steps"].items() if s["step"] == "Trainer")
    [e] = store.get_executions_by_id([int(trainer[0])])
    assert _state(e) == "FAILED" and "OOMKilled" in e.custom_properties["__execution_result__"].string_value


def test_scoring_reads_a_model_pushed_by_another_pipeline(store, truth):
    artifacts = truth["artifacts"]
    runs = [r for r in truth["runs"].values() if r["pipeline"] == "nightly-scoring"]
    assert runs
    for run in runs:
        score = next(s for s in run["steps"].values() if s["step"] == "score")
        model = [i["artifact_id"] for i in score["inputs"] if i["key"] == "model"]
        assert len(model) == 1
        art = artifacts[str(model[0])]
        assert art["type"] == "PushedModel"
        producer_run = next(r for r in truth["runs"].values() if str(art["producer"]) in r["steps"])
        assert producer_run["pipeline"] == "taxi-tfx"
        assert _epoch(producer_run["steps"][str(art["producer"])]["updated"]) < _epoch(score["created"])


def test_store_times_are_the_simulated_times(store, truth, summary):
    if find_libfaketime() is None:
        pytest.skip("libfaketime is not installed: the store was written with the real clock")
    assert summary["mlmd"]["clock"] == "libfaketime"
    for run in truth["runs"].values():
        execs = store.get_executions_by_id([int(i) for i in run["steps"]])
        for e in execs:
            step = run["steps"][str(e.id)]
            assert e.create_time_since_epoch == _epoch(step["created"]) * 1000
            assert e.last_update_time_since_epoch == _epoch(step["updated"]) * 1000
            # The driver (KFP) or the component pod (TFX) is running when the execution is created, and a
            # published execution is published when its last pod ends (calls move at most 5 s, mlmd_ops.py).
            assert _epoch(step["pods"][0]["start"]) <= _epoch(step["created"])
            work = step["type"] != "system.DAGExecution"
            published = step["state"] in ("COMPLETE", "FAILED") or (
                step["state"] == "CACHED" and run["orchestrator"] == "tfx")
            if work and published:
                assert abs(_epoch(step["pods"][-1]["end"]) - _epoch(step["updated"])) <= 6


def test_artifact_counts(store, truth):
    assert len(store.get_artifacts()) == truth["counts"]["artifacts"]
    for type_name, n in truth["counts"]["artifacts_by_type"].items():
        assert len(store.get_artifacts_by_type(type_name)) == n
    assert len(store.get_executions()) == truth["counts"]["executions"]
