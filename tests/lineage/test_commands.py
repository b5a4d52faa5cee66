"""The `aipipe lineage ...` and `aipipe audit` commands end to end (in-process), including exit statuses."""

import json

import pytest

from .scenarios import kfp_v2_cached_rerun, tfx_taxi

RUN2 = "6f1c2a1e-0000-4000-8000-000000000002"


@pytest.fixture
def loaded(builder, store_path, run_cli):
    ids = kfp_v2_cached_rerun(builder)
    taxi = tfx_taxi(builder, "taxi-refused", blessed=0)
    code, out, err = run_cli("lineage", "snapshot", "--mlmd", f"sqlite://{store_path}")
    assert code == 0, err
    return ids, taxi, out


def test_snapshot_prints_what_it_read(loaded):
    _, _, out = loaded
    assert "full copy, orchestrators: kfp-v2, tfx" in out
    assert "store calls" in out and "steps" in out


def test_snapshot_json_and_env_var(loaded, run_cli, store_path, monkeypatch):
    monkeypatch.setenv("AIPIPE_MLMD", f"sqlite://{store_path}")
    code, out, err = run_cli("lineage", "snapshot", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["full"] is False and report["totals"]["runs"] == 3 and report["store_calls"] > 0
    assert report["orchestrators"] == ["kfp-v2", "tfx"]


def test_upstream_formats(loaded, run_cli):
    ids, _, _ = loaded
    model = str(ids.artifacts["model2"])
    code, tree, _ = run_cli("lineage", "upstream", model)
    assert code == 0
    assert tree.splitlines()[0].startswith(f"model #{model} (system.Model)")
    assert "re-used via cache" in tree and "provenance: 3 executions, 3 artifacts, 2 runs" in tree
    code, out, _ = run_cli("lineage", "upstream", model, "--format", "json")
    data = json.loads(out)
    assert data["direction"] == "upstream" and data["start"] == [int(model)]
    assert {e["execution_id"] for e in data["executions"]} == {ids.executions[k] for k in ("train2", "prep1", "import1")}
    code, out, _ = run_cli("lineage", "upstream", model, "--format", "mermaid")
    assert out.startswith("flowchart LR") and f"e{ids.executions['train2']} -->|model| a{model}" in out
    code, out, _ = run_cli("lineage", "upstream", model, "--format", "dot")
    assert out.startswith('digraph "upstream"') and f"a{ids.artifacts['train']} -> e{ids.executions['train2']}" in out


def test_downstream_by_uri(loaded, run_cli):
    ids, _, _ = loaded
    code, out, err = run_cli("lineage", "downstream", "gs://data/churn/raw.csv")
    assert code == 0, err
    assert f"model #{ids.artifacts['model1']}" in out and f"model #{ids.artifacts['model2']}" in out
    assert "impact:" in out and "2 runs" in out


def test_run_and_runs(loaded, run_cli):
    ids, _, _ = loaded
    code, out, _ = run_cli("lineage", "run", RUN2)
    assert code == 0 and f"preprocess #{ids.executions['prep2']} [CACHED]  cache hit of #{ids.executions['prep1']}" in out
    code, out, _ = run_cli("lineage", "run", RUN2, "--format", "json")
    assert json.loads(out)["state"] == "SUCCEEDED"
    code, out, _ = run_cli("lineage", "runs", "--pipeline", "churn", "--format", "csv")
    lines = out.strip().splitlines()
    assert lines[0].startswith("run_id,pipeline") and len(lines) == 3
    code, _, err = run_cli("lineage", "runs", "--since", "yesterday")
    assert code == 2 and "--since 'yesterday'" in err


def test_audit_exit_status_for_ci(loaded, run_cli):
    code, out, _ = run_cli("audit")
    assert code == 1                                     # an error finding: a refused model was pushed
    assert "pushed-without-blessing" in out and "1 error," in out
    code, out, _ = run_cli("audit", "--rule", "failed-run")
    assert code == 0
    code, out, _ = run_cli("audit", "--fail-on", "never", "--format", "json")
    assert code == 0 and {f["rule"] for f in json.loads(out)} >= {"pushed-without-blessing"}
    code, _, err = run_cli("audit", "--rule", "no-such-rule")
    assert code == 2 and "no such audit rule" in err


def test_audit_list(run_cli):
    code, out, _ = run_cli("audit", "--list")
    assert code == 0
    for rule in ("pushed-without-blessing", "refused-model-pushed", "trained-on-anomalies", "failed-run",
                 "stuck-run", "missing-pod-name", "missing-uri"):
        assert rule in out


def test_queries_before_any_snapshot_say_what_to_do(run_cli):
    code, _, err = run_cli("lineage", "runs")
    assert code == 2 and "lineage snapshot" in err


def test_errors_are_one_line(run_cli, tmp_path):
    code, out, err = run_cli("lineage", "snapshot", "--mlmd", f"sqlite://{tmp_path}/missing.sqlite")
    assert code == 2 and err.count("\n") == 1 and "does not exist" in err


def test_queries_never_import_pandas(loaded):
    """Values are inlined, never bound: DuckDB's client imports pandas (0.3-0.6 s, most of a query's wall time)
    at the first bound parameter."""
    import subprocess
    import sys

    ids, _, _ = loaded
    script = f"""
import sys
from aipipe_ops.cli import main
for args in (["lineage", "upstream", "{ids.artifacts['model2']}"], ["lineage", "downstream", "gs://data/churn/raw.csv"],
             ["lineage", "run", "{RUN2}"], ["lineage", "runs", "--since", "30d", "--pipeline", "churn"],
             ["audit", "--fail-on", "never"]):
    assert main(args) == 0, args
print("pandas" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
