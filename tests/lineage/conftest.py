"""Fixtures for lineage tests: stores written through the real ml-metadata library (builders.py), a private
MariaDB server (mariadb_server.py) and a real gRPC MLMD service (grpc_server.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aipipe_ops.lineage.snapshot import snapshot
from aipipe_ops.workspace import Workspace

from . import mariadb_server
from .builders import StoreBuilder

SHARED_DATA = Path("/work/shared/data")
OLD_TFX_STORE_NAME = "tfx-0.21-model-card-toolkit.sqlite"


@pytest.fixture
def store_path(tmp_path) -> Path:
    return tmp_path / "mlmd.sqlite"


@pytest.fixture
def builder(store_path) -> StoreBuilder:
    return StoreBuilder(store_path)


@pytest.fixture
def workspace(tmp_path):
    ws = Workspace.open(tmp_path / "workspace.duckdb")
    yield ws
    ws.close()


@pytest.fixture
def snap(workspace):
    """snap(path_or_uri, **options) -> SnapshotReport, into the test's workspace."""
    def run(target, **options):
        uri = target if isinstance(target, str) and "://" in target else f"sqlite://{Path(target).resolve()}"
        return snapshot(workspace, uri, progress=False, **options)
    return run


@pytest.fixture
def old_tfx_store(tmp_path) -> Path:
    """A copy of the real TFX 0.21 store (MLMD schema 4) shipped with the shared reference data."""
    for candidate in (SHARED_DATA / OLD_TFX_STORE_NAME, Path(__file__).parent / "data" / OLD_TFX_STORE_NAME):
        if candidate.exists():
            target = tmp_path / OLD_TFX_STORE_NAME
            target.write_bytes(candidate.read_bytes())
            return target
    pytest.skip("the TFX 0.21 reference store is not available")


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory):
    if not mariadb_server.available():
        pytest.skip("MariaDB is not installed (.ci/system-deps installs it)")
    server = mariadb_server.MariaDb(tmp_path_factory.mktemp("mariadb")).start()
    yield server
    server.stop()
