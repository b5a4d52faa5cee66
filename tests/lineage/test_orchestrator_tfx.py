"""TFX IR stores (pipeline / pipeline_run / node contexts) map onto runs and steps; run membership comes from
Associations, read with as few store calls as possible."""

from ml_metadata.proto import metadata_store_pb2 as pb

from .builders import TfxRun
from .scenarios import tfx_taxi


def test_runs_steps_and_workflow_on_kfp(builder, store_path, snap, workspace):
    ids = tfx_taxi(builder, "taxi-pipeline-x7k2p")
    report = snap(store_path)
    assert report.orchestrators == ["tfx"]
    run = workspace.con.execute("SELECT run_id, pipeline, orchestrator, state, workflow FROM runs").fetchall()
    # On KFP the pipeline_run id is the Argo workflow name: billing finds the run's pods by it.
    assert run == [("taxi-pipeline-x7k2p", "taxi", "tfx", "SUCCEEDED", "taxi-pipeline-x7k2p")]
    steps = dict(workspace.con.execute("SELECT execution_id, step FROM steps").fetchall())
    assert steps[ids.executions["examplegen"]] == "CsvExampleGen"
    assert steps[ids.executions["trainer"]] == "Trainer"
    component, pod = workspace.con.execute("SELECT component, pod_name FROM steps WHERE execution_id = ?",
                                           [ids.executions["examplegen"]]).fetchone()
    assert component == "CsvExampleGen" and pod.startswith("taxi-pipeline-x7k2p-")


def test_local_runs_have_no_workflow(builder, store_path, snap, workspace):
    tfx_taxi(builder, "2026-11-20T08:00:00.123456", on_kfp=False)
    snap(store_path)
    assert workspace.con.execute("SELECT run_id, workflow FROM runs").fetchall() == [
        ("2026-11-20T08:00:00.123456", None)]


def test_node_ids_that_differ_from_the_class_name(builder, store_path, snap, workspace):
    run = TfxRun(builder, "taxi.v2", "run-dotted")
    e, _ = run.node("Trainer.wide_deep", "Trainer", outputs={"model": "Model"})
    snap(store_path)
    assert workspace.con.execute("SELECT step, component FROM steps WHERE execution_id = ?", [e]).fetchone() == \
        ("Trainer.wide_deep", "Trainer")


def _small_runs(builder, count, on_kfp, first=0):
    for i in range(first, first + count):
        run = TfxRun(builder, "small", f"small-run-{i}x", on_kfp=on_kfp)
        _, ex = run.node("CsvExampleGen", "ExampleGen", outputs={"examples": "Examples"})
        _, st = run.node("StatisticsGen", inputs={"examples": ex["examples"]}, outputs={"statistics": "ExampleStatistics"})
        run.node("SchemaGen", inputs={"statistics": st["statistics"]}, outputs={"schema": "Schema"})


def test_on_kfp_the_run_comes_from_the_pod_name(builder, store_path, snap, workspace):
    # 6 runs x 3 nodes: runs from kfp_pod_name (no calls); nodes from listing the 3 node contexts.
    _small_runs(builder, 6, on_kfp=True)
    # A run whose name is a prefix of another's pod names must not capture them.
    _small_runs(builder, 1, on_kfp=True, first=10)
    report = snap(store_path)
    assert report.calls.get("GetExecutionsByContext") == 3
    assert "GetContextsByExecution" not in report.calls
    counts = dict(workspace.con.execute("SELECT run_id, count(*) FROM steps GROUP BY run_id").fetchall())
    assert counts == {f"small-run-{i}x": 3 for i in (0, 1, 2, 3, 4, 5, 10)}
    assert workspace.con.execute("SELECT count(*) FROM steps WHERE step IS NULL OR step NOT IN "
                                 "('CsvExampleGen', 'StatisticsGen', 'SchemaGen')").fetchone()[0] == 0


def test_membership_reads_scale_with_the_cheaper_side(builder, store_path, snap, workspace):
    # LocalDagRunner: no pods. 18 executions, 6 run + 3 node contexts: listing contexts (9 calls) beats 18 lookups.
    _small_runs(builder, 6, on_kfp=False)
    report = snap(store_path)
    assert report.calls.get("GetExecutionsByContext") == 9
    assert "GetContextsByExecution" not in report.calls
    assert workspace.con.execute("SELECT count(*) FROM steps WHERE run_id IS NULL").fetchone()[0] == 0
    # One more run: the re-snapshot looks up only its 2 new executions, one call each.
    run = TfxRun(builder, "small", "small-run-6x", on_kfp=False)
    run.node("CsvExampleGen", "ExampleGen", outputs={"examples": "Examples"})
    run.node("SchemaGen", outputs={"schema": "Schema"})
    report = snap(store_path)
    assert report.calls.get("GetContextsByExecution") == 2
    assert "GetExecutionsByContext" not in report.calls
    assert workspace.con.execute("SELECT count(DISTINCT run_id), count(*) FILTER (WHERE run_id IS NULL) FROM steps"
                                 ).fetchone() == (7, 0)


def test_cache_hit_links_to_the_original_through_its_outputs(builder, store_path, snap, workspace):
    first = TfxRun(builder, "taxi", "run-a")
    original, out = first.node("CsvExampleGen", "ExampleGen", outputs={"examples": "Examples"})
    second = TfxRun(builder, "taxi", "run-b")
    hit, _ = second.node("CsvExampleGen", "ExampleGen", state=pb.Execution.CACHED, reuse={"examples": out["examples"]})
    snap(store_path)
    assert workspace.con.execute("SELECT cached_from FROM steps WHERE execution_id = ?", [hit]).fetchone()[0] == original
    assert workspace.con.execute("SELECT direction FROM events WHERE execution_id = ?", [hit]).fetchall() == [("reuse",)]
