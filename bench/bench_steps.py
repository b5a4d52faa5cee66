"""Step costs by method against the truth (issue 15, docs/cost-model.md §6): the money each step cost method
(`label`, `requests`, `duration`) puts on a wrong step, in the labelled and the unlabelled period of the sample
fleet, and the time each method's split takes.

The fleet is `aipipe sample --runs 200 --days 14 --seed 5` (Parquet billing; labels from its middle day),
generated once into bench/out/steps-fleet/ and reused. Its lineage is read twice, each into a fresh workspace:
- through the KFP API responses the sample writes (kfp_api/v2beta1, native generation, served by the test server
  tests/lineage/kfp_api_server.py, as bench_kfp_api does): KFP v2 runs only, each task's requests read from the
  run's pipeline spec, so `requests` differs from `duration`;
- from the MLMD store (mlmd.sqlite): every run, but MLMD records no requests, so `requests` is `duration`.
Each then loads the billing export and attributes it (commitments `separate`, as the truth is computed); the error
of each method and period is aipipe_ops/sample/step_error.py's (Σ |attributed − true| / 2 over the period's
steps). A method's time is its split of the stored attribution's run lines over the steps (steps_by_method) plus
the step breakdown, on this machine's shared CPUs; the stored attribution (`label`) is timed as a whole too.
`python -m bench steps`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from aipipe_ops.billing.attribution.attribute import attribute
from aipipe_ops.billing.load import load_billing
from aipipe_ops.lineage.snapshot import snapshot
from aipipe_ops.lineage.sources.kfp_api import KfpTarget
from aipipe_ops.lineage.sources.pipeline_spec import REQUESTS_PROPERTY
from aipipe_ops.sample.step_error import TRUTH_POLICY, step_errors
from aipipe_ops.workspace import Workspace

OUT = Path(__file__).resolve().parent / "out"
FLEET = OUT / "steps-fleet"
RUNS, DAYS, SEED = 200, 14, 5


def _fleet() -> Path:
    if (FLEET / "ground_truth.json").exists() and (FLEET / "kfp_api").exists():
        print(f"fleet: {FLEET} (reused)")
        return FLEET
    from aipipe_ops.sample.generate import generate_fleet

    started = time.perf_counter()
    generate_fleet(FLEET, runs=RUNS, days=DAYS, seed=SEED, billing_formats="parquet", force=True, progress=False)
    print(f"fleet: {FLEET} generated in {time.perf_counter() - started:.1f} s "
          f"(aipipe sample --runs {RUNS} --days {DAYS} --seed {SEED})")
    return FLEET


def _measure(label: str, fleet: Path, truth: dict, lineage) -> None:
    path = OUT / f"steps-{label.split()[0]}.duckdb"
    path.unlink(missing_ok=True)
    with Workspace.open(path) as ws:
        started = time.perf_counter()
        lineage(ws)
        snapshot_s = time.perf_counter() - started
        started = time.perf_counter()
        load_billing(ws, str(fleet / "billing" / "*.parquet"))
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        attribute(ws, TRUTH_POLICY)
        attribute_s = time.perf_counter() - started
        runs, steps, with_requests = ws.con.execute(f"""
            SELECT (SELECT count(*) FROM runs), count(*),
                   count(*) FILTER (WHERE json_extract(properties, '$.{REQUESTS_PROPERTY}') IS NOT NULL)
            FROM steps WHERE pod_name IS NOT NULL""").fetchone()
        errors = step_errors(ws, truth)  # reuses the attribution just stored
    print(f"-- lineage {label}: {runs} runs, {steps} pod steps, {with_requests} with requests; "
          f"snapshot {snapshot_s:.2f} s, billing load {load_s:.2f} s, attribution (label, stored) {attribute_s:.2f} s")
    header = ("method", "period", "steps", "wrong USD", "of USD", "error", "split")
    print("   {:9s} {:10s} {:>5s} {:>10s} {:>9s} {:>7s} {:>7s}".format(*header))
    for e in errors:
        print(f"   {e.method:9s} {e.period:10s} {e.steps:5d} {e.wrong:10.2f} {e.total:9.2f} {e.percent:6.2f}% "
              f"{e.seconds:6.2f}s")


def main(argv: list[str] | None = None) -> None:
    fleet = _fleet()
    truth = json.loads((fleet / "ground_truth.json").read_text())
    print(f"labels from {truth['step_labels']['since']}; {len(truth['runs'])} runs, "
          f"{len(truth['step_labels']['bigquery_jobs'])} labelled BigQuery jobs")

    def through_kfp_api(ws):
        from tests.lineage.kfp_api_server import KfpApiServer

        with KfpApiServer(fleet / "kfp_api" / "v2beta1", "native") as server:
            snapshot(ws, KfpTarget(server.url), progress=False)

    def from_mlmd(ws):
        snapshot(ws, f"sqlite://{fleet / 'mlmd.sqlite'}", progress=False)

    _measure("kfp (KFP API, requests known)", fleet, truth, through_kfp_api)
    _measure("mlmd (MLMD store, no requests)", fleet, truth, from_mlmd)


if __name__ == "__main__":
    main()
