"""Snapshots are all-or-nothing, incremental on re-run, bounded in store calls, and one store per workspace."""

import math
import time

import pytest
from ml_metadata.proto import metadata_store_pb2 as pb

from aipipe_ops.errors import WorkspaceError
from aipipe_ops.lineage.sources import mlmd_source
from .builders import KfpV2Run, StoreBuilder
from .scenarios import kfp_v2_cached_rerun


@pytest.fixture
def no_slack(monkeypatch):
    # Test stores are seconds old: without this every node falls inside the re-read margin.
    monkeypatch.setattr(mlmd_source, "UPDATE_SLACK_MS", 0)


def _count(ws, table):
    return ws.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_rerun_reads_only_new_and_changed_nodes(builder, store_path, snap, workspace, no_slack):
    kfp_v2_cached_rerun(builder)
    first = snap(store_path)
    assert first.full and first.rows["executions"] == 7 and first.rows["artifacts"] == 7
    time.sleep(0.01)
    # A new run, and a task of it that the launcher publishes later (RUNNING -> COMPLETE with an output).
    run = KfpV2Run(builder, "churn", "run-3")
    task, _ = run.task("train-model", state=pb.Execution.RUNNING, pod=True)
    time.sleep(0.01)
    second = snap(store_path)
    assert not second.full
    assert second.rows["executions"] == 2          # run-3's root DAG and its task, nothing else
    assert _count(workspace, "steps") == 9 and _count(workspace, "runs") == 3
    assert workspace.con.execute("SELECT state FROM runs WHERE run_id = 'run-3'").fetchone()[0] == "RUNNING"
    time.sleep(0.01)
    done = builder.store.get_executions_by_id([task])[0]
    done.last_known_state = pb.Execution.COMPLETE
    model = builder.new_artifact("system.Model", "gs://bucket/run-3/model")
    builder.store.put_execution(done, [(model, pb.Event(type=pb.Event.OUTPUT))], [])
    time.sleep(0.01)
    third = snap(store_path)
    assert third.rows["executions"] == 1 and third.rows["artifacts"] == 1
    assert workspace.con.execute("SELECT state FROM runs WHERE run_id = 'run-3'").fetchone()[0] == "SUCCEEDED"
    assert workspace.con.execute("SELECT direction FROM events WHERE execution_id = ?", [task]).fetchall() == [("output",)]
    # Nothing changed: nothing is read again.
    time.sleep(0.01)
    fourth = snap(store_path)
    assert fourth.rows["executions"] == 0 and fourth.rows["artifacts"] == 0 and fourth.rows["events"] == 0
    assert _count(workspace, "events") == 14


def test_incremental_equals_full(builder, store_path, snap, workspace, no_slack, tmp_path):
    from aipipe_ops.lineage.snapshot import snapshot
    from aipipe_ops.workspace import Workspace

    kfp_v2_cached_rerun(builder)
    snap(store_path)
    run = KfpV2Run(builder, "churn", "run-late")
    _, out = run.task("preprocess", outputs={"train": "system.Dataset"})
    run.task("train-model", inputs={"dataset": out["train"]}, outputs={"model": "system.Model"})
    snap(store_path)
    with Workspace.open(tmp_path / "full.duckdb") as full:
        snapshot(full, f"sqlite://{store_path}", progress=False)
        for table in ("runs", "steps", "artifacts", "events", "lineage_producers", "lineage_inputs"):
            columns = "* EXCLUDE (source)" if table == "runs" else "*"
            query = f"SELECT {columns} FROM {table} ORDER BY ALL"
            assert workspace.con.execute(query).fetchall() == full.con.execute(query).fetchall(), table


def test_store_calls_are_batched(tmp_path, snap):
    # 150 runs x 4 executions, 4 artifacts each. One call per node would be thousands.
    b = StoreBuilder(tmp_path / "mlmd.sqlite")
    for i in range(150):
        run = KfpV2Run(b, f"p{i % 3}", f"run-{i:04d}")
        _, a = run.task("a", outputs={"x": "system.Dataset"})
        _, c = run.task("b", inputs={"x": a["x"]}, outputs={"y": "system.Dataset"})
        run.task("c", inputs={"y": c["y"]}, outputs={"m": "system.Model", "metrics": "system.Metrics"})
    nodes = 150 * 4 + 150 * 4
    report = snap(tmp_path / "mlmd.sqlite", batch_size=100)
    batches = 3 * math.ceil(150 * 4 / 100) + math.ceil(150 * 4 / 100)
    # types (3) + contexts by type (2) + parents (one per pipeline: 3) + max ids and newest update times (4)
    # + id batches
    assert report.store_calls <= 3 + 2 + 3 + 4 + batches
    assert report.calls["GetExecutionsByID"] == 6 and report.calls["GetEventsByExecutionIDs"] == 6
    # With the default batch, the whole store is a dozen calls: far below one per node.
    report = snap(tmp_path / "mlmd.sqlite", full=True)
    assert report.store_calls <= 3 + 2 + 3 + 4 + 3 and report.store_calls < nodes / 75


def test_another_store_is_refused_unless_replaced(builder, store_path, snap, workspace, tmp_path):
    kfp_v2_cached_rerun(builder)
    snap(store_path)
    other = StoreBuilder(tmp_path / "other.sqlite")
    KfpV2Run(other, "other", "run-x").task("only", outputs={"o": "system.Dataset"})
    with pytest.raises(WorkspaceError, match=r"holds the lineage of sqlite://.*mlmd.sqlite.*--replace"):
        snap(tmp_path / "other.sqlite")
    report = snap(tmp_path / "other.sqlite", replace=True)
    assert report.full
    assert workspace.con.execute("SELECT run_id FROM runs").fetchall() == [("run-x",)]


def test_a_failed_snapshot_leaves_the_workspace_unchanged(builder, store_path, snap, workspace, monkeypatch):
    kfp_v2_cached_rerun(builder)
    snap(store_path)
    before = {t: _count(workspace, t) for t in ("runs", "steps", "artifacts", "events", "loads")}
    from aipipe_ops.lineage.orchestrators import derivations

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(derivations, "finish_runs", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        snap(store_path, full=True)
    assert {t: _count(workspace, t) for t in before} == before
