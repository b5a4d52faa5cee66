"""Provenance and impact queries, and the interface billing uses (upstream_executions and its bulk forms)."""

import pytest
from ml_metadata.proto import metadata_store_pb2 as pb

from aipipe_ops.errors import InputError
from aipipe_ops.lineage import graph
from aipipe_ops.lineage.graph import UpstreamExecution
from .builders import KfpV2Run
from .scenarios import kfp_v2_cached_rerun, tfx_taxi

RUN1 = "6f1c2a1e-0000-4000-8000-000000000001"
RUN2 = "6f1c2a1e-0000-4000-8000-000000000002"


@pytest.fixture
def churn(builder, store_path, snap, workspace):
    ids = kfp_v2_cached_rerun(builder)
    snap(store_path)
    return ids


def test_upstream_resolves_cache_hits_to_their_originals(churn, workspace):
    ids = churn
    rows = graph.upstream_executions(workspace.con, [ids.artifacts["model2"]])
    assert rows == [
        UpstreamExecution(ids.artifacts["model2"], ids.executions["train2"], RUN2, 1, False),
        # run-2's preprocess was a cache hit: the execution that paid for the data is run-1's.
        UpstreamExecution(ids.artifacts["model2"], ids.executions["prep1"], RUN1, 3, True),
        UpstreamExecution(ids.artifacts["model2"], ids.executions["import1"], RUN1, 5, True),
    ]
    assert ids.executions["prep2"] not in {r.execution_id for r in rows}


def test_upstream_of_the_original_model_is_not_via_cache(churn, workspace):
    ids = churn
    rows = graph.upstream_executions(workspace.con, [ids.artifacts["model1"]])
    assert [(r.execution_id, r.hops, r.via_cache) for r in rows] == [
        (ids.executions["train1"], 1, False), (ids.executions["prep1"], 3, False), (ids.executions["import1"], 5, False)]


def test_bulk_equals_one_by_one(churn, builder, store_path, snap, workspace):
    tfx_taxi(builder)
    snap(store_path)
    bulk = graph.upstream_executions_of_kind(workspace.con, "model")
    models = [r[0] for r in workspace.con.execute("SELECT artifact_id FROM artifacts WHERE kind = 'model' "
                                                  "ORDER BY artifact_id").fetchall()]
    assert len(models) == 3
    one_by_one = [row for m in models for row in graph.upstream_executions(workspace.con, [m])]
    assert sorted(bulk) == sorted(one_by_one)
    table = graph.upstream_executions_table(workspace.con, "model_upstream")
    assert sorted(workspace.con.execute(f"SELECT * FROM {table}").fetchall()) == sorted(tuple(r) for r in bulk)


def test_every_models_upstream_datasets(churn, workspace):
    ids = churn
    rows = graph.upstream_artifacts(workspace.con, kind="model", upstream_kinds=("dataset",))
    assert sorted((r[0], r[1], r[2]) for r in rows) == sorted([
        (ids.artifacts["model1"], ids.artifacts["train"], 2), (ids.artifacts["model1"], ids.artifacts["raw"], 4),
        (ids.artifacts["model2"], ids.artifacts["train"], 2), (ids.artifacts["model2"], ids.artifacts["raw"], 4)])


def test_downstream_names_every_run_that_used_the_data(churn, workspace):
    ids = churn
    sub = graph.subgraph(workspace.con, [ids.artifacts["raw"]], "downstream")
    assert set(sub.runs) == {RUN1, RUN2}
    assert {ids.artifacts["model1"], ids.artifacts["model2"], ids.artifacts["train"]} <= set(sub.artifacts)
    assert ids.executions["prep2"] in sub.executions          # the cache hit consumed it too
    relations = {(e["source"], e["target"], e["relation"]) for e in sub.edges}
    assert (f"e{ids.executions['prep2']}", f"a{ids.artifacts['train']}", "reuse") in relations
    assert (f"a{ids.artifacts['raw']}", f"e{ids.executions['prep1']}", "input") in relations


def test_upstream_subgraph_has_artifacts_runs_and_edges(churn, workspace):
    ids = churn
    sub = graph.subgraph(workspace.con, [ids.artifacts["model2"]], "upstream")
    assert set(sub.artifacts) == {ids.artifacts["model2"], ids.artifacts["train"], ids.artifacts["raw"]}
    assert sub.artifacts[ids.artifacts["raw"]]["hops"] == 4
    assert set(sub.runs) == {RUN1, RUN2}
    assert {(e["source"], e["target"]) for e in sub.edges} == {
        (f"e{ids.executions['train2']}", f"a{ids.artifacts['model2']}"),
        (f"a{ids.artifacts['train']}", f"e{ids.executions['train2']}"),
        (f"e{ids.executions['prep1']}", f"a{ids.artifacts['train']}"),
        (f"a{ids.artifacts['raw']}", f"e{ids.executions['prep1']}"),
        (f"e{ids.executions['import1']}", f"a{ids.artifacts['raw']}")}


def test_artifacts_by_id_or_uri(churn, workspace):
    ids = churn
    assert graph.resolve_artifacts(workspace.con, str(ids.artifacts["raw"])) == [ids.artifacts["raw"]]
    assert graph.resolve_artifacts(workspace.con, "gs://data/churn/raw.csv/") == [ids.artifacts["raw"]]
    with pytest.raises(InputError, match="no artifact with URI"):
        graph.resolve_artifacts(workspace.con, "gs://nowhere")
    with pytest.raises(InputError, match="no artifact 99999"):
        graph.resolve_artifacts(workspace.con, "99999")


def test_a_cyclic_store_terminates(builder, store_path, snap, workspace):
    run = KfpV2Run(builder, "loop", "run-loop")
    _, out = run.task("a", outputs={"x": "system.Dataset"})
    # An execution that reads and writes the same artifact: a cycle MLMD allows (distinct event types).
    builder.execute("system.ContainerExecution", custom={"parent_dag_id": run.root_dag, "task_name": "b"},
                    inputs={"x": out["x"]}, outputs={"x": out["x"]}, contexts=[run.pipeline_ctx, run.run_ctx])
    snap(store_path)
    rows = graph.upstream_executions(workspace.con, out["x"])
    assert {r.hops for r in rows} <= {1, 3}
    assert graph.subgraph(workspace.con, out["x"], "downstream").executions


def test_run_detail_lists_steps_with_io_and_cache_origin(churn, workspace):
    ids = churn
    run = graph.run_detail(workspace.con, RUN2)
    steps = {s["execution_id"]: s for s in run["steps"]}
    cached = steps[ids.executions["prep2"]]
    assert cached["cached_from"] == ids.executions["prep1"] and cached["cached_from_run"] == RUN1
    assert [o["reused"] for o in cached["outputs"]] == [True, True]
    assert [i["artifact_id"] for i in steps[ids.executions["train2"]]["inputs"]] == [ids.artifacts["train"]]
    assert run["external_inputs"] == [ids.artifacts["raw"]]
    with pytest.raises(InputError, match="did you mean"):
        graph.run_detail(workspace.con, "6f1c2a1e")


def test_runs_filter_by_pipeline_state_and_time(churn, builder, store_path, snap, workspace):
    failed = KfpV2Run(builder, "other", "run-bad")
    failed.task("x", state=pb.Execution.FAILED)
    snap(store_path)
    assert [r["run_id"] for r in graph.list_runs(workspace.con, pipeline="churn")] == [RUN2, RUN1]
    assert [r["run_id"] for r in graph.list_runs(workspace.con, state="failed")] == ["run-bad"]
    import datetime as dt
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    assert graph.list_runs(workspace.con, since=future) == []
