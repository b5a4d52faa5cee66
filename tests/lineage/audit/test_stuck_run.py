import datetime as dt

from ml_metadata.proto import metadata_store_pb2 as pb

from ..builders import KfpV2Run


def _fleet(builder):
    ok = KfpV2Run(builder, "p", "run-ok")
    ok.task("a", outputs={"o": "system.Dataset"})
    bad = KfpV2Run(builder, "p", "run-failed")
    bad.task("a", outputs={"o": "system.Dataset"})
    failed, _ = bad.task("train", state=pb.Execution.FAILED)
    slow = KfpV2Run(builder, "p", "run-running")
    running, _ = slow.task("train", state=pb.Execution.RUNNING)
    return failed, running


def test_stuck_is_measured_from_the_snapshot(builder, store_path, snap, audit):
    _, running = _fleet(builder)
    snap(store_path)
    assert audit("stuck-run") == []                       # it only just started
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=30)
    [finding] = audit("stuck-run", as_of=later)
    assert finding.runs == ("run-running",) and f"train #{running} still RUNNING" in finding.evidence[-1]
    assert audit("stuck-run", as_of=later, stuck_after=dt.timedelta(hours=48)) == []
    # The root DAG is always RUNNING: it does not make a finished run stuck.
    assert all(f.runs != ("run-ok",) for f in audit("stuck-run", as_of=later))
