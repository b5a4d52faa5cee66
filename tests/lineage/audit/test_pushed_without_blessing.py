from aipipe_ops.lineage.audit.finding import Severity
from ..builders import KfpV2Run
from ..scenarios import tfx_taxi

RULE = "pushed-without-blessing"


def test_quiet_for_a_blessed_push_with_either_key_and_doubles(builder, store_path, snap, audit):
    tfx_taxi(builder, "run-classic", blessed=1)
    tfx_taxi(builder, "run-cond", blessed=1.0, blessing_key="_Evaluator.blessing")   # KFP v2 runner: doubles
    snap(store_path)
    assert audit(RULE) == []


def test_fires_when_the_blessing_says_no(builder, store_path, snap, audit):
    ids = tfx_taxi(builder, "run-refused", blessed=0)
    snap(store_path)
    [finding] = audit(RULE)
    assert finding.severity == Severity.ERROR
    assert finding.subject == f"artifact {ids.artifacts['pushed']}"
    assert "blessed=0" in finding.message and finding.runs == ("run-refused",)
    assert finding.evidence[0].startswith(f"pushed_model #{ids.artifacts['pushed']}")
    assert any(f"model #{ids.artifacts['model']}" in e for e in finding.evidence)


def test_fires_without_verdict_and_for_another_model(builder, store_path, snap, audit):
    no_verdict = tfx_taxi(builder, "run-no-thresholds", blessed=None)
    other = tfx_taxi(builder, "run-wrong-model", blessed=1, model_id_override=1)
    snap(store_path)
    findings = {f.subject: f for f in audit(RULE)}
    assert "no `blessed` verdict" in findings[f"artifact {no_verdict.artifacts['pushed']}"].message
    assert "blesses model #1, not the pushed model" in findings[f"artifact {other.artifacts['pushed']}"].message


def test_fires_for_a_push_without_any_blessing_and_not_for_a_declined_push(builder, store_path, snap, audit):
    run = KfpV2Run(builder, "deploy", "run-unvalidated")
    _, model = run.task("trainer", outputs={"model": "tfx.Model"})
    _, pushed = run.task("pusher", inputs={"model": model["model"]},
                         outputs={"pushed_model": ("tfx.PushedModel", {"pushed": 1.0})})
    declined = tfx_taxi(builder, "run-declined", blessed=0, pushed=0)
    snap(store_path)
    [finding] = audit(RULE)
    assert finding.subject == f"artifact {pushed['pushed_model'][0]}"
    assert "no ModelBlessing input" in finding.message
    assert declined.artifacts["pushed"] not in {int(f.subject.split()[1]) for f in audit(RULE)}


def test_legacy_model_validator_blessing_is_a_blessing(old_tfx_store, tmp_path, run_cli, snap, audit):
    copy = tmp_path / "copy.sqlite"
    assert run_cli("lineage", "migrate-copy", "--mlmd", f"sqlite://{old_tfx_store}", "--out", copy)[0] == 0
    snap(copy)
    # The 0.21 Pusher consumed ModelValidator's blessing #13 (blessed=1, current_model_id=8) for model #8.
    assert audit(RULE) == []
