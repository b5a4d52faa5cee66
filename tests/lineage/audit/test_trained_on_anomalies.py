from aipipe_ops.lineage.audit.finding import Severity
from aipipe_ops.lineage.audit.rules.trained_on_anomalies import anomalies_verdict
from ..scenarios import tfx_taxi

RULE = "trained-on-anomalies"


def test_fires_when_the_validation_report_says_anomalies(builder, store_path, snap, audit):
    bad = tfx_taxi(builder, "run-bad-data", anomalies={"blessed": {"train": 1, "eval": 0}})
    tfx_taxi(builder, "run-good-data", anomalies={"blessed": {"train": 1, "eval": 1}})
    snap(store_path)
    [finding] = audit(RULE)
    assert finding.severity == Severity.WARNING
    assert finding.subject == f"artifact {bad.artifacts['model']}"
    assert "not blessed for split eval" in finding.message
    assert finding.runs == ("run-bad-data",)
    assert any(f"dataset #{bad.artifacts['examples']}" in e for e in finding.evidence)
    assert any(f"anomalies #{bad.artifacts['anomalies']}" in e for e in finding.evidence)


def test_a_model_trained_later_on_the_same_examples_is_reported_too(builder, store_path, snap, audit):
    bad = tfx_taxi(builder, "run-1", anomalies={"anomalies_found": True})
    again = tfx_taxi(builder, "run-2", examples=bad.artifacts["examples"], anomalies={})
    snap(store_path)
    assert {f.subject for f in audit(RULE)} == {f"artifact {bad.artifacts['model']}",
                                               f"artifact {again.artifacts['model']}"}


def test_quiet_when_the_store_does_not_say(builder, store_path, snap, audit):
    tfx_taxi(builder, "run-silent", anomalies={})
    snap(store_path)
    assert audit(RULE) == []


def test_verdicts():
    assert anomalies_verdict({"blessed": 0}) == "blessed=0"
    assert anomalies_verdict({"blessed": {"train": False}}) == "not blessed for split train"
    assert anomalies_verdict({"num_anomalies": 3}) == "num_anomalies=3"
    assert anomalies_verdict({"blessed": 1, "num_anomalies": 0}) is None
    assert anomalies_verdict({"span": 0}) is None
