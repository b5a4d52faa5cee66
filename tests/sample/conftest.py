"""One sample fleet per test session, written by the real generator (ml-metadata writes the store)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aipipe_ops.sample import generate_fleet

# Nine days: sustained-use discounts only start once a node has run a quarter of the month (prices.md §9).
SAMPLE = dict(runs=32, days=9, seed=11, tenants=6)


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fleet") / "sample"
    generate_fleet(out, progress=False, **SAMPLE)
    return out


@pytest.fixture(scope="session")
def truth(sample_dir) -> dict:
    return json.loads((sample_dir / "ground_truth.json").read_text())


@pytest.fixture(scope="session")
def summary(sample_dir) -> dict:
    return json.loads((sample_dir / "fleet.json").read_text())


@pytest.fixture(scope="session")
def store(sample_dir):
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(sample_dir / "mlmd.sqlite")
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(config)
