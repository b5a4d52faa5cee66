"""The MySQL source against a real, private MariaDB: a SELECT-only user reads a store ml-metadata wrote there;
a refused connection, a bad password and an unknown database each get their own message; passwords never
appear in output."""

import pytest
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

from aipipe_ops.errors import SourceError
from aipipe_ops.lineage.sources import open_source
from .builders import StoreBuilder
from .scenarios import kfp_v2_cached_rerun, tfx_taxi

pytestmark = pytest.mark.mysql

WRITER_PW = "writer-Secret-41"
READER_PW = "reader-Secret-42"


@pytest.fixture(scope="module")
def mysql_store(mariadb):
    mariadb.create_store_database("metadb", WRITER_PW, READER_PW)
    config = pb.ConnectionConfig()
    config.mysql.host, config.mysql.port = "127.0.0.1", mariadb.port
    config.mysql.database, config.mysql.user, config.mysql.password = "metadb", "writer", WRITER_PW
    builder = StoreBuilder.on(metadata_store.MetadataStore(config))
    ids = kfp_v2_cached_rerun(builder)
    tfx_taxi(builder)
    yield mariadb, ids
    mariadb.sql("DROP DATABASE metadb; DROP USER 'writer'@'127.0.0.1'; DROP USER 'reader'@'127.0.0.1';")


def _uri(mariadb, user="reader", database="metadb", port=None):
    return f"mysql://{user}@127.0.0.1:{port or mariadb.port}/{database}"


def _checksum(mariadb):
    import subprocess
    from .mariadb_server import CLIENT

    out = subprocess.run([CLIENT, "--no-defaults", "-S", mariadb.socket, "-uroot", "-N", "-e",
                          "CHECKSUM TABLE metadb.Artifact, metadb.Execution, metadb.Event, metadb.Context, "
                          "metadb.Association, metadb.Attribution, metadb.Type, metadb.MLMDEnv"],
                         capture_output=True, text=True, check=True).stdout
    return out


def test_select_only_user_snapshots_the_store(mysql_store, monkeypatch, run_cli, workspace):
    mariadb, ids = mysql_store
    before = _checksum(mariadb)
    monkeypatch.setenv("AIPIPE_MLMD_PASSWORD", READER_PW)
    code, out, err = run_cli("--workspace", workspace.path, "lineage", "snapshot", "--mlmd", _uri(mariadb),
                             "--format", "json")
    assert code == 0, err
    assert READER_PW not in out + err
    runs = workspace.con.execute("SELECT run_id FROM runs ORDER BY run_id").fetchall()
    assert [r[0] for r in runs] == ["6f1c2a1e-0000-4000-8000-000000000001", "6f1c2a1e-0000-4000-8000-000000000002",
                                    "taxi-pipeline-x7k2p"]
    assert workspace.con.execute("SELECT cached_from FROM steps WHERE execution_id = ?",
                                 [ids.executions["prep2"]]).fetchone()[0] == ids.executions["prep1"]
    # The load log names the store without any secret.
    source = workspace.con.execute("SELECT source FROM loads WHERE kind = 'lineage'").fetchone()[0]
    assert source == _uri(mariadb) and READER_PW not in source
    assert _checksum(mariadb) == before


def test_bad_password(mysql_store, monkeypatch):
    mariadb, _ = mysql_store
    monkeypatch.setenv("AIPIPE_MLMD_PASSWORD", "wrong-Password-7")
    with pytest.raises(SourceError, match=r"accepted the connection but refused user 'reader'.*AIPIPE_MLMD_PASSWORD") as info:
        open_source(_uri(mariadb))
    assert "wrong-Password-7" not in str(info.value)


def test_refused_connection(mysql_store, monkeypatch):
    import socket

    mariadb, _ = mysql_store
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    monkeypatch.setenv("AIPIPE_MLMD_PASSWORD", READER_PW)
    with pytest.raises(SourceError, match=r"cannot reach MySQL at 127.0.0.1:\d+.*port-forward svc/mysql"):
        open_source(_uri(mariadb, port=closed))


def test_database_the_user_cannot_use(mysql_store, monkeypatch):
    mariadb, _ = mysql_store
    monkeypatch.setenv("AIPIPE_MLMD_PASSWORD", READER_PW)
    with pytest.raises(SourceError, match=r"cannot use database `mlpipeline`.*metadb"):
        open_source(_uri(mariadb, database="mlpipeline"))


def test_reads_over_the_unix_socket(mysql_store, monkeypatch, snap, workspace):
    mariadb, _ = mysql_store
    monkeypatch.setenv("AIPIPE_MLMD_PASSWORD", READER_PW)
    # MariaDB matches socket clients as 'reader'@'localhost': give that account SELECT for this test.
    mariadb.sql(f"CREATE USER IF NOT EXISTS 'reader'@'localhost' IDENTIFIED BY '{READER_PW}';"
                "GRANT SELECT ON metadb.* TO 'reader'@'localhost';")
    try:
        report = snap(f"mysql://reader@localhost/metadb?socket={mariadb.socket}")
        assert report.totals["steps"] > 0
    finally:
        mariadb.sql("DROP USER 'reader'@'localhost';")
