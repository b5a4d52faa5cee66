from ml_metadata.proto import metadata_store_pb2 as pb

from ..builders import KfpV1Run, KfpV2Run, TfxRun

RULE = "missing-pod-name"


def test_fires_for_executions_that_ran_without_a_pod_name(builder, store_path, snap, audit):
    run = KfpV2Run(builder, "p", "run-v2")
    lost, _ = run.task("train", pod=False)
    run.task("ok")
    run.task("cache-hit", state=pb.Execution.CACHED, pod=False)     # no pod ran: not a gap
    run.task("skipped", state=pb.Execution.CANCELED, pod=False)     # condition false: not a gap
    tfx = TfxRun(builder, "taxi", "taxi-on-kfp")
    tfx.node("CsvExampleGen", "ExampleGen", outputs={"examples": "Examples"})
    tfx_lost, _ = tfx.node("Trainer", pod=False, outputs={"model": "Model"})
    local = TfxRun(builder, "taxi", "2026-11-01T00:00:00", on_kfp=False)
    local.node("Trainer", outputs={"model": "Model"})                # LocalDagRunner: no pods at all
    snap(store_path)
    findings = {f.runs: f for f in audit(RULE)}
    assert set(findings) == {("run-v2",), ("taxi-on-kfp",)}
    assert f"train #{lost}" in findings[("run-v2",)].message and "1 execution of run" in findings[("run-v2",)].message
    assert f"Trainer #{tfx_lost}" in findings[("taxi-on-kfp",)].message


def test_quiet_when_every_pod_is_named(builder, store_path, snap, audit):
    KfpV2Run(builder, "p", "run-v2").task("train")
    KfpV1Run(builder, "wf-abcde").step("train", outputs={"model": "Model"})
    snap(store_path)
    assert audit(RULE) == []
