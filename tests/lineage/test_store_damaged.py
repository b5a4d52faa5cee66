"""A damaged SQLite store (cut short by an interrupted copy, or corrupt) is one line naming the file and what is
wrong, never the library's internal `CREATE TABLE ...` text; the store is a copy of one written by `aipipe sample`
(issue 18)."""

from __future__ import annotations

import pytest

generate = pytest.importorskip("aipipe_ops.sample.generate")


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    out = tmp_path_factory.mktemp("damaged") / "sample"
    generate.generate_fleet(out, runs=20, days=2, seed=4, progress=False, billing_formats="parquet")
    return out / "mlmd.sqlite"


@pytest.mark.parametrize("keep", [0.5, 0.1, 200 / 1e9])
def test_truncated_store_is_one_line(sample_store, tmp_path, run_cli, keep):
    data = sample_store.read_bytes()
    cut = tmp_path / "cut.sqlite"
    cut.write_bytes(data[:max(100, int(len(data) * keep))])
    code, out, err = run_cli("--workspace", tmp_path / "w.duckdb", "lineage", "snapshot", "--mlmd", f"sqlite://{cut}")
    assert code != 0 and not out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(cut) in lines[0] and "truncated" in lines[0] and f"{len(data):,}" in lines[0]
    assert "CREATE TABLE" not in err


def test_shorter_than_a_header(sample_store, tmp_path, run_cli):
    cut = tmp_path / "cut.sqlite"
    cut.write_bytes(sample_store.read_bytes()[:40])
    code, _, err = run_cli("--workspace", tmp_path / "w.duckdb", "lineage", "snapshot", "--mlmd", f"sqlite://{cut}")
    assert code != 0 and len(err.strip().splitlines()) == 1 and "truncated" in err and str(cut) in err


def test_corrupt_schema_page_is_one_line(sample_store, tmp_path, run_cli):
    """The size is right but the schema page is garbage: the library's own error carries its CREATE TABLE query."""
    data = bytearray(sample_store.read_bytes())
    data[100:4096] = b"\xa5" * 3996
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(bytes(data))
    code, out, err = run_cli("--workspace", tmp_path / "w.duckdb", "lineage", "snapshot", "--mlmd", f"sqlite://{bad}")
    assert code != 0 and not out
    assert len(err.strip().splitlines()) == 1, err
    assert str(bad) in err and "damaged" in err and "malformed" in err and "CREATE TABLE" not in err
