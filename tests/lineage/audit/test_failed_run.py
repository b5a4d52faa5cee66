from aipipe_ops.lineage.audit.finding import Severity

from ..builders import runs_in_every_state


def test_failed_run_fires_with_its_failed_step(builder, store_path, snap, audit):
    failed, _ = runs_in_every_state(builder)
    snap(store_path)
    [finding] = audit("failed-run")
    assert finding.severity == Severity.WARNING and finding.runs == ("run-failed",)
    assert f"train #{failed}" in finding.message
