"""The KFP API source (`lineage snapshot --kfp`) against a local server speaking the v2beta1 API over the sample
fleet: the same runs, steps, artifacts and events as the MLMD snapshot of that fleet, for both API generations;
incremental re-runs cost O(what changed); 401, unreachable and wrong-version servers each get one line."""

from __future__ import annotations

import json
import socket
import time

import pytest

from aipipe_ops.errors import SourceError
from aipipe_ops.lineage.snapshot import snapshot
from aipipe_ops.lineage.sources.kfp_api import KfpTarget
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
    data = out / "kfp_api" / "v2beta1"       # what `aipipe sample` wrote beside the store
    assert json.loads((out / "fleet.json").read_text())["kfp_api"]["path"] == "kfp_api/v2beta1"
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


def _model_costs(run_cli, ws_path, billing) -> dict:
    code, out, err = run_cli("--workspace", ws_path, "costs", "--billing", billing, "--by", "model", "--format", "json")
    assert code == 0, err
    return {r["artifact_id"]: (r["runs"], r["total"], r["currency"]) for r in json.loads(out)["rows"]}


@pytest.mark.parametrize("generation, with_mlmd", [("native", False), ("native", True), ("task_details", True)])
def test_costs_by_model_through_kfp(fleet, tmp_path, run_cli, generation, with_mlmd):
    """`aipipe costs --by model` on lineage read through --kfp: the KFP v2 models cost what they cost when the
    lineage came from the MLMD store (TFX runs are not in the KFP API, so their models are not either)."""
    out, data, expected = fleet
    billing = f"{out}/billing/*.parquet"
    store = f"sqlite://{out / 'mlmd.sqlite'}"
    code, _, err = run_cli("--workspace", tmp_path / "mlmd.duckdb", "lineage", "snapshot", "--mlmd", store)
    assert code == 0, err
    through_mlmd = _model_costs(run_cli, tmp_path / "mlmd.duckdb", billing)
    # The models KFP v2 runs produced; a TFX model that a KFP pipeline only scores has no producer in the KFP API.
    kfp_models = {m for m in through_mlmd if m in {row[1] for row in expected["events"] if row[2] == "output"}}
    assert kfp_models and set(through_mlmd) > kfp_models
    with KfpApiServer(data, generation) as server:
        args = ["--workspace", tmp_path / "kfp.duckdb", "lineage", "snapshot", "--kfp", server.url]
        code, _, err = run_cli(*args, *(["--mlmd", store] if with_mlmd else []))
        assert code == 0, err
    # The API also knows each task's requests (from the pipeline spec; MLMD does not), which move money between a
    # run's steps (tests/billing/test_step_requests.py): compared on the facts both sources hold.
    with Workspace.open(tmp_path / "kfp.duckdb") as ws:
        assert ws.con.execute("UPDATE steps SET properties = NULL WHERE properties IS NOT NULL").fetchone()[0] > 0
    through_kfp = _model_costs(run_cli, tmp_path / "kfp.duckdb", billing)
    assert set(through_kfp) == kfp_models
    assert through_kfp == {m: through_mlmd[m] for m in kfp_models}
    assert any(float(total) > 0 for _, total, _ in through_kfp.values())


def test_auth_adc_sends_an_id_token(fleet, tmp_path, monkeypatch):
    """--auth adc: an ID token from application default credentials (google-auth's fetch_id_token, replaced here:
    no Google endpoint is reachable), for the KFP URL or the --audience given (IAP's OAuth client id)."""
    google_id_token = pytest.importorskip("google.oauth2.id_token")
    _, data, _ = fleet
    audiences = []

    def fetch_id_token(request, audience):
        audiences.append(audience)
        return "id-token-for-" + audience.split(":")[0]

    monkeypatch.setattr(google_id_token, "fetch_id_token", fetch_id_token)
    with KfpApiServer(data, "native", token="id-token-for-http") as server:
        ws = Workspace.open(tmp_path / "w.duckdb")
        report = snapshot(ws, KfpTarget(server.url + "/", auth="adc"), progress=False)
        assert report.totals["runs"] > 0 and audiences == [server.url]
        ws.close()
    with KfpApiServer(data, "native", token="id-token-for-1234.apps.googleusercontent.com") as server:
        ws = Workspace.open(tmp_path / "w2.duckdb")
        snapshot(ws, KfpTarget(server.url, auth="adc", audience="1234.apps.googleusercontent.com"), progress=False)
        assert audiences[-1] == "1234.apps.googleusercontent.com"
        ws.close()


def test_auth_adc_without_credentials_is_one_line(fleet, tmp_path, run_cli, monkeypatch):
    pytest.importorskip("google.auth")
    _, data, _ = fleet
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-such-key.json"))
    with KfpApiServer(data, "native", token="x") as server:
        code, out, err = run_cli("--workspace", tmp_path / "w.duckdb", "lineage", "snapshot", "--kfp", server.url,
                                 "--auth", "adc")
        assert server.requests == [], "no request leaves without a token"
    assert code == 2 and not out
    assert len(err.strip().splitlines()) == 1, err
    assert "--auth adc" in err and "GOOGLE_APPLICATION_CREDENTIALS" in err and "--token-env" in err
    code, _, err = run_cli("--workspace", tmp_path / "w.duckdb", "lineage", "snapshot", "--kfp", "http://127.0.0.1:9",
                           "--auth", "adc", "--token-env", "KFP_TOKEN")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "use one" in err


def test_artifact_task_io_types(fleet, tmp_path):
    """ArtifactTask.type is artifact.proto's IOType: every *_INPUT value is an input (TASK_OUTPUT_INPUT included,
    though it names an output), the *_OUTPUT values outputs; by name or by number alike."""
    _, data, expected = fleet
    with KfpApiServer(data, "native") as server:
        for edge in server.artifact_tasks:
            edge["type"] = {"TASK_OUTPUT_INPUT": 2, "OUTPUT": 9}[edge["type"]] if edge["key"] < "m" else edge["type"]
        assert {e["type"] for e in server.artifact_tasks} == {2, 9, "TASK_OUTPUT_INPUT", "OUTPUT"}
        ws = Workspace.open(tmp_path / "w.duckdb")
        snapshot(ws, KfpTarget(server.url), progress=False)
        assert _tables(ws)["events"] == expected["events"]
        ws.close()


@pytest.mark.parametrize("generation", ["task_details", "native"])
def test_a_run_created_in_the_same_instant_is_not_missed(fleet, tmp_path, generation):
    """Two runs created at the same instant, one not yet listed by the first snapshot: the next one reads it."""
    _, data, expected = fleet
    with KfpApiServer(data, generation) as server:
        newest, other = sorted(server.runs, key=lambda r: r["created_at"])[-2:]
        newest["created_at"] = other["created_at"]
        server.hidden = {newest["run_id"]}
        ws = Workspace.open(tmp_path / "w.duckdb")
        snapshot(ws, KfpTarget(server.url), progress=False)
        assert ws.count("runs") == len(expected["runs"]) - 1
        server.hidden = set()
        again = snapshot(ws, KfpTarget(server.url), progress=False)
        assert ws.count("runs") == len(expected["runs"]) and again.rows["runs"] >= 1
        assert snapshot(ws, KfpTarget(server.url), progress=False).rows["runs"] < len(expected["runs"])
        ws.close()
