from ..scenarios import kfp_v2_release, unproduced_dataset

RULE = "unapproved-data-source"


def test_quiet_for_imported_data_inside_the_allowed_prefixes_and_without_prefixes(builder, store_path, snap, audit):
    kfp_v2_release(builder, "run-approved", data_uri="gs://acme-ml-data/llm/train.jsonl")
    kfp_v2_release(builder, "run-elsewhere", data_uri="gs://scratch-bucket/x.jsonl")
    snap(store_path)
    assert audit(RULE) == []                            # no prefixes: only the no-producer case is reported
    [finding] = audit(RULE, allowed_data=("gs://acme-ml-data/",))
    assert "gs://scratch-bucket/x.jsonl is outside the allowed prefixes" in finding.message
    assert "run-elsewhere" in finding.runs
    assert audit(RULE, allowed_data=("gs://acme-ml-data/", "gs://scratch-bucket/")) == []


def test_fires_for_a_dataset_with_no_producer(builder, store_path, snap, audit):
    leaked = unproduced_dataset(builder)
    ids = kfp_v2_release(builder, "run-leaked", data=leaked)
    snap(store_path)
    [finding] = audit(RULE)
    assert finding.subject == f"artifact {leaked}" and "no execution produced it" in finding.message
    assert any(f"model #{ids.artifacts['model']}" in e for e in finding.evidence)
