"""Fixtures shared by every area. Area-specific fixtures live in tests/<area>/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_workspace(tmp_path, monkeypatch):
    """No test ever touches the user's .aipipe/ workspace: each gets its own."""
    monkeypatch.setenv("AIPIPE_WORKSPACE", str(tmp_path / "workspace.duckdb"))
    monkeypatch.setenv("AIPIPE_NO_PROGRESS", "1")


@pytest.fixture
def project_dir() -> Path:
    return PROJECT_DIR


@pytest.fixture
def run_cli(capsys):
    """Run `aipipe ARGS...` in-process; returns (exit_code, stdout, stderr)."""
    from aipipe_ops.cli import main

    def run(*args: str):
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run
