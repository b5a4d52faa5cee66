import datetime as dt

from aipipe_ops.lineage.audit.finding import Severity
from ..scenarios import kfp_v2_release

RULE = "cost-anomaly"


def _fleet(builder, store_path, snap, workspace, costs):
    runs = [f"run-{i}" for i in range(len(costs))]
    for run in runs:
        kfp_v2_release(builder, run)
    snap(store_path)
    # run_costs is billing's attribution result; written here as billing writes it (the rule reads it by SQL).
    for run, cost in zip(runs, costs):
        workspace.con.execute(f"INSERT INTO run_costs (run_id, pipeline, bucket, resource_kind, cost, currency) "
                              f"VALUES ('{run}', 'llm', 'direct', 'gpu', {cost}, 'USD'), "
                              f"('{run}', 'llm', 'idle_share', 'cpu', 1, 'USD')")
    return runs


def test_quiet_on_usual_runs(builder, store_path, snap, workspace, audit):
    _fleet(builder, store_path, snap, workspace, [10, 12, 11, 13])
    assert audit(RULE) == []


def test_fires_for_a_run_costing_k_times_the_median(builder, store_path, snap, workspace, audit):
    runs = _fleet(builder, store_path, snap, workspace, [10, 12, 11, 80])
    [finding] = audit(RULE)
    assert finding.runs == (runs[-1],) and "81.00 USD" in finding.message and "threshold 3x" in finding.message
    assert audit(RULE, cost_factor=10) == []


def test_fires_for_a_step_running_far_past_its_usual_and_notes_missing_costs(builder, store_path, snap, workspace,
                                                                             audit):
    for i in range(4):
        kfp_v2_release(builder, f"run-{i}")
    snap(store_path)
    [note] = audit(RULE)                                # no run costs: said once, as info
    assert note.severity == Severity.INFO and "not checked" in note.message
    # MLMD stamps times itself: stretch one train step as a 5-hour run would have recorded it.
    slow = workspace.con.execute("SELECT execution_id FROM steps WHERE run_id = 'run-3' AND step = 'train'").fetchone()[0]
    workspace.con.execute(f"UPDATE steps SET updated_at = created_at + INTERVAL 5 HOUR WHERE execution_id = {slow}")
    findings = [f for f in audit(RULE) if f.severity == Severity.WARNING]
    assert [f.subject for f in findings] == [f"execution {slow}"] and "ran 5.0 h" in findings[0].message
