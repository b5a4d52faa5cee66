"""Where a `billing load` spends its time: every statement the load (and, with --attribute, the attribution) runs
on the workspace connection, timed one by one, with the process's peak RSS. A profiling aid for
bench_billing.py's figures (docs/billing.md "Performance"), not a benchmark with a target.

    python -m bench.billing_load_steps [--small] [--attribute] [--operators] [--memory-limit 1.5GB]

Uses the bench's fleet (bench/out/billing-10m, or billing-small with --small) and a workspace holding its lineage
snapshot (taken once into bench/out/, untimed). --operators also lists, for each statement of a second or more,
its costliest operators (DuckDB's profiler: seconds in the operator summed over threads, rows out);
--memory-limit replaces the DuckDB memory cap of billing connections (load.MEMORY_LIMIT) for this run.
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._proc import PROJECT_DIR


class TimedConnection:
    """A DuckDB connection whose execute() records (statement with its process CPU seconds and the peak RSS so far,
    seconds, operators). CPU seconds are the steadier figure on a shared machine."""

    def __init__(self, con, log: list, profile_dir: Path | None = None):
        self._con, self._log, self._profile_dir = con, log, profile_dir

    def execute(self, sql, *args, **kwargs):
        profile = None
        if self._profile_dir and not str(sql).lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SET")):
            profile = self._profile_dir / f"{len(self._log)}.json"
            self._con.execute(f"SET enable_profiling = 'json'; SET profiling_output = '{profile}'")
        started, cpu = time.perf_counter(), time.process_time()
        out = self._con.execute(sql, *args, **kwargs)
        if profile:
            out = _Fetched(out.fetchall())
            self._con.execute("PRAGMA disable_profiling")
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
        self._log.append((f"{' '.join(str(sql).split())[:70]} [CPU {cpu:.2f} s, peak RSS {peak:.2f} GB]", seconds,
                          _operators(profile) if seconds >= 1 else []))
        return out

    def __getattr__(self, name):
        return getattr(self._con, name)


class _Fetched:
    def __init__(self, rows):
        self.rows = rows

    def fetchall(self):
        return self.rows

    def fetchone(self):
        return self.rows[0] if self.rows else None


def _operators(profile: Path | None, top: int = 6) -> list[tuple[float, str, int]]:
    """(CPU seconds, operator, rows) of the costliest operators in a DuckDB JSON profile."""
    import json

    if not profile or not profile.exists():
        return []
    found = []

    def walk(node):
        if "operator_name" in node:
            found.append((node.get("operator_timing", 0.0), node["operator_name"], node.get("operator_cardinality", 0)))
        for child in node.get("children", []):
            walk(child)

    walk(json.loads(profile.read_text()))
    return sorted(found, reverse=True)[:top]


class _Unused:
    def execute(self, sql, *args, **kwargs):
        raise NotImplementedError

def _lineage_template(fleet: Path) -> Path:
    template = PROJECT_DIR / "bench" / "out" / f"{fleet.name}-lineage.duckdb"
    if not template.exists():
        subprocess.run([sys.executable, "-m", "aipipe_ops", "--workspace", str(template), "lineage", "snapshot",
                        "--mlmd", f"sqlite:///{fleet}/mlmd.sqlite"], check=True, cwd=PROJECT_DIR,
                       stdout=subprocess.DEVNULL)
    return template


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--attribute", action="store_true")
    parser.add_argument("--operators", action="store_true")
    parser.add_argument("--memory-limit", help="DuckDB memory_limit of billing connections for this run (e.g. 1.2GB)")
    args = parser.parse_args(argv)

    from aipipe_ops.billing import load
    from aipipe_ops.workspace import Workspace

    fleet = PROJECT_DIR / "bench" / "out" / ("billing-small" if args.small else "billing-10m")
    spec = str(fleet / "billing" / "*.parquet")
    log: list = []
    with tempfile.TemporaryDirectory(prefix="billing-steps-") as tmp:
        workspace = Path(tmp) / "ws.duckdb"
        shutil.copy(_lineage_template(fleet), workspace)
        ws = Workspace.open(workspace)
        if args.memory_limit:
            load.MEMORY_LIMIT = args.memory_limit
        ws.con = TimedConnection(ws.con, log, Path(tmp) if args.operators else None)
        started = time.perf_counter()
        summary = load.load_billing(ws, spec)
        loaded = time.perf_counter()
        if args.attribute:
            from aipipe_ops.billing.attribution.attribute import attribute
            from aipipe_ops.billing.attribution.policies import Policy

            log.append(("-- attribution --", 0.0, []))
            attribute(ws, Policy(idle="share", shared="weighted"))
        attributed = time.perf_counter()
        ws.close()
        closed = time.perf_counter()
    print(f"{summary.export_rows:,} export rows -> {summary.cost_lines:,} cost lines")
    for text, seconds, operators in log:
        if seconds >= 0.02 or text.startswith("--"):
            print(f"{seconds:8.2f} s  {re.sub(r'SELECT .{60,}', 'SELECT ...', text)}")
        for cpu, name, rows in operators:
            print(f"{'':12}{cpu:7.2f} s  {name} ({rows:,} rows)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    print(f"process CPU {time.process_time():.2f} s; load {loaded - started:.2f} s, attribute "
          f"{attributed - loaded:.2f} s, close {closed - attributed:.2f} s; peak RSS {peak:.2f} GB")


if __name__ == "__main__":
    main()
