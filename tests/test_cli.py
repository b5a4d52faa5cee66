import json
import subprocess
import sys

from aipipe_ops.workspace import Workspace


def test_help_lists_commands(run_cli):
    code, out, _ = run_cli("--help")
    assert code == 0
    assert "Commands:" in out and "workspace" in out


def test_error_is_one_line_and_exit_2(run_cli, tmp_path):
    code, out, err = run_cli("--workspace", tmp_path / "missing.duckdb", "workspace", "info")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("aipipe: error: ")
    assert "Traceback" not in err


def test_debug_shows_traceback(run_cli, tmp_path):
    code, _, err = run_cli("--debug", "--workspace", tmp_path / "missing.duckdb", "workspace", "info")
    assert code == 2
    assert "Traceback" in err and "WorkspaceError" in err


def test_workspace_info_formats(run_cli, tmp_path):
    path = tmp_path / "w.duckdb"
    with Workspace.open(path) as ws:
        ws.con.execute("INSERT INTO runs (run_id) VALUES ('a'), ('b')")
    code, out, _ = run_cli("--workspace", path, "workspace", "info", "--format", "json")
    assert code == 0
    rows = {r["table"]: r["rows"] for r in json.loads(out)}
    assert rows["runs"] == 2 and rows["events"] == 0
    code, out, _ = run_cli("--workspace", path, "workspace", "info", "--format", "csv")
    assert out.splitlines()[0] == "table,rows"
    assert "runs,2" in out.splitlines()


def test_console_script_runs(tmp_path):
    result = subprocess.run([sys.executable, "-m", "aipipe_ops", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "aipipe" in result.stdout


def test_usage_error_exit_code(run_cli):
    code, _, err = run_cli("workspace", "info", "--format", "xml")
    assert code == 2 and "xml" in err
