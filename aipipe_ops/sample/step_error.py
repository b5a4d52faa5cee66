"""Money on the wrong step, per step cost method, against the sample fleet's ground truth (issue 15,
docs/cost-model.md §6).

Given a workspace holding the sample's lineage and billing and the sample's ground_truth.json: attribute once
(commitments `separate`: the generator's per-step truth is the billed net cost), split the stored attribution's run
lines over the steps again by each method (`label`, `requests`, `duration`: step_methods.steps_by_method, read
through breakdown's step view as `aipipe costs --by step --method` does), and compare each step's direct cost with
the generator's. A step is *labelled* when every pod of it started on or after the day the pod cost-label policy
arrived (ground_truth.json `step_labels.since`); the others are the *unlabelled* period, split by time.

The error of a period is Σ |attributed − true| / 2 over its steps: the money put on a wrong step (every run's
steps add up to the run whatever the method, so what one step gains another loses). Measured are the steps that
ran a pod, of runs the lineage holds (the KFP API source reads KFP v2 runs only) and the generator did not
correct (a usage adjustment of a run is no step's).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

import duckdb

from aipipe_ops.billing.attribution.attribute import attribute
from aipipe_ops.billing.attribution.policies import Policy
from aipipe_ops.billing.attribution.step_methods import steps_by_method
from aipipe_ops.billing.attribution.steps import METHODS
from aipipe_ops.billing.breakdowns import breakdown
from aipipe_ops.billing.normalise import UsageWindow
from aipipe_ops.workspace import Workspace

PERIODS = ("labelled", "unlabelled")
# The policy the generator's per-step truth is computed under: commitment fees are not amortised onto steps.
TRUTH_POLICY = Policy(commitments="separate")

__all__ = ["METHODS", "PERIODS", "StepError", "TRUTH_POLICY", "direct_by_method", "period_error", "step_errors",
           "stored_direct", "truth_steps"]


@dataclass(frozen=True)
class StepError:
    """The money `method` put on a wrong step in one period, of `total` truly spent by its `steps` steps;
    `seconds`: the time the method's split took (steps_by_method + the step breakdown)."""

    method: str
    period: str
    wrong: Decimal
    total: Decimal
    steps: int
    seconds: float

    @property
    def percent(self) -> Decimal:
        return 100 * self.wrong / self.total if self.total else Decimal(0)


def truth_steps(truth: dict, runs: set[str] | None = None) -> dict[int, dict]:
    """execution id -> the generator's step (with its `run_id` and whether it ran wholly `labelled`), for steps
    that ran a pod, of runs without adjustments (and, given `runs`, among them)."""
    since = truth["step_labels"]["since"]
    out = {}
    for run_id, run in truth["runs"].items():
        if run.get("adjustments") or (runs is not None and run_id not in runs):
            continue
        for exec_id, step in run["steps"].items():
            if step["pods"]:
                out[int(exec_id)] = dict(step, run_id=run_id,
                                         labelled=all(p["start"] >= since for p in step["pods"]))
    return out


def direct_by_method(con: duckdb.DuckDBPyConnection, method: str,
                     window: UsageWindow | None = None) -> dict[int, tuple[Decimal, str | None]]:
    """execution id -> (direct cost, how it was found: `label`, `duration+requests`, ...) of the stored
    attribution's run lines split over the steps by `method` (nothing stored changes)."""
    tables = steps_by_method(con, window or UsageWindow(), method)
    return _direct(breakdown(con, "step", **tables)[0])


def stored_direct(con: duckdb.DuckDBPyConnection) -> dict[int, tuple[Decimal, str | None]]:
    """direct_by_method's answer for the stored attribution (method `label`: what `aipipe costs --by step` shows)."""
    return _direct(breakdown(con, "step")[0])


def _direct(rows: list[dict]) -> dict[int, tuple[Decimal, str | None]]:
    return {r["execution_id"]: (r["direct"], r["method"]) for r in rows
            if r["class"] == "step" and r.get("execution_id") is not None}


def period_error(steps: dict[int, dict], direct: dict[int, tuple[Decimal, str | None]],
                 labelled: bool) -> tuple[Decimal, Decimal, int]:
    """(money on a wrong step, money truly spent, steps) over the steps of one period."""
    wrong = total = Decimal(0)
    count = 0
    for exec_id, step in steps.items():
        if step["labelled"] != labelled:
            continue
        true = Decimal(step["net_cost"]["USD"])
        wrong += abs(direct.get(exec_id, (Decimal(0), None))[0] - true)
        total += true
        count += 1
    return wrong / 2, total, count


def step_errors(ws: Workspace, truth: dict, methods: tuple[str, ...] = METHODS) -> list[StepError]:
    """Attribute `ws` under TRUTH_POLICY, then each method's error in each period (method by method, labelled
    first)."""
    attribute(ws, TRUTH_POLICY)
    runs = {r for (r,) in ws.con.execute("SELECT run_id FROM runs").fetchall()}
    steps = truth_steps(truth, runs)
    out = []
    for method in methods:
        started = time.perf_counter()
        direct = direct_by_method(ws.con, method)
        seconds = time.perf_counter() - started
        for period in PERIODS:
            wrong, total, count = period_error(steps, direct, period == "labelled")
            out.append(StepError(method, period, wrong, total, count, seconds))
    return out
