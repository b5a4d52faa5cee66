"""Billing fixtures: a workspace, lineage rows written straight into its tables, and the bqemulator server."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from aipipe_ops.workspace import Workspace

PROJECT_DIR = Path(__file__).resolve().parents[2]
BQ_VENV = PROJECT_DIR / ".venv-bq"
BQ_PROJECT = "aipipe-test"


@pytest.fixture
def workspace(tmp_path):
    ws = Workspace.open(tmp_path / "workspace.duckdb")
    yield ws
    ws.close()


def insert_runs(ws, runs: list[dict]) -> None:
    for r in runs:
        ws.con.execute("INSERT INTO runs (run_id, pipeline, orchestrator, state, source) VALUES (?, ?, ?, ?, 'test')",
                       [r["run_id"], r.get("pipeline"), r.get("orchestrator", "kfp-v2"), r.get("state", "SUCCEEDED")])
        if r.get("workflow"):
            ws.con.execute("UPDATE runs SET workflow = ? WHERE run_id = ?", [r["workflow"], r["run_id"]])


def insert_steps(ws, steps: list[dict]) -> None:
    for s in steps:
        ws.con.execute(
            "INSERT INTO steps (execution_id, run_id, step, state, cached_from, created_at, updated_at) "
            "VALUES (?, ?, ?, 'COMPLETE', ?, ?, ?)",
            [s["execution_id"], s["run_id"], s["step"], s.get("cached_from"), s["created_at"], s["updated_at"]])


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.timezone.utc)


# -- bqemulator ------------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def bq_endpoint(tmp_path_factory):
    """A bqemulator server from .venv-bq (`make bq-venv`), for the whole session; yields its URL."""
    exe = BQ_VENV / "bin" / "bqemulator"
    if not exe.exists():
        pytest.skip(f"{exe} missing: run `make bq-venv`")
    port, grpc_port = _free_port(), _free_port()
    log = tmp_path_factory.mktemp("bqemulator") / "server.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen([str(exe), "start", "--rest-port", str(port), "--grpc-port", str(grpc_port),
                                 "--project", BQ_PROJECT, "--log-level", "warning"],
                                stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/bigquery/v2/projects/{BQ_PROJECT}/datasets", timeout=2)
                break
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"bqemulator did not start: {log.read_text()[-2000:]}")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def bq_client(bq_endpoint, monkeypatch):
    """The real google-cloud-bigquery client talking to the emulator; aipipe's client goes there too."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    monkeypatch.setenv("AIPIPE_BIGQUERY_ENDPOINT", bq_endpoint)
    return bigquery.Client(project=BQ_PROJECT, credentials=AnonymousCredentials(),
                           client_options=ClientOptions(api_endpoint=bq_endpoint))


_dataset_counter = iter(range(1, 10**6))


def bq_table_with_rows(client, rows: list[dict], *, drop: tuple[str, ...] = ()) -> str:
    """A new ingestion-time partitioned table holding `rows`; returns bq://project.dataset.table."""
    from google.cloud import bigquery

    from export_rows import bigquery_json, bigquery_schema, drop_columns

    dataset = f"billing_{os.getpid()}_{next(_dataset_counter)}"
    client.create_dataset(dataset)
    table = bigquery.Table(f"{BQ_PROJECT}.{dataset}.gcp_billing_export_resource_v1_0123",
                           schema=[f for f in bigquery_schema() if f.name not in drop])
    table.time_partitioning = bigquery.TimePartitioning(type_=bigquery.TimePartitioningType.DAY)
    client.create_table(table)
    payload = drop_columns(bigquery_json(rows), drop)
    for i in range(0, len(payload), 500):
        errors = client.insert_rows_json(table, payload[i:i + 500])
        assert not errors, errors
    return f"bq://{BQ_PROJECT}.{dataset}.gcp_billing_export_resource_v1_0123"


# -- the sample fleet, for the tests that check figures against its ground truth ---------------------------------
def write_sample(factory, *, runs: int = 30, days: int = 3, seed: int = 11, formats: str = "parquet"):
    """`aipipe sample` into a fresh temp folder; returns (folder, ground truth)."""
    import json

    from aipipe_ops.cli import main

    out = factory.mktemp("fleet") / "sample"
    assert main(["sample", "--runs", str(runs), "--days", str(days), "--seed", str(seed), "--out", str(out),
                 "--billing-format", formats, "--format", "json"]) == 0
    return out, json.loads((out / "ground_truth.json").read_text())


def load_sample(factory, out) -> Path:
    """A fresh workspace holding the sample's MLMD lineage and its Parquet billing export; returns its path."""
    from aipipe_ops.cli import main

    path = factory.mktemp("ws") / "workspace.duckdb"
    assert main(["--workspace", str(path), "lineage", "snapshot", "--mlmd", f"sqlite:///{out}/mlmd.sqlite"]) == 0
    assert main(["--workspace", str(path), "billing", "load", "--billing", str(out / "billing" / "*.parquet")]) == 0
    return path


@pytest.fixture(scope="module")
def loaded(fleet, tmp_path_factory):
    """(workspace path, ground truth) of the module's `fleet` (write_sample), loaded by load_sample."""
    out, truth = fleet
    return load_sample(tmp_path_factory, out), truth
