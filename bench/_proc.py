"""What the benches share for timing a command in a fresh process (not a bench: the runner runs bench_* only)."""

from __future__ import annotations

import os
import resource
import subprocess
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]


def run_timed(argv: list[str], env: dict[str, str] | None = None, accept: tuple[int, ...] = (0,)) -> float:
    """Wall seconds of `argv` run in the project directory, its output discarded, without progress bars.

    `env` is added to this process's environment; an exit code outside `accept` raises RuntimeError."""
    env = {**os.environ, "AIPIPE_NO_PROGRESS": "1", **(env or {})}
    started = time.perf_counter()
    completed = subprocess.run(argv, cwd=PROJECT_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env=env)
    elapsed = time.perf_counter() - started
    if completed.returncode not in accept:
        raise RuntimeError(f"{' '.join(argv)} failed ({completed.returncode}): {completed.stderr.strip()}")
    return elapsed


def children_peak_rss_mib() -> float:
    """Peak RSS, in MiB, of the largest process among the children waited for so far and their own children."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
