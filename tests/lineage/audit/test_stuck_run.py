import datetime as dt

from ..builders import runs_in_every_state


def test_stuck_is_measured_from_the_snapshot(builder, store_path, snap, audit):
    _, running = runs_in_every_state(builder)
    snap(store_path)
    assert audit("stuck-run") == []                       # it only just started
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=30)
    [finding] = audit("stuck-run", as_of=later)
    assert finding.runs == ("run-running",) and f"train #{running} still RUNNING" in finding.evidence[-1]
    assert audit("stuck-run", as_of=later, stuck_after=dt.timedelta(hours=48)) == []
    # The root DAG is always RUNNING: it does not make a finished run stuck.
    assert all(f.runs != ("run-ok",) for f in audit("stuck-run", as_of=later))
