from aipipe_ops.lineage.audit.finding import Severity
from ..builders import KfpV2Run
from ..scenarios import kfp_v2_release, tfx_taxi

RULE = "model-without-evaluation"


def test_quiet_for_evaluated_kfp_v2_and_tfx_releases(builder, store_path, snap, audit):
    kfp_v2_release(builder, "run-evaluated")
    tfx_taxi(builder, "taxi-blessed", blessed=1)
    tfx_taxi(builder, "taxi-refused", blessed=0)        # evaluated (and refused): the blessing rules' business
    snap(store_path)
    assert audit(RULE) == []


def test_fires_for_a_kfp_v2_model_registered_without_evaluation(builder, store_path, snap, audit):
    ids = kfp_v2_release(builder, "run-unevaluated", evaluate=False)
    snap(store_path)
    [finding] = audit(RULE)
    assert finding.severity == Severity.ERROR
    assert finding.subject == f"execution {ids.executions['release']}"
    assert f"model #{ids.artifacts['model']}" in finding.message and finding.runs == ("run-unevaluated",)
    assert any(f"train #{ids.executions['train']}" in e for e in finding.evidence)


def test_fires_for_a_pusher_with_nothing_evaluated_and_not_for_a_declined_push(builder, store_path, snap, audit):
    run = KfpV2Run(builder, "deploy", "run-unvalidated")
    _, model = run.task("trainer", outputs={"model": "tfx.Model"})
    pusher, _ = run.task("pusher", inputs={"model": model["model"]},
                         outputs={"pushed_model": ("tfx.PushedModel", {"pushed": 1.0})})
    tfx_taxi(builder, "run-declined", blessed=0, pushed=0)
    snap(store_path)
    assert [f.subject for f in audit(RULE)] == [f"execution {pusher}"]
