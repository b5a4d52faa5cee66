from ml_metadata.proto import metadata_store_pb2 as pb

from aipipe_ops.lineage.audit.finding import Severity
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


def test_failed_run_fires_with_its_failed_step(builder, store_path, snap, audit):
    failed, _ = _fleet(builder)
    snap(store_path)
    [finding] = audit("failed-run")
    assert finding.severity == Severity.WARNING and finding.runs == ("run-failed",)
    assert f"train #{failed}" in finding.message
