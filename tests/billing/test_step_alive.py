"""A step still RUNNING (or NEW) is alive until its run ended, not until its last update (docs/cost-model.md §6):
KFP's launcher writes a step's end only when it finishes, so a stuck step's updated_at is its start."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from aipipe_ops.billing.attribution.attribute import attribute
from aipipe_ops.billing.attribution.step_methods import steps_by_method
from aipipe_ops.billing.load import load_billing
from aipipe_ops.billing.normalise import UsageWindow
from conftest import insert_runs, insert_steps, utc
from export_rows import gke_labels, row, write_parquet

H = utc(2026, 3, 2, 10)
MIN = dt.timedelta(minutes=1)


def core(hour: int, cost: float):
    return row(start=H + dt.timedelta(hours=hour), sku="N2 Instance Core running in Americas", cost=cost,
               labels=gke_labels(pool="p", namespace="n", run="r1"))


def stuck_run(ws, tmp_path, *, state: str, finished_at=None) -> None:
    """prepare ran 10:00-10:30; train started at 10:30 and is still RUNNING (updated_at = its start); 6.00 an hour
    of the run's CPU for three hours."""
    insert_runs(ws, [{"run_id": "r1", "pipeline": "p", "state": state}])
    ws.con.execute("UPDATE runs SET finished_at = ? WHERE run_id = 'r1'", [finished_at])
    insert_steps(ws, [
        {"execution_id": 1, "run_id": "r1", "step": "prepare", "created_at": H, "updated_at": H + 30 * MIN},
        {"execution_id": 2, "run_id": "r1", "step": "train", "created_at": H + 30 * MIN, "updated_at": H + 30 * MIN},
    ])
    ws.con.execute("UPDATE steps SET pod_name = 'pod-' || step, state = CASE step WHEN 'train' THEN 'RUNNING' "
                   "ELSE 'COMPLETE' END")
    load_billing(ws, str(write_parquet([core(0, 6.0), core(1, 6.0), core(2, 6.0)], tmp_path / "e.parquet")))


def step_costs(ws, method: str) -> dict[str, Decimal]:
    if method == "label":
        return dict(ws.con.execute("SELECT step, sum(cost) FROM step_costs GROUP BY 1").fetchall())
    steps_by_method(ws.con, UsageWindow(), method)
    return dict(ws.con.execute("SELECT step, sum(cost) FROM att_method_step_costs GROUP BY 1").fetchall())


@pytest.mark.parametrize("method", ["label", "requests", "duration"])
def test_a_stuck_step_of_an_active_run_is_alive_until_the_runs_last_hour(workspace, tmp_path, method):
    stuck_run(workspace, tmp_path, state="RUNNING")
    attribute(workspace)
    got = step_costs(workspace, method)
    # 10:00 prepare 30 min, train 30 min: 3 : 3; 11:00 and 12:00 only train is alive (before: none was, and the
    # whole 12.00 went to prepare by whole duration, train's being 0 seconds).
    assert got == {"prepare": Decimal(3), "train": Decimal(15)}
    assert sum(got.values()) == Decimal(18)


def test_a_stuck_step_of_a_finished_run_is_alive_until_the_run_finished(workspace, tmp_path):
    stuck_run(workspace, tmp_path, state="FAILED", finished_at=H + 90 * MIN)
    attribute(workspace)
    got = step_costs(workspace, "duration")
    # 10:00 3 : 3; 11:00 train alone; 12:00 no step alive (the run finished at 11:30): by whole duration 30 : 60.
    assert got == {"prepare": Decimal(3) + Decimal(2), "train": Decimal(3) + Decimal(6) + Decimal(4)}


def test_a_finished_step_keeps_its_own_end(workspace, tmp_path):
    stuck_run(workspace, tmp_path, state="RUNNING")
    workspace.con.execute("UPDATE steps SET state = 'FAILED' WHERE step = 'train'")
    attribute(workspace)
    got = step_costs(workspace, "duration")
    # train ended when it started (0 seconds): 10:00 goes to prepare, later hours by whole duration too.
    assert got == {"prepare": Decimal(18), "train": Decimal(0)} or got == {"prepare": Decimal(18)}
