"""Lineage: snapshot time and query latency on a 50,000-execution store, against two baselines measured in the
same run on the same store:

  (a) the naive per-execution traversal through the ml-metadata API (one call per node: an execution's events,
      its artifacts, its contexts; a provenance walk asking for events one artifact / execution at a time), and
  (b) ml-metadata's own get_lineage_subgraph (direction UPSTREAM), once per model.

Budgets (issue 3): snapshot of 50k executions (~150k artifacts, ~400k events) in <= 30 s from SQLite, a few dozen
store calls per 10,000 nodes; one artifact's upstream <= 20 ms p50; every model's upstream datasets <= 2 s.
Issue 16: a re-snapshot of an unchanged store <= 1 s, one new run about what that run holds; measured on a scratch
copy of the store, to which the bench adds one KFP run through ml-metadata after the queries.
Also measured: the in-memory adjacency walk the graph module could have used instead of recursive SQL.

The store is written once into bench/out/ (bench/lineage_store.py: KFP v2 + TFX shapes through ml-metadata) and
reused. Baselines that would take minutes run on a sample and are extrapolated (printed as such).
`python -m bench.bench_lineage [--executions N] [--sample-fleet]`; `--sample-fleet` also measures a store made
by `aipipe sample` (sparser: ~1.5 artifacts and ~2.6 events per execution).
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import sys
import time
from collections import defaultdict, deque
from pathlib import Path

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

from aipipe_ops.lineage import graph
from aipipe_ops.lineage.snapshot import snapshot
from aipipe_ops.workspace import Workspace
from bench.lineage_store import add_kfp_runs, write_dense_store

OUT = Path(__file__).resolve().parent / "out"
QUERY_SAMPLE = 200          # models timed with aipipe's query
BASELINE_MODELS = 30        # models timed with each ml-metadata baseline
NAIVE_SNAPSHOT_SAMPLE = 1500


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _p50_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _store(executions: int) -> Path:
    path = OUT / f"lineage-dense-{executions}.sqlite"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".sqlite.tmp")
        tmp.unlink(missing_ok=True)
        started = time.perf_counter()
        counts = write_dense_store(tmp, executions=executions)
        tmp.rename(path)
        print(f"wrote {path.name}: {counts} in {time.perf_counter() - started:.0f} s")
    return path


def _readonly_store(path: Path) -> metadata_store.MetadataStore:
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(config)


# -- baseline (a): one call per node ------------------------------------------------------------------------------
def naive_copy(store, execution_ids: list[int]) -> int:
    """What a per-execution copy does: the execution, its events, its artifacts, its contexts. Returns calls."""
    calls = 0
    for execution_id in execution_ids:
        store.get_executions_by_id([execution_id])
        events = store.get_events_by_execution_ids([execution_id])
        if events:
            store.get_artifacts_by_id([e.artifact_id for e in events])
            calls += 1
        store.get_contexts_by_execution(execution_id)
        calls += 3
    return calls


def naive_upstream(store, artifact_id: int) -> tuple[set[int], int]:
    """Provenance by walking events one node at a time (the N+1 pattern the KFP UI and most scripts use)."""
    calls, executions, seen = 0, set(), {artifact_id}
    frontier = deque([artifact_id])
    while frontier:
        current = frontier.popleft()
        events = store.get_events_by_artifact_ids([current])
        calls += 1
        producers = [e.execution_id for e in events if e.type in (pb.Event.OUTPUT, pb.Event.DECLARED_OUTPUT)]
        for execution_id in producers:
            if execution_id in executions:
                continue
            executions.add(execution_id)
            store.get_contexts_by_execution(execution_id)       # which run it belongs to
            inputs = store.get_events_by_execution_ids([execution_id])
            calls += 2
            for e in inputs:
                if e.type in (pb.Event.INPUT, pb.Event.DECLARED_INPUT) and e.artifact_id not in seen:
                    seen.add(e.artifact_id)
                    frontier.append(e.artifact_id)
    return executions, calls


# -- baseline (b): ml-metadata's get_lineage_subgraph ------------------------------------------------------------
def mlmd_subgraph_upstream(store, artifact_id: int):
    options = pb.LineageSubgraphQueryOptions(
        starting_artifacts=pb.LineageSubgraphQueryOptions.StartingNodes(filter_query=f"id = {artifact_id}"),
        max_num_hops=100, direction=pb.LineageSubgraphQueryOptions.UPSTREAM)
    return store.get_lineage_subgraph(options)


# -- the alternative graph engine: adjacency lists in Python ------------------------------------------------------
def adjacency_index(con):
    producers, inputs = defaultdict(list), defaultdict(list)
    for artifact_id, execution_id in con.execute("SELECT artifact_id, execution_id FROM lineage_producers").fetchall():
        producers[artifact_id].append(execution_id)
    for execution_id, producer_id in con.execute("SELECT execution_id, producer_id FROM lineage_deps").fetchall():
        inputs[execution_id].append(producer_id)
    return producers, inputs


def adjacency_upstream(index, artifact_id: int) -> set[int]:
    producers, inputs = index
    seen = set(producers.get(artifact_id, ()))
    frontier = list(seen)
    while frontier:
        nxt = []
        for execution_id in frontier:
            for parent in inputs.get(execution_id, ()):
                if parent not in seen:
                    seen.add(parent)
                    nxt.append(parent)
        frontier = nxt
    return seen


def _timed_snapshot(ws, store_path: Path):
    started = time.perf_counter()
    report = snapshot(ws, f"sqlite://{store_path}", progress=False)
    return report, time.perf_counter() - started


def measure(store_path: Path, label: str) -> None:
    rng = random.Random(1)
    ws_path = OUT / f"{store_path.stem}.duckdb"
    ws_path.unlink(missing_ok=True)
    print(f"-- {label}: {store_path.name}")
    # A scratch copy: the bench adds a run to it at the end, and the store itself is reused by the next run.
    scratch = OUT / f"{store_path.stem}.scratch.sqlite"
    shutil.copyfile(store_path, scratch)
    store_path = scratch
    with Workspace.open(ws_path) as ws:
        report, full_s = _timed_snapshot(ws, store_path)
        totals = report.totals
        nodes = totals["steps"] + totals["artifacts"] + report.rows.get("contexts", 0)
        again, incremental_s = _timed_snapshot(ws, store_path)
        time.sleep(2.1)     # past the margin a writer's late commit could still fall in (mlmd_source._settled_ms)
        settled, settled_s = _timed_snapshot(ws, store_path)
        con = ws.con
        models = [r[0] for r in con.execute("SELECT artifact_id FROM artifacts WHERE kind = 'model' "
                                            "ORDER BY artifact_id").fetchall()]
        sample = rng.sample(models, min(QUERY_SAMPLE, len(models)))
        graph.upstream_executions(con, sample[:3])                         # warm the connection
        ours = []
        for model in sample:
            t0 = time.perf_counter()
            graph.upstream_executions(con, [model])
            ours.append(time.perf_counter() - t0)
        sub = []
        for model in sample[:50]:
            t0 = time.perf_counter()
            graph.subgraph(con, [model], "upstream")
            sub.append(time.perf_counter() - t0)
        datasets = [r[0] for r in con.execute("SELECT artifact_id FROM artifacts WHERE kind = 'dataset' "
                                              "ORDER BY artifact_id").fetchall()]
        down = []
        for dataset in rng.sample(datasets, min(50, len(datasets))):
            t0 = time.perf_counter()
            graph.subgraph(con, [dataset], "downstream")
            down.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        bulk = graph.upstream_artifacts(con, kind="model", upstream_kinds=("dataset",))
        bulk_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        bulk_exec = graph.upstream_executions_of_kind(con, "model")
        bulk_exec_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        index = adjacency_index(con)
        index_s = time.perf_counter() - t0
        adj = []
        for model in sample:
            t0 = time.perf_counter()
            adjacency_upstream(index, model)
            adj.append(time.perf_counter() - t0)
        execution_ids = [r[0] for r in con.execute("SELECT execution_id FROM steps ORDER BY execution_id").fetchall()]
        added = add_kfp_runs(store_path, runs=1)
        one_run, one_run_s = _timed_snapshot(ws, store_path)

    store = _readonly_store(store_path)
    naive_sample = rng.sample(execution_ids, min(NAIVE_SNAPSHOT_SAMPLE, len(execution_ids)))
    t0 = time.perf_counter()
    naive_calls = naive_copy(store, naive_sample)
    naive_copy_s = (time.perf_counter() - t0) * len(execution_ids) / len(naive_sample)
    naive_calls = naive_calls * len(execution_ids) // len(naive_sample)
    baseline_models = sample[:BASELINE_MODELS]
    naive_q, naive_q_calls = [], []
    for model in baseline_models:
        t0 = time.perf_counter()
        _, calls = naive_upstream(store, model)
        naive_q.append(time.perf_counter() - t0)
        naive_q_calls.append(calls)
    subgraph_q = []
    for model in baseline_models:
        t0 = time.perf_counter()
        mlmd_subgraph_upstream(store, model)
        subgraph_q.append(time.perf_counter() - t0)
    all_models_subgraph_s = statistics.mean(subgraph_q) * len(models)

    print(f"store: {totals['steps']:,} executions, {totals['artifacts']:,} artifacts, {totals['events']:,} events, "
          f"{totals['runs']:,} runs, {len(models):,} models")
    print(f"snapshot (full):        {full_s:6.1f} s  {report.store_calls:,} store calls "
          f"({report.store_calls / nodes * 10000:.1f} per 10,000 nodes)  "
          f"{(totals['steps'] + totals['artifacts'] + totals['events']) / full_s:,.0f} rows/s   budget 30 s")
    print(f"snapshot (no change):   {incremental_s:6.2f} s  {again.store_calls:,} store calls (first re-run: lists "
          f"the last 2 s of updates again, once)   budget 1 s   vs full {full_s / incremental_s:,.0f}x faster")
    print(f"snapshot (no change, margin settled): {settled_s:6.2f} s  {settled.store_calls:,} store calls   budget 1 s")
    print(f"snapshot (one new run): {one_run_s:6.2f} s  {one_run.store_calls:,} store calls, read "
          f"{one_run.rows.get('executions', 0)} executions, {one_run.rows.get('artifacts', 0)} artifacts, "
          f"{one_run.rows.get('events', 0)} events (the run holds {added['executions']}, {added['artifacts']}, "
          f"{added['events']})   vs full {full_s / one_run_s:,.0f}x faster")
    print(f"  baseline (a) naive per-execution copy: {naive_copy_s:6.1f} s, {naive_calls:,} calls "
          f"(extrapolated from {len(naive_sample):,} executions)   ratio {naive_copy_s / full_s:.1f}x, "
          f"calls {naive_calls / report.store_calls:,.0f}x")
    print(f"upstream of one model, p50: {_p50_ms(ours):7.2f} ms (p95 {sorted(ours)[int(len(ours) * .95)] * 1000:.2f} ms,"
          f" {len(sample)} models)   budget 20 ms")
    print(f"  with details for display (subgraph, what `lineage upstream` prints) p50: {_p50_ms(sub):7.2f} ms")
    print(f"downstream of one dataset with details p50: {_p50_ms(down):7.2f} ms")
    print(f"  baseline (a) naive API walk p50:       {_p50_ms(naive_q):7.2f} ms "
          f"({statistics.median(naive_q_calls):.0f} calls)   ratio {_p50_ms(naive_q) / _p50_ms(ours):.0f}x")
    print(f"  baseline (b) get_lineage_subgraph p50: {_p50_ms(subgraph_q):7.2f} ms   "
          f"ratio {_p50_ms(subgraph_q) / _p50_ms(ours):.0f}x")
    print(f"  alternative: in-memory adjacency walk p50 {_p50_ms(adj):.3f} ms after building the index "
          f"in {index_s * 1000:.0f} ms (per process)")
    print(f"every model's upstream datasets at once: {bulk_s:6.2f} s ({len(bulk):,} pairs)   budget 2 s")
    print(f"  every model's upstream executions (billing's bulk form): {bulk_exec_s:6.2f} s ({len(bulk_exec):,} rows)")
    print(f"  baseline (b) get_lineage_subgraph per model: {all_models_subgraph_s:6.1f} s "
          f"(extrapolated from {len(baseline_models)} models)   ratio {all_models_subgraph_s / bulk_s:.0f}x")
    print(f"peak RSS {_peak_rss_mb():,.0f} MB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_lineage")
    parser.add_argument("--executions", type=int, default=50_000)
    parser.add_argument("--sample-fleet", action="store_true", help="also measure a store made by aipipe sample")
    args = parser.parse_args(argv if argv is not None else [])
    with open("/proc/loadavg") as f:
        print(f"load average at start: {f.read().split()[0]} on {len(__import__('os').sched_getaffinity(0))} cores")
    measure(_store(args.executions), f"dense store, {args.executions:,} executions")
    if args.sample_fleet:
        from aipipe_ops.sample.generate import generate_fleet

        out = OUT / "sample-fleet"
        if not (out / "mlmd.sqlite").exists():
            runs = max(60, args.executions // 5)
            generate_fleet(out, runs=runs, days=max(5, runs // 300), seed=7, progress=False,
                           billing_formats="parquet", force=True)
        measure(out / "mlmd.sqlite", "sample fleet")


if __name__ == "__main__":
    main(sys.argv[1:])
