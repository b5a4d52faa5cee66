from aipipe_ops.lineage.audit.finding import Severity
from ..builders import TfxRun
from ..scenarios import tfx_taxi

RULE = "refused-model-pushed"


def test_fires_with_both_runs(builder, store_path, snap, audit):
    # run-a: the Evaluator refuses the model (the Cond keeps its Pusher from running).
    refused = tfx_taxi(builder, "run-a", blessed=0, push=False)
    # run-b: a hot-fix pipeline pushes that same model with a fresh positive blessing.
    hotfix = TfxRun(builder, "taxi-hotfix", "run-b")
    _, blessing = hotfix.node("Evaluator", inputs={"model": [refused.artifacts["model"]]},
                              outputs={"blessing": ("ModelBlessing", {"blessed": 1,
                                                                      "current_model_id": refused.artifacts["model"]})})
    _, pushed = hotfix.node("Pusher", inputs={"model": [refused.artifacts["model"]],
                                              "model_blessing": blessing["blessing"]},
                            outputs={"pushed_model": ("PushedModel", {"pushed": 1})})
    snap(store_path)
    [finding] = audit(RULE)
    assert finding.severity == Severity.ERROR
    assert finding.subject == f"artifact {refused.artifacts['model']}"
    assert finding.runs == ("run-a", "run-b")
    assert "refused (blessed=0)" in finding.message and "run run-b" in finding.message
    assert any(f"pushed_model #{pushed['pushed_model'][0]}" in e for e in finding.evidence)


def test_quiet_when_the_refused_model_is_not_pushed(builder, store_path, snap, audit):
    tfx_taxi(builder, "run-a", blessed=0, push=False)
    tfx_taxi(builder, "run-b", blessed=1)        # another model, blessed and pushed
    snap(store_path)
    assert audit(RULE) == []


def test_anomalies_struct_blessed_is_not_a_model_refusal(builder, store_path, snap, audit):
    tfx_taxi(builder, "run-a", blessed=1, anomalies={"blessed": {"train": 0, "eval": 0}})
    snap(store_path)
    assert audit(RULE) == [] and audit("pushed-without-blessing") == []
