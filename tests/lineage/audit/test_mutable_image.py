from ..scenarios import kfp_v2_release, tfx_taxi

RULE = "mutable-image"


def test_quiet_when_every_image_is_pinned_by_digest(builder, store_path, snap, audit):
    kfp_v2_release(builder, "run-pinned")
    tfx_taxi(builder, "taxi-no-images")                 # TFX records no image: not checked
    snap(store_path)
    assert audit(RULE) == []


def test_fires_for_a_tagged_trainer_upstream_of_a_registered_model(builder, store_path, snap, audit):
    ids = kfp_v2_release(builder, "run-tagged", image="us-docker.pkg.dev/acme/ml/trainer:latest")
    snap(store_path)
    [finding] = audit(RULE)
    assert finding.subject == f"execution {ids.executions['release']}"
    assert "trainer:latest" in finding.message and finding.runs == ("run-tagged",)
    assert any(f"train #{ids.executions['train']}" in e for e in finding.evidence)
