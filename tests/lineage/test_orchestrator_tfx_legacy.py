"""A real TFX 0.21 store: refused as it is (schema 4), read from a migrated copy, original untouched."""

from .builders import sha256


def test_old_store_is_refused_with_both_versions_and_a_way_out(old_tfx_store, run_cli):
    before = sha256(old_tfx_store)
    code, out, err = run_cli("lineage", "snapshot", "--mlmd", f"sqlite://{old_tfx_store}")
    assert code == 2
    assert "schema version 4" in err and "version 10" in err and "ml-metadata 1.17.1" in err
    assert "migrate-copy" in err and "never migrates" in err
    assert sha256(old_tfx_store) == before


def test_migrated_copy_reads_as_legacy_tfx(old_tfx_store, tmp_path, run_cli, workspace):
    before = sha256(old_tfx_store)
    copy = tmp_path / "copy.sqlite"
    code, out, err = run_cli("lineage", "migrate-copy", "--mlmd", f"sqlite://{old_tfx_store}", "--out", copy)
    assert code == 0, err
    assert sha256(old_tfx_store) == before                     # the original is never migrated
    code, out, err = run_cli("--workspace", workspace.path, "lineage", "snapshot", "--mlmd", f"sqlite://{copy}",
                             "--format", "json")
    assert code == 0, err
    con = workspace.con
    con.execute("SELECT 1")  # the fixture's connection sees the committed snapshot
    runs = con.execute("SELECT count(*), count(DISTINCT pipeline), min(orchestrator) FROM runs").fetchone()
    # InteractiveContext: every component run is its own run, all in one pipeline.
    assert runs == (10, 1, "tfx")
    steps = dict(con.execute("SELECT step, state FROM steps WHERE step IN ('Trainer', 'Pusher')").fetchall())
    assert steps == {"Trainer": "COMPLETE", "Pusher": "COMPLETE"}   # from the string `state` property
    kinds = dict(con.execute("SELECT artifact_id, kind FROM artifacts WHERE artifact_id IN (1, 8, 13, 14)").fetchall())
    assert kinds == {1: "dataset", 8: "model", 13: "blessing", 14: "pushed_model"}


def test_migrate_copy_refuses_to_overwrite(old_tfx_store, tmp_path, run_cli):
    target = tmp_path / "exists.sqlite"
    target.write_text("keep me")
    code, _, err = run_cli("lineage", "migrate-copy", "--mlmd", f"sqlite://{old_tfx_store}", "--out", target)
    assert code == 2 and "exists" in err and target.read_text() == "keep me"
