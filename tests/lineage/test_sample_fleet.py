"""End to end on the sample fleet (`aipipe sample`): every run, step, cache link, producer and event the
generator says it wrote (ground_truth.json) reads back from its MLMD store, and the audit finds its scenarios."""

import json

import pytest

from aipipe_ops.lineage.audit.finding import AuditContext
from aipipe_ops.lineage.audit.registry import run_audit, snapshot_time
from aipipe_ops.lineage.snapshot import snapshot
from aipipe_ops.workspace import Workspace
from .builders import sha256

generate = pytest.importorskip("aipipe_ops.sample.generate")

STATES = {"COMPLETE": "SUCCEEDED", "FAILED": "FAILED", "RUNNING": "RUNNING"}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    out = tmp_path_factory.mktemp("fleet") / "sample"
    generate.generate_fleet(out, runs=40, days=4, seed=11, progress=False)
    store = out / "mlmd.sqlite"
    before = sha256(store)
    ws = Workspace.open(out.parent / "workspace.duckdb")
    report = snapshot(ws, f"sqlite://{store}", progress=False)
    truth = json.loads((out / "ground_truth.json").read_text())
    yield ws, truth, report
    ws.close()
    assert sha256(store) == before


def test_runs(fleet):
    ws, truth, report = fleet
    assert set(report.orchestrators) == {"kfp-v2", "tfx"}
    runs = {r[0]: r[1:] for r in ws.con.execute(
        "SELECT run_id, pipeline, orchestrator, state, namespace, workflow FROM runs").fetchall()}
    assert set(runs) == set(truth["runs"])
    for run_id, expected in truth["runs"].items():
        pipeline, orchestrator, state, namespace, workflow = runs[run_id]
        assert (pipeline, orchestrator, state) == (expected["pipeline"], expected["orchestrator"],
                                                  STATES[expected["state"]]), run_id
        if orchestrator == "kfp-v2":
            assert namespace == expected["namespace"]
        else:
            assert workflow == expected["workflow"]       # TFX on KFP: the run id is the Argo workflow name


def test_steps(fleet):
    ws, truth, _ = fleet
    steps = {r[0]: r[1:] for r in ws.con.execute(
        "SELECT execution_id, run_id, step, state, cached_from, type_name FROM steps").fetchall()}
    expected = {int(e): (run_id, s) for run_id, run in truth["runs"].items() for e, s in run["steps"].items()}
    assert set(steps) == set(expected)
    for execution_id, (run_id, s) in expected.items():
        assert steps[execution_id] == (run_id, s["step"], s["state"], s["cached_from"], s["type"]), execution_id


def test_events_and_producers(fleet):
    ws, truth, _ = fleet
    events = {}
    for execution_id, artifact_id, direction, role in ws.con.execute(
            "SELECT execution_id, artifact_id, direction, role FROM events").fetchall():
        events.setdefault(execution_id, set()).add((direction, role, artifact_id))
    for run in truth["runs"].values():
        for e, s in run["steps"].items():
            cached = s["state"] == "CACHED"
            want = {("input", i["key"], i["artifact_id"]) for i in s["inputs"]}
            want |= {("reuse" if cached else "output", o["key"], o["artifact_id"]) for o in s["outputs"]}
            assert events.get(int(e), set()) == want, e
    producers = dict(ws.con.execute("SELECT artifact_id, min(execution_id) FROM lineage_producers "
                                    "GROUP BY artifact_id HAVING count(*) = 1").fetchall())
    for artifact_id, a in truth["artifacts"].items():
        if a["producer"] is not None and int(artifact_id) in producers:
            assert producers[int(artifact_id)] == a["producer"], artifact_id


def test_audit_finds_the_planted_scenarios(fleet):
    ws, truth, _ = fleet
    findings = run_audit(AuditContext(con=ws.con, as_of=snapshot_time(ws.con), check_remote=False))
    by_rule = {}
    for f in findings:
        by_rule.setdefault(f.rule, set()).update(f.runs)
    failed = {r for r, run in truth["runs"].items() if run["state"] == "FAILED"}
    running = {r for r, run in truth["runs"].items() if run["state"] == "RUNNING"}
    hotfix = {r for r, run in truth["runs"].items() if run["scenario"] == "hotfix"}
    assert failed and running and hotfix                       # the fleet promises these scenarios
    assert by_rule.get("failed-run", set()) == failed
    assert by_rule.get("stuck-run", set()) == running          # the fleet is weeks older than this snapshot
    assert by_rule.get("pushed-without-blessing", set()) == hotfix
    anomalous = {r for r, run in truth["runs"].items() if run.get("anomalies_found")}
    assert anomalous                                           # the sample records the verdict in MLMD
    assert anomalous <= by_rule.get("trained-on-anomalies", set())
    assert by_rule.get("trained-on-anomalies", set()) <= anomalous | hotfix | {
        r for r, run in truth["runs"].items() if run.get("retry_of") in anomalous}
