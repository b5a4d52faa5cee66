"""The KFP API source (`lineage snapshot --kfp`) against a local server speaking the v2beta1 API over the sample
fleet: the same runs, steps, artifacts and events as the MLMD snapshot of that fleet, for both API generations;
incremental re-runs cost O(what changed); 401, unreachable and wrong-version servers each get one line."""

from __future__ import annotations

import socket
import time

import pytest

from aipipe_ops.errors import SourceError
from aipipe_ops.lineage.snapshot import snapshot
from aipipe_ops.lineage.sources.kfp_api import KfpTarget
from aipipe_ops.sample.kfp_api_responses import write_kfp_api_responses
from aipipe_ops.workspace import Workspace

from .kfp_api_server import KfpApiServer

generate = pytest.importorskip("aipipe_ops.sample.generate")
KFP_RUNS = "(SELECT run_id FROM runs WHERE orchestrator = 'kfp-v2')"
QUERIES = {
    "runs": "SELECT run_id, pipeline, orchestrator, namespace, state, created_at, finished_at FROM runs "
            "WHERE orchestrator = 'kfp-v2'",
    "steps": f"SELECT execution_id, run_id, step, component, state, cached_from, pod_name, created_at, updated_at, "
             f"dialect FROM steps WHERE run_id IN {KFP_RUNS}",
    "events": f"SELECT execution_id, artifact_id, direction, role FROM events WHERE execution_id IN "
              f"(SELECT execution_id FROM steps WHERE run_id IN {KFP_RUNS})",
    "artifacts": f"SELECT artifact_id, kind, type_name, uri, created_at FROM artifacts WHERE artifact_id IN "
                 f"(SELECT artifact_id FROM events WHERE execution_id IN "
                 f"(SELECT execution_id FROM steps WHERE run_id IN {KFP_RUNS}))",
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    out = tmp_path_factory.mktemp("kfp-fleet") / "sample"
    generate.generate_fleet(out, runs=30, days=3, seed=5, progress=False)
    data = write_kfp_api_responses(out / "mlmd.sqlite", out)
    ws = Workspace.open(out.parent / "mlmd.duckdb")
    snapshot(ws, f"sqlite://{out / 'mlmd.sqlite'}", progress=False)
    expected = {name: sorted(ws.con.execute(q).fetchall(), key=repr) for name, q in QUERIES.items()}
    ws.close()
    return out, data, expected


def _tables(ws) -> dict:
    return {name: sorted(ws.con.execute(q).fetchall(), key=repr) for name, q in QUERIES.items()}


@pytest.mark.parametrize("generation", ["task_details", "native"])
def test_same_tables_as_mlmd(fleet, tmp_path, generation):
    out, data, expected = fleet
    assert expected["runs"] and expected["events"]
    with KfpApiServer(data, generation) as server:
        ws = Workspace.open(tmp_path / "w.duckdb")
        mlmd = f"sqlite://{out / 'mlmd.sqlite'}" if generation == "task_details" else None
        report = snapshot(ws, KfpTarget(server.url, mlmd=mlmd), progress=False)
        got = _tables(ws)
        for name in QUERIES:
            assert got[name] == expected[name], name
        assert report.full
        ws.close()


@pytest.mark.parametrize("generation", ["task_details", "native"])
def test_incremental_costs_what_changed(fleet, tmp_path, generation):
    _, data, expected = fleet
    with KfpApiServer(data, generation) as server:
        newest = max(server.runs, key=lambda r: r["created_at"])["run_id"]
        server.hidden = {newest}
        ws = Workspace.open(tmp_path / "w.duckdb")
        target = KfpTarget(server.url)
        snapshot(ws, target, progress=False)
        open_runs = ws.con.execute("SELECT count(*) FROM runs WHERE state = 'RUNNING'").fetchone()[0]

        server.requests.clear()
        report = snapshot(ws, target, progress=False)
        assert not report.full
        # healthz and the run list (native: + the artifact-API probe, each open run's tasks, one edge and one
        # artifact listing): nothing per closed run.
        per_open = 1 if generation == "task_details" else 2
        fixed = 2 if generation == "task_details" else 5
        assert len(server.requests) <= fixed + per_open * open_runs, server.requests

        server.hidden = set()
        server.requests.clear()
        snapshot(ws, target, progress=False)
        # healthz, the run list, the open runs again, the new run (tasks, edges, artifacts: native)
        assert len(server.requests) <= fixed + per_open * open_runs + 2, server.requests
        assert _tables(ws)["runs"] == expected["runs"]
        assert _tables(ws)["steps"] == expected["steps"]
        ws.close()


def test_401_says_how_to_authenticate(fleet, tmp_path, monkeypatch):
    _, data, _ = fleet
    with KfpApiServer(data, "native", token="s3cret") as server:
        ws = Workspace.open(tmp_path / "w.duckdb")
        with pytest.raises(SourceError, match="--token-env") as err:
            snapshot(ws, KfpTarget(server.url), progress=False)
        assert "s3cret" not in str(err.value)
        monkeypatch.setenv("KFP_TOKEN", "s3cret")
        report = snapshot(ws, KfpTarget(server.url, token_env="KFP_TOKEN"), progress=False)
        assert report.totals["runs"] > 0
        ws.close()


def test_unreachable_url_fails_fast(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ws = Workspace.open(tmp_path / "w.duckdb")
    started = time.monotonic()
    with pytest.raises(SourceError, match=f"127.0.0.1:{port}"):
        snapshot(ws, KfpTarget(f"http://127.0.0.1:{port}"), progress=False)
    assert time.monotonic() - started < 5
    ws.close()


def test_other_version_is_named(fleet, tmp_path):
    _, data, _ = fleet
    with KfpApiServer(data, "task_details", tag_name="1.8.5") as server:
        ws = Workspace.open(tmp_path / "w.duckdb")
        with pytest.raises(SourceError, match="found KFP 1.8.5"):
            snapshot(ws, KfpTarget(server.url), progress=False)
        ws.close()
    with KfpApiServer(data, "task_details", tag_name="2.18.0") as server:      # no native artifact API
        ws = Workspace.open(tmp_path / "w2.duckdb")
        with pytest.raises(SourceError, match="found KFP 2.18.0 without the native artifact API"):
            snapshot(ws, KfpTarget(server.url), progress=False)
        ws.close()
