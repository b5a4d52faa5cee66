"""An incremental MLMD snapshot reads only what changed and ends with exactly the tables of a full snapshot.

The store is a copy of one written by `aipipe sample` (KFP v2, KFP v1 and TFX runs); runs are added to the copy,
and existing nodes changed, through the real ml-metadata library, the way the orchestrators write them."""

from __future__ import annotations

import shutil
import sqlite3
import time

import pytest
from ml_metadata.proto import metadata_store_pb2 as pb

from aipipe_ops.lineage.snapshot import last_lineage_load, snapshot
from aipipe_ops.lineage.sources import mlmd_source
from aipipe_ops.workspace import Workspace

from .builders import KfpV2Run, StoreBuilder, TfxRun

generate = pytest.importorskip("aipipe_ops.sample.generate")
TABLES = ("runs", "steps", "artifacts", "events", "mlmd_contexts", "mlmd_parent_contexts", "lineage_producers",
          "lineage_inputs")
NO_LINEAGE_CALLS = ("GetExecutionsByID", "GetArtifactsByID", "GetContextsByID", "GetEventsByExecutionIDs",
                    "GetEventsByArtifactIDs", "GetContextsByType")


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    out = tmp_path_factory.mktemp("incremental") / "sample"
    generate.generate_fleet(out, runs=30, days=3, seed=3, progress=False, billing_formats="parquet")
    return out / "mlmd.sqlite"


@pytest.fixture
def store(sample_store, tmp_path):
    copy = tmp_path / "mlmd.sqlite"
    shutil.copyfile(sample_store, copy)
    return copy


def _uri(path) -> str:
    return f"sqlite://{path.resolve()}"


def _rows(ws, table: str) -> list:
    return ws.con.execute(f"SELECT {'* EXCLUDE (source)' if table == 'runs' else '*'} FROM {table} ORDER BY ALL"
                          ).fetchall()


def _existing(builder: StoreBuilder, type_name: str, name: str) -> None:
    """Let the builder reuse a context the sample already wrote (put_contexts refuses a second one)."""
    context = builder.store.get_context_by_type_and_name(type_name, name)
    builder._contexts[(type_name, name)] = context.id


def test_incremental_equals_full_after_new_runs_and_changes(store, tmp_path):
    with Workspace.open(tmp_path / "incremental.duckdb") as ws:
        first = snapshot(ws, _uri(store), progress=False)
        assert first.full
        steps_before = ws.count("steps")
        b = StoreBuilder(store)
        old_artifact = b.store.get_artifacts_by_id([1])[0]
        kfp_pipeline = ws.con.execute("SELECT pipeline FROM runs WHERE orchestrator = 'kfp-v2' LIMIT 1").fetchone()[0]
        _existing(b, "system.Pipeline", kfp_pipeline)
        dataset = ws.con.execute("SELECT artifact_id FROM artifacts WHERE kind = 'dataset' LIMIT 1").fetchone()[0]
        # A new KFP v2 run of a known pipeline, reading a dataset an old run wrote.
        run = KfpV2Run(b, kfp_pipeline, "9e1b7a52-0000-4000-8000-00000000feed")
        _, out = run.task("train", inputs={"dataset": [dataset]}, outputs={"model": "system.Model"})
        run.task("evaluate", inputs={"model": out["model"]}, outputs={"metrics": "system.Metrics"})
        # A new TFX run of a new pipeline.
        tfx = TfxRun(b, "late-taxi", "late-taxi-run-1")
        _, gen = tfx.node("ExampleGen", outputs={"examples": "Examples"})
        tfx.node("StatisticsGen", inputs={"examples": gen["examples"]}, outputs={"statistics": "ExampleStatistics"})
        # Old nodes changed: a step that fails late, an artifact marked for deletion.
        old_step = b.store.get_executions_by_id([ws.con.execute(
            "SELECT min(execution_id) FROM steps WHERE state = 'COMPLETE'").fetchone()[0]])[0]
        old_step.last_known_state = pb.Execution.FAILED
        b.store.put_executions([old_step])
        old_artifact.state = pb.Artifact.MARKED_FOR_DELETION
        b.store.put_artifacts([old_artifact])

        second = snapshot(ws, _uri(store), progress=False)
        assert not second.full
        # 2 KFP tasks + the root DAG + 2 TFX nodes are new; 1 old step changed. Nothing else is read.
        assert second.rows["executions"] == 6
        assert second.rows["artifacts"] == 4 + 1
        assert ws.count("steps") == steps_before + 5
        with Workspace.open(tmp_path / "full.duckdb") as full:
            snapshot(full, _uri(store), progress=False)
            for table in TABLES:
                assert _rows(ws, table) == _rows(full, table), table
            assert ws.con.execute("SELECT state FROM steps WHERE execution_id = ?", [old_step.id]).fetchone() == (
                "FAILED",)


def test_unchanged_store_reads_no_node(store, tmp_path, monkeypatch):
    monkeypatch.setattr(mlmd_source, "UPDATE_SLACK_MS", 50)
    with Workspace.open(tmp_path / "w.duckdb") as ws:
        full = snapshot(ws, _uri(store), progress=False)
        time.sleep(0.1)
        once = snapshot(ws, _uri(store), progress=False)
        time.sleep(0.1)
        again = snapshot(ws, _uri(store), progress=False)
        for report in (once, again):
            assert not report.full and not any(report.rows.get(k) for k in ("executions", "artifacts", "events"))
        # The second unchanged snapshot: the types, and per node kind the highest id and the newest update.
        assert again.store_calls <= 3 + 3 + 3 < full.store_calls
        assert not set(again.calls) & set(NO_LINEAGE_CALLS), again.calls


def test_a_late_commit_inside_the_margin_is_read(store, tmp_path):
    """A writer's transaction stamped just before the newest update the snapshot saw, committed after it read."""
    with Workspace.open(tmp_path / "w.duckdb") as ws:
        snapshot(ws, _uri(store), progress=False)
        newest = last_lineage_load(ws.con)["watermark"]["newest_ms"]["execution"]
        step = ws.con.execute("SELECT min(execution_id) FROM steps WHERE state = 'COMPLETE'").fetchone()[0]
        # Written straight into the copy's table: the library would stamp it with the current time.
        with sqlite3.connect(store) as db:
            db.execute("UPDATE Execution SET last_known_state = ?, last_update_time_since_epoch = ? WHERE id = ?",
                       [pb.Execution.FAILED, newest - 1, step])
        report = snapshot(ws, _uri(store), progress=False)
        assert report.rows["executions"] == 1
        assert ws.con.execute("SELECT state FROM steps WHERE execution_id = ?", [step]).fetchone() == ("FAILED",)
