"""Exact step costs (issue 15, docs/cost-model.md §6) on the sample fleet: from the day the pod cost-label policy is
installed, every step's direct cost is the generator's to the cent, the BigQuery jobs a step launched land on it,
and each step says how its cost was found; before that day the time split's error against the truth is measured."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aipipe_ops.billing.attribution.attribute import attribute
from aipipe_ops.sample.step_error import (TRUTH_POLICY, direct_by_method, period_error, step_errors, stored_direct,
                                          truth_steps)
from aipipe_ops.workspace import Workspace
from conftest import load_sample, write_sample

CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    out, truth = write_sample(tmp_path_factory, days=4)
    return load_sample(tmp_path_factory, out), truth


def _step_rows(path, method: str) -> dict[int, tuple[Decimal, str | None]]:
    with Workspace.open(path) as ws:
        attribute(ws, TRUTH_POLICY)
        if method == "label":
            stored = stored_direct(ws.con)
            assert stored == direct_by_method(ws.con, "label")  # the stored split is what step_error measures
            return stored
        return direct_by_method(ws.con, method)


def test_labelled_steps_cost_what_the_generator_put_in_to_the_cent(loaded):
    path, truth = loaded
    steps = truth_steps(truth)
    direct = _step_rows(path, "label")
    labelled = {e: s for e, s in steps.items() if s["labelled"]}
    assert len(labelled) >= 20  # the labelled period holds enough steps to mean something
    for exec_id, step in labelled.items():
        cost, method = direct.get(exec_id, (Decimal(0), None))
        true = Decimal(step["net_cost"]["USD"])
        assert abs(cost - true) < CENT, (exec_id, step["step"], cost, true)
        # (rows whose usage the pods' parts do not wholly cover keep no step label: fractions of a cent)
        assert cost == 0 or "label" in method.split("+"), (exec_id, method)
    # The unlabelled period falls back to the time split, and says so (a step alive across the day the policy
    # arrived has both).
    before = {m for e, (c, m) in direct.items() if e in steps and not steps[e]["labelled"] and c}
    assert "duration" in before and before <= {"duration", "duration+label"}


def test_the_bigquery_jobs_land_on_the_step_that_launched_them(loaded):
    path, truth = loaded
    jobs = truth["step_labels"]["bigquery_jobs"]
    assert jobs
    with Workspace.open(path) as ws:
        attribute(ws, TRUTH_POLICY)
        lines = ws.con.execute(
            "SELECT run_id, step_label, sum(net_cost) FROM cost_lines WHERE service = 'BigQuery' GROUP BY ALL"
        ).fetchall()
        assert len(lines) == len({(j["labels"]["aipipe-run"], j["step"]) for j in jobs})
        for run_id, step_label, amount in lines:
            (on_step,) = ws.con.execute(
                "SELECT sum(m.cost) FROM step_cost_methods m JOIN steps s USING (execution_id) "
                "WHERE m.run_id = ? AND lower(s.step) = ? AND m.method = 'label'", [run_id, step_label]).fetchone()
            assert on_step >= amount > 0  # the job's money is inside its step's labelled money


@pytest.mark.parametrize("method", ["requests", "duration"])
def test_other_methods_move_money_between_steps_not_out_of_runs(loaded, method):
    path, truth = loaded
    label = _step_rows(path, "label")
    other = _step_rows(path, method)
    runs = {}
    for exec_id, step in truth_steps(truth).items():
        runs.setdefault(step["run_id"], []).append(exec_id)
    for run_id, execs in runs.items():
        assert sum(label.get(e, (0, None))[0] for e in execs) == sum(other.get(e, (0, None))[0] for e in execs)
    wrong, total, _ = period_error(truth_steps(truth), other, labelled=True)
    assert wrong > 0  # without labels the time split puts money on the wrong step


def test_measured_error_by_method(loaded, capsys):
    """The figures of docs/cost-model.md §6: money on the wrong step, per period and method (aipipe_ops/sample/
    step_error.py, which `python -m bench steps` prints for a larger fleet)."""
    path, truth = loaded
    with Workspace.open(path) as ws:
        report = {(e.method, e.period): e for e in step_errors(ws, truth)}
    assert set(report) == {(m, p) for m in ("label", "requests", "duration") for p in ("labelled", "unlabelled")}
    assert report[("label", "labelled")].wrong < CENT * report[("label", "labelled")].steps
    assert report[("duration", "labelled")].wrong > 0  # without labels the time split puts money on the wrong step
    with capsys.disabled():
        for (method, period), e in report.items():
            print(f"\n  step error {method:9s} {period:10s}: {e.wrong:.2f} of {e.total:.2f} USD ({e.percent:.2f} %)",
                  end="")


def test_a_stuck_step_is_charged_for_the_hours_its_pod_holds(loaded):
    """The sample's stuck llm-finetune run: finetune is still RUNNING (last update = its start) while its GPU pod
    runs on; the time split charges it until the run's last hour, not 0.00 with its cost on the step before."""
    path, truth = loaded
    stuck = {e: s for e, s in truth_steps(truth).items()
             if s["state"] == "RUNNING" and Decimal(s["net_cost"]["USD"]) > 100 * CENT}
    assert stuck  # the fleet always holds a stuck run (fleet.py FORCED)
    direct = _step_rows(path, "duration")
    for exec_id, step in stuck.items():
        true = Decimal(step["net_cost"]["USD"])
        assert abs(direct.get(exec_id, (Decimal(0), None))[0] - true) < true / 4, (exec_id, step["step"], true)
