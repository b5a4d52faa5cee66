"""`aipipe sample` throughput: billing rows/s and MLMD calls/s, against baselines measured in the same run.

Default size: `--runs 750 --days 30 --tenants 200` (about 0.8 million rows, 4 thousand executions; about a
minute). AIPIPE_BENCH_SAMPLE_FULL=1 runs `--runs 9000 --days 365 --tenants 200` (about 10 million rows and
50 thousand executions) instead. Parquet only, as a benchmark would use it.

Printed:
- end to end: the command in a fresh process (wall time, peak RSS of it and its MLMD writer child);
- billing: the export alone, in this process, in rows/s, over a yardstick that writes the same number of rows
  of a flat 3-column table with pyarrow (the floor for "write N Parquet rows");
- MLMD: the store writer alone, in calls/s, over a yardstick of bare put_executions calls into a store in the
  same directory (the floor for "one ml-metadata transaction").
Machines are shared: read the ratios, not the seconds.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench._proc import children_peak_rss_mib, run_timed

SMALL = dict(runs=750, days=30, tenants=200, seed=5)
FULL = dict(runs=9000, days=365, tenants=200, seed=5)


def _size() -> dict:
    return FULL if os.environ.get("AIPIPE_BENCH_SAMPLE_FULL") == "1" else SMALL


def end_to_end(size: dict, out: Path) -> tuple[float, float]:
    args = [sys.executable, "-m", "aipipe_ops", "sample", "--out", str(out), "--billing-format", "parquet"]
    for k, v in size.items():
        args += [f"--{k}", str(v)]
    return run_timed(args), children_peak_rss_mib()


def billing_alone(size: dict, out: Path):
    from aipipe_ops.sample.billing_export import write_billing_export
    from aipipe_ops.sample.billing_rows import BillingPricer
    from aipipe_ops.sample.fleet import build_fleet
    from aipipe_ops.sample.generate import _start_epoch
    from aipipe_ops.sample.hourly_usage import PodTable, VmTable
    from aipipe_ops.sample.placement import place_pods
    from aipipe_ops.sample.tenants import tenant_pods, tenant_workloads

    fleet = build_fleet(size["runs"], size["days"], size["seed"], _start_epoch("2026-10-01"))
    steps = list(fleet.steps())
    pods = list(fleet.pods())
    workloads = tenant_workloads(size["tenants"], size["seed"])
    others = tenant_pods(workloads, fleet.start, fleet.end, size["seed"])
    vms = place_pods(pods + others, fleet.start, fleet.end)
    vt = VmTable.build(vms)
    pricer = BillingPricer(fleet.runs, vt, len(steps), size["seed"], (fleet.start, fleet.end), workloads)
    started = time.perf_counter()
    stats = write_billing_export(out, pricer, PodTable.build(pods, {r.key: i for i, r in enumerate(fleet.runs)},
                                                             {s.key: i for i, s in enumerate(steps)}),
                                 vt, fleet.start, fleet.end, ("parquet",), PodTable.for_tenants(others))
    return stats.rows, time.perf_counter() - started, fleet


def parquet_yardstick(rows: int, days: int, out: Path) -> float:
    per_day = max(rows // days, 1)
    table = pa.table({"usage_start_time": pa.array(np.arange(per_day, dtype=np.int64) * 1_000_000,
                                                   pa.timestamp("us", tz="UTC")),
                      "sku": pa.array(np.full(per_day, "N2 Instance Core running in Americas", dtype=object)),
                      "cost": pa.array(np.random.default_rng(0).random(per_day))})
    started = time.perf_counter()
    with pq.ParquetWriter(out, table.schema) as writer:
        for _ in range(days):
            writer.write_table(table)
    return time.perf_counter() - started


def mlmd_alone(fleet, scratch: Path) -> tuple[int, float]:
    from aipipe_ops.sample.fake_clock import FakeClock
    from aipipe_ops.sample.mlmd_ops import build_store_plan
    from aipipe_ops.sample.mlmd_writer import StoreWriter

    plan = build_store_plan(fleet)
    started = time.perf_counter()
    StoreWriter(plan, str(scratch / "bench-store.sqlite"), FakeClock(None)).write()
    return len(plan.ops), time.perf_counter() - started


def mlmd_yardstick(calls: int, scratch: Path) -> float:
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    config = mlmd.ConnectionConfig()
    config.sqlite.filename_uri = str(scratch / "bare-store.sqlite")
    store = metadata_store.MetadataStore(config)
    type_id = store.put_execution_type(mlmd.ExecutionType(name="bare"))
    started = time.perf_counter()
    for _ in range(calls):
        store.put_executions([mlmd.Execution(type_id=type_id, last_known_state=mlmd.Execution.RUNNING)])
    return time.perf_counter() - started


def main() -> None:
    from aipipe_ops.sample.fake_clock import scratch_dir

    size = _size()
    print(f"size: {size}")
    with tempfile.TemporaryDirectory(prefix="bench-sample-") as tmp:
        tmp = Path(tmp)
        wall, peak = end_to_end(size, tmp / "fleet")
        import json

        summary = json.loads((tmp / "fleet" / "fleet.json").read_text())
        rows, execs = summary["counts"]["billing_rows"], summary["counts"]["executions"]
        print(f"end to end: {rows:,} billing rows, {execs:,} executions in {wall:.1f} s "
              f"({rows / wall:,.0f} rows/s), peak RSS {peak:,.0f} MB (process and its MLMD writer)")
        rows, billing_s, fleet = billing_alone(size, tmp / "billing")
        floor = parquet_yardstick(rows, size["days"], tmp / "flat.parquet")
        print(f"billing export alone: {rows / billing_s:,.0f} rows/s; {billing_s / floor:.1f}x the time pyarrow "
              f"takes to write as many flat 3-column rows ({rows / floor:,.0f} rows/s)")
        scratch = Path(tempfile.mkdtemp(prefix="bench-sample-", dir=scratch_dir() or tmp))
        try:
            calls, mlmd_s = mlmd_alone(fleet, scratch)
            bare = mlmd_yardstick(min(calls, 5000), scratch) * calls / min(calls, 5000)
            print(f"MLMD store alone (real clock): {calls / mlmd_s:,.0f} calls/s; {mlmd_s / bare:.1f}x the time of as "
                  f"many bare put_executions calls ({calls / bare:,.0f} calls/s)")
        finally:
            import shutil

            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
