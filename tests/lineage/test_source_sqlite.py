"""SQLite stores open READONLY; every way of failing gets its own message; no command changes a byte."""

import sqlite3

import pytest

from aipipe_ops.errors import SourceError
from aipipe_ops.lineage.sources import open_source
from .builders import sha256
from .scenarios import kfp_v2_cached_rerun, tfx_taxi


def test_missing_file(tmp_path):
    with pytest.raises(SourceError, match=r"does not exist.*check the path"):
        open_source(f"sqlite://{tmp_path}/nope.sqlite")


def test_not_a_sqlite_file(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("hello")
    with pytest.raises(SourceError, match="is not a SQLite database"):
        open_source(f"sqlite://{path}")


def test_sqlite_without_mlmd_tables_is_not_initialised(tmp_path):
    path = tmp_path / "empty.sqlite"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    before = sha256(path)
    with pytest.raises(SourceError, match="without MLMD tables"):
        open_source(f"sqlite://{path}")
    assert sha256(path) == before


def test_a_newer_schema_names_both_versions(builder, store_path, tmp_path):
    kfp_v2_cached_rerun(builder)
    builder.store = None
    newer = tmp_path / "newer.sqlite"
    newer.write_bytes(store_path.read_bytes())
    con = sqlite3.connect(newer)
    con.execute("UPDATE MLMDEnv SET schema_version = 11")
    con.commit()
    con.close()
    before = sha256(newer)
    with pytest.raises(SourceError, match=r"schema version 11, newer than the version 10.*ml-metadata"):
        open_source(f"sqlite://{newer}")
    assert sha256(newer) == before


def test_no_command_changes_a_byte_of_the_store(builder, store_path, run_cli, tmp_path):
    ids = kfp_v2_cached_rerun(builder)
    tfx_taxi(builder, blessed=0)
    builder.store = None
    before = sha256(store_path)
    mtime = store_path.stat().st_mtime_ns
    uri = f"sqlite://{store_path}"
    for args in (
        ("lineage", "snapshot", "--mlmd", uri),
        ("lineage", "snapshot", "--mlmd", uri),
        ("lineage", "snapshot", "--mlmd", uri, "--full"),
        ("lineage", "upstream", str(ids.artifacts["model2"])),
        ("lineage", "downstream", str(ids.artifacts["raw"]), "--format", "json"),
        ("lineage", "run", "6f1c2a1e-0000-4000-8000-000000000002"),
        ("lineage", "runs"),
        ("audit", "--fail-on", "never"),
    ):
        code, _, err = run_cli(*args)
        assert code == 0, (args, err)
    assert sha256(store_path) == before
    assert store_path.stat().st_mtime_ns == mtime
    assert not (tmp_path / "mlmd.sqlite-journal").exists() and not (tmp_path / "mlmd.sqlite-wal").exists()
