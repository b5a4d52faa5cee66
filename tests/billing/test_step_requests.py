"""Step costs split by requests (docs/cost-model.md §6): the KFP API source reads each task's requests from the
run's pipeline spec, and on the sample fleet (lineage read through `--kfp`, so KFP v2 runs only) the `requests`
split puts less money on the wrong step than `duration`, every run's steps still adding up to the run."""

from __future__ import annotations

import importlib.util
import json
from decimal import Decimal
from pathlib import Path

import pytest

from aipipe_ops.billing.attribution.attribute import attribute
from aipipe_ops.billing.attribution.policies import Policy
from aipipe_ops.billing.attribution.step_methods import steps_by_method
from aipipe_ops.billing.normalise import UsageWindow
from aipipe_ops.lineage.sources.pipeline_spec import REQUESTS_PROPERTY
from aipipe_ops.workspace import Workspace

_spec = importlib.util.spec_from_file_location(
    "kfp_api_server", Path(__file__).resolve().parents[1] / "lineage" / "kfp_api_server.py")
kfp_api_server = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kfp_api_server)


def _policy() -> Policy:
    # The generator's per-step truth is the billed net cost: commitment fees are not amortized onto the steps.
    return Policy(commitments="separate") if "commitments" in Policy.__dataclass_fields__ else Policy()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    from aipipe_ops.cli import main

    out = tmp_path_factory.mktemp("fleet") / "sample"
    assert main(["sample", "--runs", "30", "--days", "4", "--seed", "11", "--out", str(out),
                 "--billing-format", "parquet", "--format", "json"]) == 0
    truth = json.loads((out / "ground_truth.json").read_text())
    path = tmp_path_factory.mktemp("ws") / "workspace.duckdb"
    with kfp_api_server.KfpApiServer(out / "kfp_api" / "v2beta1", "native") as server:
        assert main(["--workspace", str(path), "lineage", "snapshot", "--kfp", server.url]) == 0
    assert main(["--workspace", str(path), "billing", "load", "--billing", str(out / "billing" / "*.parquet")]) == 0
    return path, truth


def _truth_steps(truth: dict) -> dict[int, dict]:
    since = truth["step_labels"]["since"]
    return {int(e): dict(s, run_id=run_id, labelled=all(p["start"] >= since for p in s["pods"]))
            for run_id, run in truth["runs"].items() if not run.get("adjustments")
            for e, s in run["steps"].items() if s["pods"]}


def _direct(ws, method: str) -> dict[int, Decimal]:
    steps_by_method(ws.con, UsageWindow(), method, **({"policy": _policy()} if "commitments" in
                                                        Policy.__dataclass_fields__ else {}))
    return dict(ws.con.execute("SELECT execution_id, sum(cost) FROM att_method_step_costs "
                               "WHERE bucket = 'direct' AND execution_id IS NOT NULL GROUP BY 1").fetchall())


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
    truth_steps = _truth_steps(truth)
    with Workspace.open(path) as ws:
        attribute(ws, _policy())
        known = {r[0] for r in ws.con.execute("SELECT execution_id FROM steps").fetchall()}
        got = {method: _direct(ws, method) for method in ("requests", "duration")}
    # every cent once: each run's steps add up to the same under both methods
    runs: dict[str, list[int]] = {}
    for e, s in truth_steps.items():
        runs.setdefault(s["run_id"], []).append(e)
    for execs in runs.values():
        assert sum(got["requests"].get(e, 0) for e in execs) == sum(got["duration"].get(e, 0) for e in execs)
    assert got["requests"] != got["duration"]
    errors = {}
    for method, direct in got.items():
        steps = {e: s for e, s in truth_steps.items() if e in known and not s["labelled"]}
        wrong = sum(abs(direct.get(e, Decimal(0)) - Decimal(s["net_cost"]["USD"])) for e, s in steps.items()) / 2
        errors[method] = (wrong, sum(Decimal(s["net_cost"]["USD"]) for s in steps.values()))
    assert 0 < errors["requests"][0] < errors["duration"][0]
    with capsys.disabled():
        for method, (wrong, total) in errors.items():
            print(f"\n  unlabelled step error {method:9s}: {wrong:.2f} of {total:.2f} USD "
                  f"({100 * wrong / total:.2f} %)", end="")
