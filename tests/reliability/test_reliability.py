"""The reliability pass (issue 18): every case of cases.CASES run as a subprocess of `aipipe` in its own folder.

Each case checks the exit status, the first line of stderr, that a failure is that one line (never a traceback),
and that every input the test made is byte-identical afterwards with nothing new beside it (unless the case says
what it writes). test_ctrl_c.py covers Ctrl-C."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from .cases import CASES, Case
from .conftest import aipipe_env, run_aipipe, tree_digest

HOSTILE = "<img src=x onerror=alert(1)> [x](javascript:alert(1)) \u202eevil\nFORGED line\x1b[31m"
LONG_NAME = "gs-pipeline-" + "x" * 260


def _write_hostile(path: Path) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute("UPDATE runs SET pipeline = ?, namespace = ? WHERE run_id IN "
                    "(SELECT run_id FROM runs ORDER BY run_id LIMIT 3)", [HOSTILE, "ns\u202e" + HOSTILE])
    finally:
        con.close()


def _make_immutable(path: Path, request) -> None:
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)]).returncode != 0:
        pytest.skip("chattr +i is not available here (needed for a folder that forbids new files, even to root)")
    request.addfinalizer(lambda: subprocess.run(["chattr", "-i", str(path)]))


def setup_inputs(names, cwd: Path, fleet, request) -> None:
    sample, ws = fleet
    for name in names:
        if name == "ws":
            shutil.copyfile(ws, cwd / "ws.duckdb")
        elif name == "mlmd":
            shutil.copyfile(sample / "mlmd.sqlite", cwd / "mlmd.sqlite")
        elif name == "parquet":
            shutil.copyfile(sample / "billing" / "part-00000.parquet", cwd / "billing.parquet")
        elif name == "sqlite_ws":
            shutil.copyfile(sample / "mlmd.sqlite", cwd / "copy.sqlite")
        elif name == "text_ws":
            (cwd / "notes.duckdb").write_text("not a database, just notes\n" * 20)
        elif name == "text_file":
            (cwd / "notes.txt").write_text("just notes\n")
        elif name == "truncated_ws":
            (cwd / "half.duckdb").write_bytes(ws.read_bytes()[: 64 * 1024])
        elif name == "empty_file":
            (cwd / "empty.duckdb").write_bytes(b"")
        elif name == "dir_ws":
            (cwd / "wsdir").mkdir()
        elif name == "bad_csv":
            (cwd / "bad.csv").write_text("a,b,c\n1,2,3\n")
        elif name == "plan_json":
            (cwd / "plan.json").write_text('{"steps": []}\n')
        elif name == "foreign_report":
            (cwd / "own").mkdir()
            (cwd / "own" / "pipeline-costs.md").write_text("# my own notes\n")
        elif name == "immutable_dir":
            (cwd / "locked").mkdir()
            _make_immutable(cwd / "locked", request)
        elif name == "immutable_ws":
            (cwd / "locked").mkdir()
            shutil.copyfile(ws, cwd / "locked" / "ws.duckdb")
            _make_immutable(cwd / "locked", request)
        elif name == "hostile_ws":
            shutil.copyfile(ws, cwd / "ws.duckdb")
            _write_hostile(cwd / "ws.duckdb")
        elif name == "long_uri_ws":
            shutil.copyfile(ws, cwd / "ws.duckdb")
            con = duckdb.connect(str(cwd / "ws.duckdb"))
            con.execute("UPDATE runs SET pipeline = ?", [LONG_NAME])
            con.close()
        elif name == "lineage_only_ws":
            shutil.copyfile(ws, cwd / "ws.duckdb")
            con = duckdb.connect(str(cwd / "ws.duckdb"))
            con.execute("DELETE FROM cost_lines; DELETE FROM billing_export_totals; DELETE FROM loads "
                        "WHERE kind = 'billing'")
            con.close()
        else:
            raise AssertionError(f"unknown setup {name!r}")


def _fill(text: str, cwd: Path) -> str:
    return (text.replace("{ws}", "ws.duckdb").replace("{mlmd}", f"sqlite://{cwd / 'mlmd.sqlite'}")
            .replace("{parquet}", "billing.parquet").replace("{cwd}", str(cwd)))


# -- extra checks -------------------------------------------------------------------------------------------------
def _stderr_one_line(result, cwd):
    assert result.stderr.count("\n") == 1, result.stderr


def _no_raw_controls(result, cwd):
    assert "\u202e" not in result.stdout and "\x1b" not in result.stdout
    assert not any(line.startswith("FORGED") for line in result.stdout.splitlines()), result.stdout


def _markdown_escaped(result, cwd):
    for path in (cwd / "out").glob("*.md"):
        # Inside a code span, `<img ...>` is text; outside one, it must be escaped.
        text = re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", path.read_text())
        assert "<img" not in text and "\u202e" not in text, path
        assert not re.search(r"(?<!\\)\]\(javascript:", text), path   # an escaped \] is text, not a link
        assert not any(line.startswith("FORGED") for line in text.splitlines()), path


def _html_escaped(result, cwd):
    for path in (cwd / "out").glob("*.html"):
        assert "<img src=x" not in path.read_text(), path


def _no_wrap(result, cwd):
    lines = [line for line in result.stdout.splitlines() if "gs-pipeline-" in line]
    assert lines and all(LONG_NAME in line for line in lines), result.stdout[:2000]


EXTRA_CHECKS = {"stderr_one_line": _stderr_one_line, "no_raw_controls": _no_raw_controls,
                "markdown_escaped": _markdown_escaped, "html_escaped": _html_escaped, "no_wrap": _no_wrap}


def test_case_ids_are_unique_and_enough():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 150


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case, fleet, tmp_path, request):
    cwd = tmp_path / "case"
    cwd.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    setup_inputs(case.setup, cwd, fleet, request)
    before = tree_digest(cwd)
    env = aipipe_env(HOME=str(home), **{k: _fill(v, cwd) for k, v in case.env})
    result = run_aipipe([_fill(a, cwd) for a in case.args], cwd, env, timeout=120)

    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == case.exit, f"exit {result.returncode}; stderr: {result.stderr}"
    if case.stderr is None:
        assert result.stderr == "", result.stderr
    else:
        first = result.stderr.splitlines()[0] if result.stderr else ""
        assert re.search(case.stderr, first), f"first line of stderr: {first!r}"
        if case.exit == 2:
            assert result.stderr.count("\n") == 1, f"more than one line: {result.stderr}"
    if case.stdout is not None:
        assert re.search(case.stdout, result.stdout, re.M), result.stdout[:2000]
    if case.not_stdout is not None:
        assert not re.search(case.not_stdout, result.stdout, re.M), result.stdout[:2000]

    after = tree_digest(cwd)
    allowed = tuple(case.writes)

    def kept(entries):
        return {k: v for k, v in entries.items() if not any(k == w or k.startswith(w + "/") for w in allowed)}

    assert kept(after) == kept(before), "the case changed or created files it should not have"
    if case.check:
        EXTRA_CHECKS[case.check](result, cwd)
