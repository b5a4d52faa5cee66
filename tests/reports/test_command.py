"""`aipipe report` end to end through the CLI, on the tiny fleet."""

import json
from decimal import Decimal

import pytest

from aipipe_ops.billing.attribution.policies import Policy

from aipipe_ops.workspace import Workspace


@pytest.fixture
def out(tmp_path):
    return tmp_path / "reports"


def test_writes_both_reports_in_every_format(run_cli, tiny_workspace, out):
    code, stdout, stderr = run_cli("--workspace", tiny_workspace, "report", "--out", out)
    assert code == 0, stderr
    written = stdout.split()
    expected = {f"{name}.{fmt}" for name in ("pipeline-costs", "lineage-audit") for fmt in ("html", "md", "json")}
    assert {p.rsplit("/", 1)[1] for p in written if not p.endswith(".csv")} == expected
    assert all((out / name).stat().st_size > 0 for name in expected)
    # CSV: one tidy file per table, in a directory per report, each listed.
    csv_written = sorted(p.split(str(out) + "/", 1)[1] for p in written if p.endswith(".csv"))
    assert "pipeline-costs/summary.csv" in csv_written and "lineage-audit/findings.csv" in csv_written
    assert csv_written == sorted(str(p.relative_to(out)) for p in out.glob("*/*.csv"))
    data = json.loads((out / "pipeline-costs.json").read_text())
    assert data["aipipe_report"] == "pipeline_costs" and data["currencies"] == ["USD", "EUR"]


def test_formats_period_pipeline_and_report_selection(run_cli, tiny_workspace, out):
    code, stdout, _ = run_cli("--workspace", tiny_workspace, "report", "--out", out, "--format", "md,json",
                              "--report", "pipeline-costs", "--pipeline", "taxi", "--since", "2026-11-01",
                              "--until", "2026-11-09")
    assert code == 0
    assert sorted(p.rsplit("/", 1)[1] for p in stdout.split()) == ["pipeline-costs.json", "pipeline-costs.md"]
    data = json.loads((out / "pipeline-costs.json").read_text())
    assert data["parameters"] == {"since": "2026-11-01", "until": "2026-11-09", "pipeline": "taxi",
                                  "idle": "separate", "shared": "separate", "share_namespaces": [],
                                  "commitments": "amortize"}
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
    # The question the fleet was attributed for: the report reuses that attribution, lost line included.
    code, stdout, stderr = run_cli("--workspace", tiny_workspace, "report", "--out", out, "--report", "pipeline-costs",
                                   "--idle", "share")
    assert code == 0 and "pipeline-costs.html" in stdout
    assert "warning" in stderr and "USD" in stderr and "$4.00" in stderr
    assert "off by $4.00" in (out / "pipeline-costs.html").read_text()
    assert "−$4.00" not in stderr and "-$4.00" not in stderr   # the amount, not a negative sign, is the news


def _pipeline_totals_of_costs(run_cli, workspace, *policy) -> dict[tuple[str, str], Decimal]:
    code, stdout, stderr = run_cli("--workspace", workspace, "costs", "--by", "pipeline", "--format", "json", *policy)
    assert code == 0, stderr
    return {(r["currency"], r["pipeline"]): Decimal(r["total"]) for r in json.loads(stdout)["rows"]
            if r["class"] == "pipeline"}


def _pipeline_totals_of_report(out) -> dict[tuple[str, str], Decimal]:
    data = json.loads((out / "pipeline-costs.json").read_text())
    return {(currency, r["pipeline"]): Decimal(r["cost"])
            for currency, block in data["by_currency"].items() for r in block["pipelines"]["rows"]}


def test_the_report_answers_its_own_policy_not_the_last_costs_call(run_cli, tiny_workspace, out):
    """After `aipipe costs --idle separate`, `aipipe report --idle share --shared weighted` shows what
    `aipipe costs --idle share --shared weighted` shows, and says which policy it used."""
    separate = _pipeline_totals_of_costs(run_cli, tiny_workspace, "--idle", "separate")
    code, _, stderr = run_cli("--workspace", tiny_workspace, "report", "--out", out, "--report", "pipeline-costs",
                              "--format", "json,md", "--idle", "share", "--shared", "weighted")
    assert code == 0, stderr
    reported = _pipeline_totals_of_report(out)
    weighted = _pipeline_totals_of_costs(run_cli, tiny_workspace, "--idle", "share", "--shared", "weighted")
    assert reported == weighted != separate
    data = json.loads((out / "pipeline-costs.json").read_text())
    assert (data["parameters"]["idle"], data["parameters"]["shared"]) == ("share", "weighted")
    assert "`aipipe report --idle share --shared weighted --commitments amortize`" in (out / "pipeline-costs.md").read_text()


def test_the_default_policy_is_the_engines(run_cli, tiny_workspace, out):
    """No --idle/--shared: the engine's default Policy(), whatever the latest attribution was (here --idle share)."""
    code, _, stderr = run_cli("--workspace", tiny_workspace, "report", "--out", out, "--report", "pipeline-costs",
                              "--format", "json")
    assert code == 0, stderr
    assert _pipeline_totals_of_report(out) == _pipeline_totals_of_costs(run_cli, tiny_workspace)
    data = json.loads((out / "pipeline-costs.json").read_text())
    default = Policy()
    assert (data["parameters"]["idle"], data["parameters"]["shared"]) == (default.idle, default.shared)
