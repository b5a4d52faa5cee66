"""§8 of issue 18 on real command output: audit findings in their documented order, counts that agree with their
nouns ("1 cluster", never "1 clusters"), and a report of an unknown pipeline refused with the known ones listed."""

from __future__ import annotations

import json
import re
import shutil

import duckdb
import pytest

from .conftest import PROJECT_DIR, run_aipipe

# "1 clusters", "1 GPUs", "1 lines", "1 warning(s)": a count of one with a plural (or hedged) noun; not a digit or
# point before it (11, 0.1, 2-1). "GiB" and "info" read the same for any count.
ONE_WITH_PLURAL = re.compile(r"(?<![\w.,\-])1 (?!GiB|info\b|is\b|was\b|has\b|as\b)([A-Za-z]+s\b|[A-Za-z]+\(s\))")


def _severity_rank(severity: str) -> int:
    return {"error": 0, "warning": 1, "info": 2}[severity]


def test_audit_findings_sort_by_severity_rule_then_subject_numbers(fleet, tmp_path):
    _, ws = fleet
    shutil.copyfile(ws, tmp_path / "ws.duckdb")
    result = run_aipipe(["--workspace", "ws.duckdb", "audit", "--no-remote", "--fail-on", "never", "--format",
                         "json"], tmp_path)
    assert result.returncode == 0, result.stderr
    findings = json.loads(result.stdout)
    keys = [(_severity_rank(f["severity"]), f["rule"]) for f in findings]
    assert keys == sorted(keys)
    numbered: dict[tuple, list[int]] = {}
    for f in findings:
        match = re.fullmatch(r"(\w+) (\d+)", f["subject"])
        if match:
            numbered.setdefault((f["rule"], match.group(1)), []).append(int(match.group(2)))
    assert numbered, "the fleet gave no numbered subjects to order"
    for group, numbers in numbered.items():
        assert numbers == sorted(numbers), f"{group}: {numbers}"
    # The fleet must hold a rule whose subjects sort differently as text, or this test could not fail.
    assert any(sorted(map(str, n)) != list(map(str, sorted(n))) for n in numbered.values()), numbered


def test_finding_order_reads_numbers_as_numbers():
    from aipipe_ops.lineage.audit.finding import Finding, Severity
    from aipipe_ops.lineage.audit.registry import finding_order

    made = [Finding("b-rule", Severity.WARNING, "execution 10", "m"), Finding("b-rule", Severity.WARNING,
            "execution 9", "m"), Finding("a-rule", Severity.INFO, "artifact 2", "m"),
            Finding("c-rule", Severity.ERROR, "run r-2", "m"), Finding("a-rule", Severity.WARNING, "gs:// URIs", "m")]
    ordered = [(f.rule, f.subject) for f in sorted(made, key=finding_order)]
    assert ordered == [("c-rule", "run r-2"), ("a-rule", "gs:// URIs"), ("b-rule", "execution 9"),
                       ("b-rule", "execution 10"), ("a-rule", "artifact 2")]


def test_report_of_an_unknown_pipeline_lists_the_known_ones(fleet, tmp_path):
    _, ws = fleet
    shutil.copyfile(ws, tmp_path / "ws.duckdb")
    with duckdb.connect(str(tmp_path / "ws.duckdb"), read_only=True) as con:
        known = sorted(r[0] for r in con.execute("SELECT DISTINCT pipeline FROM runs WHERE pipeline IS NOT NULL")
                       .fetchall())
    assert known
    result = run_aipipe(["--workspace", "ws.duckdb", "report", "--pipeline", "no-such", "--out", "out"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("aipipe: error: --pipeline 'no-such': unknown pipeline"), result.stderr
    assert result.stderr.rstrip().endswith(": " + ", ".join(known[:20])), result.stderr
    assert not (tmp_path / "out").exists()
    good = run_aipipe(["--workspace", "ws.duckdb", "report", "--pipeline", known[0], "--out", "out",
                       "--format", "md"], tmp_path)
    assert good.returncode == 0, good.stderr
    assert known[0] in (tmp_path / "out" / "pipeline-costs.md").read_text()


def test_the_known_pipelines_shown_are_capped(monkeypatch):
    from aipipe_ops.errors import ConfigError
    from aipipe_ops.reports import commands

    con = duckdb.connect()
    con.execute("CREATE TABLE runs (pipeline VARCHAR); CREATE TABLE run_costs (pipeline VARCHAR)")
    con.execute("INSERT INTO runs SELECT 'p' || lpad(i::VARCHAR, 3, '0') FROM range(30) t(i)")
    con.execute("INSERT INTO run_costs VALUES ('from-labels'), (NULL)")
    commands._check_pipeline(con, "from-labels")        # known from billing labels only: accepted
    with pytest.raises(ConfigError) as raised:
        commands._check_pipeline(con, "no-such")
    message = str(raised.value)
    assert "holds 31 pipelines: " in message and message.endswith(f"(and {31 - commands.KNOWN_PIPELINES_SHOWN} more)")
    assert message.count(", ") == commands.KNOWN_PIPELINES_SHOWN - 1


@pytest.mark.parametrize("args", [
    ["estimate", "--stack", "dev"],
    ["estimate", "--stack", "prod", "--format", "markdown"],
    ["audit", "--no-remote", "--rule", "stuck-run"],
], ids=["estimate-dev", "estimate-prod-markdown", "audit-one-finding"])
def test_counts_agree_with_their_nouns(args, fleet, tmp_path):
    _, ws = fleet
    shutil.copyfile(ws, tmp_path / "ws.duckdb")
    extra = ["--project-dir", str(PROJECT_DIR)] if args[0] == "estimate" else []
    result = run_aipipe(["--workspace", "ws.duckdb", *args, *extra], tmp_path)
    assert result.returncode == 0, result.stderr
    text = result.stdout + result.stderr
    assert re.search(r"\b1 [a-zA-Z]", text), "no count of one in the output: nothing was checked"
    assert not ONE_WITH_PLURAL.findall(text), ONE_WITH_PLURAL.findall(text)


def test_counts_agree_with_their_nouns_in_the_reports(fleet, tmp_path):
    _, ws = fleet
    shutil.copyfile(ws, tmp_path / "ws.duckdb")
    result = run_aipipe(["--workspace", "ws.duckdb", "report", "--out", "out", "--format", "md,html"], tmp_path)
    assert result.returncode == 0, result.stderr
    for path in sorted((tmp_path / "out").iterdir()):
        text = re.sub(r"<[^>]+>", " ", path.read_text())
        assert not ONE_WITH_PLURAL.findall(text), (path.name, ONE_WITH_PLURAL.findall(text))
