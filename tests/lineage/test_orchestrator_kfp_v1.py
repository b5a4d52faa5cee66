"""KFP v1 stores (KfpRun contexts, components.* types) map onto runs and steps from properties alone."""

from .builders import KfpV1Run


def test_runs_and_steps_from_properties(builder, store_path, snap, workspace):
    run = KfpV1Run(builder, "xgboost-trainer-q8z2m")
    e1, out = run.step("download-data", outputs={"data": "CSV"})
    e2, model = run.step("train", inputs={"data": out["data"]}, outputs={"model": "Model"})
    report = snap(store_path)
    assert report.orchestrators == ["kfp-v1"]
    assert "GetContextsByExecution" not in report.calls and "GetExecutionsByContext" not in report.calls
    assert workspace.con.execute("SELECT run_id, pipeline, orchestrator, workflow, state FROM runs").fetchall() == [
        ("xgboost-trainer-q8z2m", "xgboost-trainer", "kfp-v1", "xgboost-trainer-q8z2m", "UNKNOWN")]
    steps = workspace.con.execute("SELECT execution_id, run_id, step, component, state, pod_name FROM steps "
                                  "ORDER BY execution_id").fetchall()
    assert [s[:5] for s in steps] == [
        (e1, "xgboost-trainer-q8z2m", "download-data", "download-data", "UNKNOWN"),
        (e2, "xgboost-trainer-q8z2m", "train", "train", "UNKNOWN")]
    assert all(s[5].startswith("xgboost-trainer-q8z2m-") for s in steps)
    kinds = dict(workspace.con.execute("SELECT artifact_id, kind FROM artifacts").fetchall())
    assert kinds == {out["data"][0]: "dataset", model["model"][0]: "model"}
