"""The KFP API source (`lineage snapshot --kfp`) against a local server speaking the v2beta1 API over the sample
fleet: the same runs, steps, artifacts and events as the MLMD snapshot of that fleet, for both API generations;
incremental re-runs cost O(what changed); 401, unreachable and wrong-version servers each get one line; a run
created from a pipeline version gets its task requests from that version, read once."""

from __future__ import annotations

import json
import socket
import time

import pytest

from aipipe_ops.errors import SourceError
from aipipe_ops.lineage.snapshot import snapshot
from aipipe_ops.lineage.sources.kfp_api import KfpTarget
from aipipe_ops.lineage.sources.pipeline_spec import REQUESTS_PROPERTY, task_requests
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


# -- a run created from a pipeline version: requests from the version, read once ----------------------------------
VERSIONS = "/versions/"


def _by_version(server) -> dict[str, list[str]]:
    """{pipeline version id: the runs created from it} of the runs the server holds without an embedded spec."""
    out: dict[str, list[str]] = {}
    for run in server.runs:
        if "pipeline_spec" not in run:
            out.setdefault(run["pipeline_version_reference"]["pipeline_version_id"], []).append(run["run_id"])
    return out


def _ran_pods(server, run: dict) -> bool:
    if server.generation == "native":
        return any(t["pods"] for t in server.tasks.get(run["run_id"], []))
    return any(t.get("pod_name") for t in run["run_details"]["task_details"])


def _requests_of_steps(ws) -> dict[tuple[str, str], dict | None]:
    """{(run id, step): the requests recorded for it} of every step that ran a pod."""
    rows = ws.con.execute(f"""SELECT run_id, step, json_extract(properties, '$.{REQUESTS_PROPERTY}')::VARCHAR
                              FROM steps WHERE pod_name IS NOT NULL""").fetchall()
    return {(run_id, step): json.loads(requests) if requests else None for run_id, step, requests in rows}


@pytest.mark.parametrize("generation", ["task_details", "native"])
def test_a_run_created_from_a_pipeline_version_gets_the_versions_requests(fleet, tmp_path, generation):
    """The sample's runs alternate between an embedded spec and a pipeline version reference (the oneof of
    run.proto): a referencing run's steps get what its version's spec requests, exactly as if it embedded that spec,
    and each version is read once however many runs share it."""
    _, data, _ = fleet
    with KfpApiServer(data, generation) as server:
        by_version = _by_version(server)
        assert by_version and any("pipeline_spec" in r for r in server.runs)
        assert any(len(runs) > 1 for runs in by_version.values()), "several runs share a version"
        ws = Workspace.open(tmp_path / "w.duckdb")
        report = snapshot(ws, KfpTarget(server.url), progress=False)
        asked = sorted(p for p in server.requests if VERSIONS in p)
        assert asked == sorted(f"/apis/v2beta1/pipelines/{server.versions[v]['pipeline_id']}/versions/{v}"
                               for v in by_version)
        assert report.calls["pipelines/{id}/versions/{id}"] == len(by_version)
        assert not any("pipeline version" in note for note in report.notes)
        got = _requests_of_steps(ws)
        for version_id, run_ids in by_version.items():
            spec = task_requests(server.versions[version_id]["pipeline_spec"])
            for run_id in run_ids:
                steps = {step: requests for (run, step), requests in got.items() if run == run_id}
                assert steps, run_id
                for step, requests in steps.items():
                    assert requests == spec[step] and requests["cpu"] > 0 and requests["memory"] > 0, (run_id, step)
        ws.close()

        # The same runs with the version's spec embedded instead: the same requests, no version asked for.
        for run in server.runs:
            reference = run.get("pipeline_version_reference")
            if reference and "pipeline_spec" not in run:
                run["pipeline_spec"] = server.versions[reference["pipeline_version_id"]]["pipeline_spec"]
                del run["pipeline_version_reference"]
        server.requests.clear()
        ws = Workspace.open(tmp_path / "embedded.duckdb")
        snapshot(ws, KfpTarget(server.url), progress=False)
        assert not [p for p in server.requests if VERSIONS in p]
        assert _requests_of_steps(ws) == got
        ws.close()


@pytest.mark.parametrize("generation", ["task_details", "native"])
def test_incremental_snapshots_do_not_read_a_version_again(fleet, tmp_path, generation):
    """The requests of a version read once are kept in the watermark: a later snapshot reading a new run created
    from it, or re-reading an open one, asks for no version; a full copy reads each again."""
    _, data, _ = fleet
    with KfpApiServer(data, generation) as server:
        by_version = _by_version(server)
        version_of = {run: version for version, runs in by_version.items() for run in runs}
        # The latest run created from a version that ran pods, such that every run created from then on names a
        # version an earlier run names too: those runs are new to the second snapshot, their versions are not.
        order = sorted(server.runs, key=lambda r: (r["created_at"], r["run_id"]))
        i = next(i for i in reversed(range(len(order))) if order[i]["run_id"] in version_of
                 and _ran_pods(server, order[i])
                 and {version_of[r["run_id"]] for r in order[i:] if r["run_id"] in version_of}
                 <= {version_of[r["run_id"]] for r in order[:i] if r["run_id"] in version_of})
        new = order[i]["run_id"]
        server.hidden = {r["run_id"] for r in order[i:]}
        ws = Workspace.open(tmp_path / "w.duckdb")
        target = KfpTarget(server.url)
        snapshot(ws, target, progress=False)
        assert sorted(p.rsplit("/", 1)[1] for p in server.requests if VERSIONS in p) == sorted(by_version)

        server.hidden = set()
        server.requests.clear()
        report = snapshot(ws, target, progress=False)
        assert not report.full and report.rows["runs"] >= len(order) - i
        assert not [p for p in server.requests if VERSIONS in p], server.requests
        spec = task_requests(server.versions[version_of[new]]["pipeline_spec"])
        steps = {step: requests for (run, step), requests in _requests_of_steps(ws).items() if run == new}
        assert steps and all(requests == spec[step] for step, requests in steps.items())

        server.requests.clear()
        snapshot(ws, target, progress=False)
        assert not [p for p in server.requests if VERSIONS in p]
        server.requests.clear()
        snapshot(ws, target, full=True, progress=False)
        assert len([p for p in server.requests if VERSIONS in p]) == len(by_version)
        ws.close()


@pytest.mark.parametrize("generation", ["task_details", "native"])
def test_a_deleted_version_leaves_its_runs_split_by_duration_with_a_note(fleet, tmp_path, run_cli, generation):
    """A version that answers 404 (deleted since its runs were created): its runs' steps have no requests (step
    costs fall back to duration), a note names the version and the runs, and the rest is read as before."""
    _, data, _ = fleet
    with KfpApiServer(data, generation) as server:
        by_version = _by_version(server)
        gone, run_ids = max(by_version.items(), key=lambda item: len(item[1]))
        pipeline_id = server.versions.pop(gone)["pipeline_id"]
        still_open = next(r for r in server.runs if r["run_id"] == run_ids[0])
        still_open.update(state="RUNNING", finished_at="1970-01-01T00:00:00Z")
        args = ["--workspace", tmp_path / "w.duckdb", "lineage", "snapshot", "--kfp", server.url]
        code, out, err = run_cli(*args)
        assert code == 0, err
        notes = [line for line in out.splitlines() if line.startswith("note: ") and gone in line]
        assert len(notes) == 1, out
        assert f"pipeline version {gone} of pipeline {pipeline_id} not found (HTTP 404" in notes[0]
        assert all(run_id in notes[0] for run_id in run_ids[:5]) and "split by duration" in notes[0]
        with Workspace.open(tmp_path / "w.duckdb", read_only=True) as ws:
            got = _requests_of_steps(ws)
        assert {requests for (run, _), requests in got.items() if run in run_ids} == {None}
        others = {run for runs in by_version.values() for run in runs} - set(run_ids)
        assert others and all(requests for (run, _), requests in got.items() if run in others)
        assert sum(1 for p in server.requests if p.endswith(f"/versions/{gone}")) == 1

        # Gone stays gone: not asked for again; the open run, read again, is named again (and only it).
        server.requests.clear()
        code, out, err = run_cli(*args, "--format", "json")
        assert code == 0, err
        assert not [p for p in server.requests if VERSIONS in p]
        reread = [note for note in json.loads(out)["notes"] if "pipeline version" in note]
        assert len(reread) == 1 and gone in reread[0] and reread[0].endswith(
            f"no task requests for run {run_ids[0]}: its steps split by duration")


def test_step_costs_of_a_deleted_versions_runs_are_found_by_duration(fleet, tmp_path, run_cli):
    """`costs --by step --method requests`: the steps of runs whose version answered 404 are split by duration, the
    steps of every other run (embedded spec or a version read) by requests."""
    out, data, _ = fleet
    ws = tmp_path / "w.duckdb"
    with KfpApiServer(data, "native") as server:
        by_version = _by_version(server)
        gone, run_ids = max(by_version.items(), key=lambda item: len(item[1]))
        server.versions.pop(gone)
        from_versions = {run for runs in by_version.values() for run in runs} - set(run_ids)
        code, _, err = run_cli("--workspace", ws, "lineage", "snapshot", "--kfp", server.url)
        assert code == 0, err
    code, _, err = run_cli("--workspace", ws, "billing", "load", "--billing", f"{out}/billing/*.parquet")
    assert code == 0, err
    code, text, err = run_cli("--workspace", ws, "costs", "--by", "step", "--method", "requests", "--format", "json")
    assert code == 0, err
    methods: dict[str, set] = {}
    for row in json.loads(text)["rows"]:
        if row.get("method"):
            kind = "gone" if row["run_id"] in run_ids else "version" if row["run_id"] in from_versions else "embedded"
            methods.setdefault(kind, set()).update(row["method"].split("+"))
    assert methods["gone"] == {"duration"}
    assert "requests" in methods["version"] and "requests" in methods["embedded"]


def test_a_version_answering_an_error_fails_in_one_line(fleet, tmp_path, run_cli):
    """Any other HTTP error on a version is the source's usual one-line error, naming the path (the version)."""
    _, data, _ = fleet
    with KfpApiServer(data, "native") as server:
        version_id, _ = next(iter(_by_version(server).items()))
        path = f"/apis/v2beta1/pipelines/{server.versions[version_id]['pipeline_id']}/versions/{version_id}"
        server.failing[path] = 400
        code, out, err = run_cli("--workspace", tmp_path / "w.duckdb", "lineage", "snapshot", "--kfp", server.url)
    assert code != 0 and len(err.strip().splitlines()) == 1, err
    assert f"KFP API {server.url}{path}: HTTP 400" in err
