"""Step costs split by requests (docs/cost-model.md §6): the KFP API source reads each task's requests from the
run's pipeline spec, and on the sample fleet (lineage read through `--kfp`, so KFP v2 runs only) the `requests`
split puts less money on the wrong step than `duration`, every run's steps still adding up to the run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from aipipe_ops.lineage.sources.pipeline_spec import REQUESTS_PROPERTY
from aipipe_ops.sample.step_error import direct_by_method, step_errors, truth_steps
from aipipe_ops.workspace import Workspace
from conftest import write_sample

_spec = importlib.util.spec_from_file_location(
    "kfp_api_server", Path(__file__).resolve().parents[1] / "lineage" / "kfp_api_server.py")
kfp_api_server = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kfp_api_server)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    from aipipe_ops.cli import main

    out, truth = write_sample(tmp_path_factory, days=4)
    path = tmp_path_factory.mktemp("ws") / "workspace.duckdb"
    with kfp_api_server.KfpApiServer(out / "kfp_api" / "v2beta1", "native") as server:
        assert main(["--workspace", str(path), "lineage", "snapshot", "--kfp", server.url]) == 0
    assert main(["--workspace", str(path), "billing", "load", "--billing", str(out / "billing" / "*.parquet")]) == 0
    return path, truth


def test_the_pipeline_spec_gives_every_pod_step_its_requests(loaded):
    path, truth = loaded
    pools = {int(e): s["node_pool"] for run in truth["runs"].values() for e, s in run["steps"].items()}
    with Workspace.open(path, read_only=True) as ws:
        rows = ws.con.execute(f"""
            SELECT execution_id, json_extract(properties, '$.{REQUESTS_PROPERTY}')::VARCHAR
            FROM steps WHERE pod_name IS NOT NULL""").fetchall()
    assert rows
    for execution_id, requests in rows:
        requests = json.loads(requests)
        assert requests["cpu"] > 0 and requests["memory"] > 0, execution_id
        pool = pools[execution_id]
        assert (requests["gpu"] > 0) == pool.startswith("gpu"), (execution_id, pool, requests)
        assert (requests["tpu"] > 0) == pool.startswith("tpu"), (execution_id, pool, requests)


def test_requests_put_less_money_on_the_wrong_step_than_duration(loaded, capsys):
    path, truth = loaded
    with Workspace.open(path) as ws:
        errors = {e.method: e for e in step_errors(ws, truth, ("requests", "duration")) if e.period == "unlabelled"}
        got = {method: direct_by_method(ws.con, method) for method in ("requests", "duration")}
    # every cent once: each run's steps add up to the same under both methods
    runs: dict[str, list[int]] = {}
    for e, s in truth_steps(truth).items():
        runs.setdefault(s["run_id"], []).append(e)
    for execs in runs.values():
        assert (sum(got["requests"].get(e, (0, None))[0] for e in execs)
                == sum(got["duration"].get(e, (0, None))[0] for e in execs))
    assert got["requests"] != got["duration"]
    # measured over the runs the KFP API source read (KFP v2 runs) only
    kfp_v2 = [s for s in truth_steps(truth).values()
              if not s["labelled"] and truth["runs"][s["run_id"]]["orchestrator"] == "kfp-v2"]
    assert errors["requests"].steps == errors["duration"].steps == len(kfp_v2) > 0
    assert 0 < errors["requests"].wrong < errors["duration"].wrong
    with capsys.disabled():
        for method, e in errors.items():
            print(f"\n  unlabelled step error {method:9s}: {e.wrong:.2f} of {e.total:.2f} USD ({e.percent:.2f} %)",
                  end="")
