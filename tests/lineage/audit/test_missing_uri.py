from aipipe_ops.lineage.audit.finding import Severity
from ..builders import KfpV2Run

RULE = "missing-uri"


def test_local_paths_are_checked_remote_ones_are_unchecked(builder, store_path, snap, audit, tmp_path, monkeypatch):
    present = tmp_path / "data" / "train"
    present.mkdir(parents=True)
    gone = tmp_path / "data" / "deleted-model"
    run = KfpV2Run(builder, "p", "run-local", root=f"file://{tmp_path}/root")
    importer, out = run.importer("present", "system.Dataset", f"file://{present}")
    _, gone_out = run.importer("gone", "system.Model", str(gone))
    run.importer("remote", "system.Dataset", "gs://bucket/elsewhere")
    run.importer("s3", "system.Dataset", "s3://bucket/x")
    snap(store_path)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    findings = audit(RULE, check_remote=True)
    missing = [f for f in findings if f.severity == Severity.WARNING]
    assert [f.subject for f in missing] == [f"artifact {gone_out['artifact'][0]}"]
    assert str(gone) in missing[0].message and missing[0].runs == ("run-local",)
    unchecked = {f.subject: f.message for f in findings if f.severity == Severity.INFO}
    assert set(unchecked) == {"gs:// URIs", "s3:// URIs"}
    assert "1 artifact URI on gs:// not checked" in unchecked["gs:// URIs"]


def test_quiet_when_everything_exists_or_is_deleted(builder, store_path, snap, audit, tmp_path):
    from ml_metadata.proto import metadata_store_pb2 as pb

    present = tmp_path / "model"
    present.write_text("weights")
    run = KfpV2Run(builder, "p", "run-ok")
    run.importer("model", "system.Model", str(present))
    # A DELETED artifact is not expected to exist.
    builder.execute("system.ImporterExecution", custom={"parent_dag_id": run.root_dag, "task_name": "old"},
                    outputs={"artifact": [builder.new_artifact("system.Model", str(tmp_path / "gone"),
                                                               state=pb.Artifact.DELETED)]},
                    contexts=[run.pipeline_ctx, run.run_ctx])
    snap(store_path)
    assert audit(RULE) == []


def test_gs_uris_are_checked_when_credentials_are_configured(builder, store_path, snap, audit, monkeypatch):
    from ..gcs_server import FakeGcs

    run = KfpV2Run(builder, "p", "run-gcs")
    run.importer("kept", "system.Dataset", "gs://acme-data/churn/2026-11")
    _, gone = run.importer("gone", "system.Model", "gs://acme-models/churn/v7")
    snap(store_path)
    with FakeGcs({"acme-data": ["churn/2026-11/part-0.parquet"], "acme-models": ["churn/v6/saved_model.pb"]}) as gcs:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs.url)
        findings = audit(RULE, check_remote=True)
        listings = [r for r in gcs.requests if "/o?" in r]
        assert len(listings) == 2                     # one listing per URI, through the real client
    assert [(f.severity, f.subject) for f in findings] == [(Severity.WARNING, f"artifact {gone['artifact'][0]}")]
    assert "gs://acme-models/churn/v7" in findings[0].message
    # --no-remote: not checked, and said so.
    [unchecked] = audit(RULE, check_remote=False)
    assert unchecked.severity == Severity.INFO and "remote checks are off" in unchecked.message
