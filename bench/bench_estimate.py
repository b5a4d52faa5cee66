"""`aipipe estimate --stack prod`, end to end, as a user runs it: a fresh process that imports aipipe, runs
the Pulumi program offline under mocks, loads the price book and prints the table. Target: at most 5 s on
the team's 2-core machines.

Cold: each run gets an empty workspace folder, so the program really runs (no cached plan). Warm: the
same command again with the plan cache of the first run (plan_cache.py). Printed: wall time of each run
(median of 3), peak RSS, and ratios against baselines measured in the same run: a bare `python -c pass`
(interpreter start) and `aipipe --help` (the CLI's own imports). A breakdown measured in-process says where
the time goes (program run vs price book vs pricing). Read ratios: the machines are shared and noisy.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench._proc import PROJECT_DIR, children_peak_rss_mib, run_timed

TARGET_SECONDS = 5.0
RUNS = 3


def _timed(argv: list[str], workspace: Path | None = None) -> float:
    """Seconds for one run; `workspace` None: a new empty workspace folder (nothing cached)."""
    if workspace is None:
        with tempfile.TemporaryDirectory(prefix="bench-estimate-") as folder:
            return _timed(argv, Path(folder) / "workspace.duckdb")
    # exit code 1: prod is over its budget, only with --budget; not used here
    return run_timed(argv, env={"AIPIPE_WORKSPACE": str(workspace)}, accept=(0, 1))


def _median(argv: list[str]) -> float:
    return statistics.median(_timed(argv) for _ in range(RUNS))


def _breakdown() -> dict[str, float]:
    """Seconds spent in each step, in this process (first run: cold imports of the program's modules)."""
    timings = {}
    started = time.perf_counter()
    from aipipe_ops.pricing.estimate import estimate_resources
    from aipipe_ops.pricing.estimate_formats import render_estimate
    from aipipe_ops.pricing.price_book import PriceBook
    from aipipe_ops.pricing.targets import load_plan
    timings["imports"] = time.perf_counter() - started

    started = time.perf_counter()
    plan = load_plan("prod", PROJECT_DIR, use_cache=False)
    timings["offline program run (cold imports)"] = time.perf_counter() - started
    started = time.perf_counter()
    load_plan("prod", PROJECT_DIR, use_cache=False)
    timings["offline program run (again)"] = time.perf_counter() - started
    started = time.perf_counter()
    book = PriceBook.load()
    timings["price book load"] = time.perf_counter() - started
    started = time.perf_counter()
    estimate = estimate_resources(plan.resources, book, stack=plan.stack, plan_source=plan.source,
                                  project_dir=PROJECT_DIR)
    render_estimate(estimate, "table")
    timings["pricing + rendering"] = time.perf_counter() - started
    timings["_resources"] = len(plan.resources)
    timings["_lines"] = len(estimate.lines)
    return timings


def main() -> None:
    python = sys.executable
    aipipe = [python, "-m", "aipipe_ops"]
    interpreter = _median([python, "-c", "pass"])
    cli_help = _median(aipipe + ["--help"])
    command = aipipe + ["estimate", "--stack", "prod"]
    runs = [_timed(command) for _ in range(RUNS)]
    estimate = statistics.median(runs)
    with tempfile.TemporaryDirectory(prefix="bench-estimate-warm-") as folder:
        workspace = Path(folder) / "workspace.duckdb"
        _timed(command, workspace)  # fills the plan cache
        warm_runs = [_timed(command, workspace) for _ in range(RUNS)]
    warm = statistics.median(warm_runs)

    print(f"aipipe estimate --stack prod, cold: median {estimate:.2f} s over {RUNS} runs "
          f"({', '.join(f'{r:.2f}' for r in runs)}); target <= {TARGET_SECONDS:.1f} s: "
          f"{'OK' if estimate <= TARGET_SECONDS else 'OVER'}")
    print(f"aipipe estimate --stack prod, warm (cached plan): median {warm:.2f} s "
          f"({', '.join(f'{r:.2f}' for r in warm_runs)})")
    print(f"  cold / `python -c pass` ({interpreter:.2f} s): {estimate / interpreter:.1f}x")
    print(f"  cold / `aipipe --help` ({cli_help:.2f} s): {estimate / cli_help:.1f}x; "
          f"warm / `aipipe --help`: {warm / cli_help:.1f}x")
    print(f"  load average while measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on "
          f"{os.cpu_count()} CPUs")
    print(f"  peak RSS of the largest child process: {children_peak_rss_mib():.0f} MiB")
    timings = _breakdown()
    print(f"  in-process breakdown ({timings.pop('_resources')} planned resources, {timings.pop('_lines')} lines):")
    for step, seconds in timings.items():
        print(f"    {step:<30} {seconds:6.3f} s")


if __name__ == "__main__":
    main()
