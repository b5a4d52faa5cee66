"""The KFP API source (`aipipe lineage snapshot --kfp`): requests and seconds for a 5,000-run fleet, full and
re-run, for both API generations, against the local server that speaks the v2beta1 API
(tests/lineage/kfp_api_server.py).

The fleet is `aipipe sample`'s KFP v2 runs (DIR/kfp_api/v2beta1) cloned with fresh run, task and artifact ids
until it holds --runs runs (each clone a week later), so every run has the shape of a real one. Measured: the full
snapshot, a re-run with nothing new, and a re-run after one new run appears; budget (issue 16): a re-run makes
O(new runs) requests. task_details is read without --mlmd (artifacts by id only), as the API alone serves them.
`python -m bench.bench_kfp_api [--runs N]`.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import shutil
import sys
import time
import uuid
from pathlib import Path

from aipipe_ops.lineage.snapshot import snapshot
from aipipe_ops.lineage.sources.kfp_api import KfpTarget
from aipipe_ops.workspace import Workspace

OUT = Path(__file__).resolve().parent / "out"
ID_STRIDE = 10_000_000          # task / artifact ids of clone k: the sample's + k * ID_STRIDE


def _shift(stamp: str | None, weeks: int) -> str | None:
    if not stamp or stamp.startswith("1970"):
        return stamp
    moved = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")) + dt.timedelta(weeks=weeks)
    return moved.isoformat().replace("+00:00", "Z")


def _num(value: str, k: int) -> str:
    return str(int(value) + k * ID_STRIDE)


def _prefixed(task_id: str, run_id: str, k: int) -> str:
    # task_details task ids are "<run id prefix>-<execution id>" in the sample.
    return f"{run_id[:8]}-{_num(task_id.rsplit('-', 1)[1], k)}"


def _clone_tasks(tasks: list[dict], k: int, run_id: str) -> list[dict]:
    out = []
    for t in copy.deepcopy(tasks):
        t["run_id"] = run_id
        for key in ("create_time", "start_time", "end_time"):
            if key in t:
                t[key] = _shift(t[key], k)
        if "execution_id" in t:                                  # task_details: MLMD ids
            t["execution_id"] = _num(t["execution_id"], k)
            t["task_id"] = _prefixed(t["task_id"], run_id, k)
            if "parent_task_id" in t:
                t["parent_task_id"] = _prefixed(t["parent_task_id"], run_id, k)
            for side in ("inputs", "outputs"):
                for v in (t.get(side) or {}).values():
                    v["artifact_ids"] = [_num(a, k) for a in v["artifact_ids"]]
            for c in t.get("child_tasks", []):
                if "task_id" in c:
                    c["task_id"] = _prefixed(c["task_id"], run_id, k)
        else:                                                    # native
            t["task_id"] = _num(t["task_id"], k)
            if "parent_task_id" in t:
                t["parent_task_id"] = _num(t["parent_task_id"], k)
            for c in t.get("child_tasks", []):
                c["task_id"] = _num(c["task_id"], k)
        out.append(t)
    return out


def write_fleet(sample: Path, target: Path, runs: int) -> int:
    """Clone the sample's KFP API responses into `target` until it holds `runs` runs; returns the count."""
    src = sample / "kfp_api" / "v2beta1"
    shutil.rmtree(target, ignore_errors=True)
    (target / "task_details").mkdir(parents=True)
    (target / "native").mkdir()
    for name in ("pipelines.json", "experiments.json", "pipeline_versions.json"):   # clones share the versions
        if (src / name).exists():           # a sample written before pipeline versions has none
            shutil.copyfile(src / name, target / name)
    gen1 = json.loads((src / "task_details" / "runs.json").read_text())
    native = json.loads((src / "native" / "runs.json").read_text())
    tasks = json.loads((src / "native" / "tasks.json").read_text())
    artifacts = json.loads((src / "native" / "artifacts.json").read_text())
    edges = json.loads((src / "native" / "artifact_tasks.json").read_text())
    out: dict = {"gen1": [], "native": [], "tasks": {}, "artifacts": [], "edges": []}
    k = 0
    while len(out["native"]) < runs:
        ids = {r["run_id"]: str(uuid.uuid5(uuid.UUID(r["run_id"]), str(k))) if k else r["run_id"] for r in native}
        for kind, bodies in (("gen1", gen1), ("native", native)):
            for body in bodies[:runs - len(out[kind])]:
                body = copy.deepcopy(body)
                old = body["run_id"]
                body["run_id"] = ids[old]
                for key in ("created_at", "scheduled_at", "finished_at"):
                    body[key] = _shift(body.get(key), k)
                if kind == "gen1":
                    body["run_details"]["task_details"] = _clone_tasks(body["run_details"]["task_details"], k,
                                                                       ids[old])
                else:
                    out["tasks"][ids[old]] = _clone_tasks(tasks[old], k, ids[old])
                out[kind].append(body)
        out["artifacts"].extend(dict(a, artifact_id=_num(a["artifact_id"], k), created_at=_shift(a.get("created_at"), k))
                                for a in artifacts)
        out["edges"].extend(dict(e, run_id=ids[e["run_id"]], task_id=_num(e["task_id"], k),
                                 artifact_id=_num(e["artifact_id"], k), id=f"{e['id']}-{k}")
                            for e in edges if ids[e["run_id"]] in out["tasks"])
        k += 1
    (target / "task_details" / "runs.json").write_text(json.dumps(out["gen1"]))
    for name, key in (("runs", "native"), ("tasks", "tasks"), ("artifacts", "artifacts"),
                      ("artifact_tasks", "edges")):
        (target / "native" / f"{name}.json").write_text(json.dumps(out[key]))
    return len(out["native"])


def measure(data: Path, generation: str) -> None:
    from tests.lineage.kfp_api_server import KfpApiServer

    ws_path = OUT / f"kfp-api-{generation}.duckdb"
    ws_path.unlink(missing_ok=True)
    with KfpApiServer(data, generation) as server, Workspace.open(ws_path) as ws:
        newest = max(server.runs, key=lambda r: (r["created_at"], r["run_id"]))["run_id"]
        server.hidden = {newest}
        target = KfpTarget(server.url)
        figures = []
        for label in ("full", "no change", "one new run"):
            if label == "one new run":
                server.hidden = set()
            server.requests.clear()
            started = time.perf_counter()
            report = snapshot(ws, target, progress=False)
            figures.append((label, time.perf_counter() - started, len(server.requests), report))
    full_s = figures[0][1]
    totals = figures[-1][3].totals
    print(f"-- {generation}: {totals['runs']:,} runs, {totals['steps']:,} steps, {totals['events']:,} events")
    for label, seconds, requests, report in figures:
        ratio = f"   vs full {full_s / seconds:,.0f}x faster" if label != "full" else ""
        print(f"snapshot ({label}): {seconds:7.2f} s  {requests:,} requests "
              f"({report.rows.get('runs', 0):,} runs read){ratio}")


def main(argv: list[str] | None = None) -> None:
    from aipipe_ops.sample.generate import generate_fleet

    parser = argparse.ArgumentParser(prog="python -m bench.bench_kfp_api")
    parser.add_argument("--runs", type=int, default=5_000)
    args = parser.parse_args(argv if argv is not None else [])
    sample = OUT / "kfp-api-sample"
    if not (sample / "kfp_api").exists():
        generate_fleet(sample, runs=200, days=7, seed=7, progress=False, billing_formats="parquet", force=True)
    data = OUT / f"kfp-api-{args.runs}"
    started = time.perf_counter()
    count = write_fleet(sample, data, args.runs)
    print(f"fleet: {count:,} KFP v2 runs cloned from {sample.name} in {time.perf_counter() - started:.1f} s")
    for generation in ("task_details", "native"):
        measure(data, generation)


if __name__ == "__main__":
    main(sys.argv[1:])
