"""`aipipe report` end to end through the CLI, on the tiny fleet."""

import json

import pytest

from aipipe_ops.workspace import Workspace


@pytest.fixture
def out(tmp_path):
    return tmp_path / "reports"


def test_writes_both_reports_in_every_format(run_cli, tiny_workspace, out):
    code, stdout, stderr = run_cli("--workspace", tiny_workspace, "report", "--out", out)
    assert code == 0, stderr
    written = stdout.split()
    expected = {f"{name}.{fmt}" for name in ("pipeline-costs", "lineage-audit") for fmt in ("html", "md", "csv", "json")}
    assert {p.rsplit("/", 1)[1] for p in written} == expected
    assert all((out / name).stat().st_size > 0 for name in expected)
    data = json.loads((out / "pipeline-costs.json").read_text())
    assert data["aipipe_report"] == "pipeline_costs" and data["currencies"] == ["USD", "EUR"]


def test_formats_period_pipeline_and_report_selection(run_cli, tiny_workspace, out):
    code, stdout, _ = run_cli("--workspace", tiny_workspace, "report", "--out", out, "--format", "md,json",
                              "--report", "pipeline-costs", "--pipeline", "taxi", "--since", "2026-11-01",
                              "--until", "2026-11-09")
    assert code == 0
    assert sorted(p.rsplit("/", 1)[1] for p in stdout.split()) == ["pipeline-costs.json", "pipeline-costs.md"]
    data = json.loads((out / "pipeline-costs.json").read_text())
    assert data["parameters"] == {"since": "2026-11-01", "until": "2026-11-09", "pipeline": "taxi"}
    runs = data["by_currency"]["USD"]["top_runs"]["rows"]
    assert [r["run_id"] for r in runs] == ["taxi-1"]   # taxi-2 ran on Nov 10, outside the period


def test_refuses_to_overwrite_a_foreign_file(run_cli, tiny_workspace, out):
    out.mkdir()
    (out / "lineage-audit.md").write_text("# my own notes\n")
    code, stdout, stderr = run_cli("--workspace", tiny_workspace, "report", "--out", out)
    assert code == 2 and stdout == ""
    assert stderr.count("\n") == 1 and "lineage-audit.md" in stderr and "not an aipipe report" in stderr
    assert [p.name for p in out.iterdir()] == ["lineage-audit.md"]


@pytest.mark.parametrize("args, message", [
    (["--format", "html,pdf"], "--format"),
    (["--since", "2026-11-10", "--until", "2026-11-01"], "--since"),
    (["--report", "nope"], "unknown report"),
])
def test_bad_options_are_one_line_errors(run_cli, tiny_workspace, out, args, message):
    code, _, stderr = run_cli("--workspace", tiny_workspace, "report", "--out", out, *args)
    assert code == 2 and message in stderr and stderr.count("\n") == 1


def test_an_unbalanced_export_is_written_and_warned_about(run_cli, tiny_workspace, out):
    with Workspace.open(tiny_workspace) as ws:
        ws.con.execute("DELETE FROM attribution_lines WHERE run_id = 'llm-1' AND bucket = 'direct' AND resource_kind = 'cpu'")
    code, stdout, stderr = run_cli("--workspace", tiny_workspace, "report", "--out", out, "--report", "pipeline-costs")
    assert code == 0 and "pipeline-costs.html" in stdout
    assert "warning" in stderr and "USD" in stderr and "$4.00" in stderr
    assert "off by $4.00" in (out / "pipeline-costs.html").read_text()
    assert "−$4.00" not in stderr and "-$4.00" not in stderr   # the amount, not a negative sign, is the news
