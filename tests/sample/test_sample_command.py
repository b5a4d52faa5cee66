"""`aipipe sample` as a user types it: output layout, refusals, formats."""

from __future__ import annotations

import json


def test_sample_writes_the_documented_layout(run_cli, tmp_path):
    out = tmp_path / "fleet"
    code, stdout, stderr = run_cli("sample", "--runs", 15, "--days", 2, "--seed", 3, "--out", out,
                                   "--billing-format", "parquet", "--tenants", 2, "--format", "json")
    assert code == 0, stderr
    rows = {r["item"]: r["value"] for r in json.loads(stdout)}
    summary = json.loads((out / "fleet.json").read_text())
    assert rows["runs"] == 15 == summary["runs"]
    assert rows["billing rows"] == summary["counts"]["billing_rows"]
    assert sorted(p.name for p in out.iterdir()) == ["billing", "fleet.json", "ground_truth.json", "kfp_api", "mlmd.sqlite"]
    assert [p.suffix for p in (out / "billing").iterdir()] == [".parquet"]
    assert summary["billing"]["files"] == ["billing/part-00000.parquet"]
    assert not list(tmp_path.glob(".fleet.*")), "no staging directory is left behind"


def test_sample_replaces_a_previous_sample(run_cli, tmp_path):
    out = tmp_path / "fleet"
    assert run_cli("sample", "--runs", 15, "--days", 1, "--seed", 1, "--out", out, "--billing-format", "jsonl")[0] == 0
    first = (out / "ground_truth.json").read_text()
    assert run_cli("sample", "--runs", 15, "--days", 1, "--seed", 2, "--out", out, "--billing-format", "jsonl")[0] == 0
    assert (out / "ground_truth.json").read_text() != first
    assert json.loads((out / "fleet.json").read_text())["seed"] == 2


def test_sample_refuses_a_directory_that_is_not_a_sample(run_cli, tmp_path):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "data.csv").write_text("keep me\n")
    code, _, stderr = run_cli("sample", "--runs", 15, "--days", 1, "--out", out)
    assert code == 2
    assert "not a previous sample" in stderr and str(out) in stderr
    assert (out / "data.csv").read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious"]


def test_sample_validates_its_options(run_cli, tmp_path):
    code, _, stderr = run_cli("sample", "--runs", 15, "--days", 1, "--out", tmp_path / "x", "--billing-format", "csv")
    assert code == 2 and "--billing-format" in stderr and "parquet" in stderr
    code, _, stderr = run_cli("sample", "--runs", 3, "--days", 1, "--out", tmp_path / "x")
    assert code == 2 and "--runs must be at least" in stderr
    code, _, stderr = run_cli("sample", "--runs", 15, "--days", 1, "--out", tmp_path / "x", "--start", "2026-13-01")
    assert code == 2 and "--start" in stderr
    assert not (tmp_path / "x").exists()
