"""The gRPC source (KFP's metadata-grpc-service) through the real ml-metadata gRPC client and a real server."""

import pytest

from aipipe_ops.errors import SourceError
from aipipe_ops.lineage.sources import open_source
from .builders import sha256
from .grpc_server import MlmdGrpcServer
from .scenarios import kfp_v2_cached_rerun, tfx_taxi


@pytest.fixture
def served_store(builder, store_path):
    kfp_v2_cached_rerun(builder)
    tfx_taxi(builder)
    builder.store = None
    server = MlmdGrpcServer(str(store_path)).start()
    yield server
    server.stop()


def _tables(ws):
    return {t: ws.con.execute(f"SELECT * EXCLUDE (created_at) FROM {t} ORDER BY ALL").fetchall()
            for t in ("steps", "artifacts", "events")}


def test_grpc_snapshot_equals_the_sqlite_snapshot(served_store, store_path, snap, workspace, tmp_path):
    from aipipe_ops.lineage.snapshot import snapshot
    from aipipe_ops.workspace import Workspace

    before = sha256(store_path)
    report = snap(f"grpc://127.0.0.1:{served_store.port}", batch_size=7)
    assert report.orchestrators == ["kfp-v2", "tfx"]
    assert served_store.calls and all(name.startswith("Get") for name in served_store.calls)
    assert report.store_calls == len(served_store.calls) - 1   # minus the connectivity probe
    with Workspace.open(tmp_path / "direct.duckdb") as direct:
        snapshot(direct, f"sqlite://{store_path}", progress=False)
        assert _tables(direct) == _tables(workspace)
    assert sha256(store_path) == before


def test_refused_port_says_port_forward(unused_port):
    with pytest.raises(SourceError, match=r"cannot reach the MLMD gRPC server.*port-forward"):
        open_source(f"grpc://127.0.0.1:{unused_port}?timeout=5")


@pytest.fixture
def unused_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_grpc_server_that_is_not_mlmd_is_one_line(run_cli):
    from .grpc_server import NotMlmdGrpcServer

    server = NotMlmdGrpcServer().start()
    try:
        with pytest.raises(SourceError, match=r"is not an MLMD server.*metadata-grpc-service"):
            open_source(f"grpc://127.0.0.1:{server.port}?timeout=5")
        code, out, err = run_cli("lineage", "snapshot", "--mlmd", f"grpc://127.0.0.1:{server.port}?timeout=5")
    finally:
        server.stop()
    assert code == 2 and "Traceback" not in out + err
    assert len((out + err).strip().splitlines()) == 1 and "not an MLMD server" in out + err


def test_a_plain_http_server_is_one_line(run_cli):
    import http.server
    import threading

    class Quiet(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        code, out, err = run_cli("lineage", "snapshot", "--mlmd", f"grpc://127.0.0.1:{httpd.server_port}?timeout=5")
    finally:
        httpd.shutdown()
    assert code == 2 and "Traceback" not in out + err
    assert len((out + err).strip().splitlines()) == 1 and "not gRPC" in out + err, out + err


def test_an_mlmd_server_failing_mid_snapshot_is_one_line_and_leaves_the_workspace(builder, store_path, run_cli):
    import grpc

    tfx_taxi(builder)
    builder.store = None
    server = MlmdGrpcServer(str(store_path), fail={"GetEventsByExecutionIDs": grpc.StatusCode.INTERNAL}).start()
    try:
        code, out, err = run_cli("lineage", "snapshot", "--mlmd", f"grpc://127.0.0.1:{server.port}")
    finally:
        server.stop()
    assert code == 2 and "Traceback" not in out + err
    text = (out + err).strip()
    assert len(text.splitlines()) == 1 and "failed during the snapshot" in text 
