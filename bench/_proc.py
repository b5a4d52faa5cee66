"""What the benches share for timing a command in a fresh process (not a bench: the runner runs bench_* only)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]

# Peak RSS (KiB, as Linux's ru_maxrss counts) of the last process run_timed ran, from that process's own rusage.
_last_peak_kib: int | None = None


def run_timed(argv: list[str], env: dict[str, str] | None = None, accept: tuple[int, ...] = (0,)) -> float:
    """Wall seconds of `argv` run in the project directory, its output discarded, without progress bars.

    `env` is added to this process's environment; an exit code outside `accept` raises RuntimeError."""
    global _last_peak_kib
    env = {**os.environ, "AIPIPE_NO_PROGRESS": "1", **(env or {})}
    started = time.perf_counter()
    with subprocess.Popen(argv, cwd=PROJECT_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env) as proc:
        # stderr is read to the end first (a full pipe would block the child), then the child is reaped with
        # wait4, whose rusage is this child's own (and its waited-for children's), not every child's so far.
        stderr = proc.stderr.read().decode(errors="replace")
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    _last_peak_kib = usage.ru_maxrss
    if proc.returncode not in accept:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {stderr.strip()}")
    return elapsed


def children_peak_rss_mib() -> float:
    """Peak RSS, in MiB, of the last command run_timed ran (with the processes it waited for), measured on its own:
    RUSAGE_CHILDREN would give the maximum over every child this bench ever ran (the pandas baseline's, say)."""
    if _last_peak_kib is None:
        raise RuntimeError("children_peak_rss_mib: no command was run by run_timed yet")
    return _last_peak_kib / 1024
