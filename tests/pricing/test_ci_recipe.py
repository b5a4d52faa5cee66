"""docs/ci.md's recipe works: the workflow file it shows is docs/ci-workflow.yml, and the aipipe commands of that
workflow, read from it, give the exit codes the page's tables promise on the test stacks of tests/policy/stacks
(and, for the audit, on the sample fleet's lineage). When the docs or the workflow drift, this fails."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import shutil
from pathlib import Path

import pytest
import yaml
from pricing_paths import PROJECT_DIR

from aipipe_ops.cli import main

DOC = PROJECT_DIR / "docs" / "ci.md"
WORKFLOW = PROJECT_DIR / "docs" / "ci-workflow.yml"
TEST_STACKS = PROJECT_DIR / "tests" / "policy" / "stacks"
GATES = ("estimate", "policy")


def _steps() -> dict[str, str]:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["gate"]["steps"]
    return {step["id"]: step["run"] for step in steps if "id" in step}


def _promised() -> tuple[str, dict[str, dict[str, int]]]:
    """(budget, {stack: {gate: exit code}}) from the page's table of the test stacks."""
    text = DOC.read_text()
    budget = re.search(r"with a budget of (\d+)", text).group(1)
    table = re.search(r"\| Stack \| (.+?) \|\n\|[-| ]+\|\n((?:\|.*\|\n)+)", text)
    gates = [g.strip() for g in table.group(1).split("|")]
    rows = {}
    for line in table.group(2).splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(gates, map(int, cells[1:])))
    return budget, rows


def _run(script: str, env: dict[str, str]) -> int:
    """The script's aipipe commands in turn, as bash -e would: the first non-zero status ends it."""
    for line in script.strip().splitlines():
        line = line.split(" > ")[0]
        for name, value in env.items():
            line = line.replace(f"${name}", value)
        args = shlex.split(line)
        assert args[0] == "aipipe", line
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = main(args[1:])
        if code:
            return code
    return 0


def test_the_page_shows_the_workflow_file():
    assert WORKFLOW.read_text() in DOC.read_text()
    steps = _steps()
    assert set(GATES) | {"audit"} <= set(steps)
    table = DOC.read_text()
    for gate in GATES:  # the commands the page lists are the workflow's
        assert steps[gate].strip().replace('"Pulumi.$STACK', "Pulumi.$STACK").replace('.yaml"', ".yaml") in \
            table.replace('"Pulumi.$STACK', "Pulumi.$STACK").replace('.yaml"', ".yaml"), gate


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder as the workflow sees it: Pulumi.yaml, the program, and the stack files at the top."""
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks").symlink_to(PROJECT_DIR / "stacks")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("stack", sorted(_promised()[1]))
def test_the_workflow_gates_exit_as_the_page_promises(project, stack):
    budget, promised = _promised()
    shutil.copy(TEST_STACKS / f"Pulumi.{stack}.yaml", project / f"Pulumi.{stack}.yaml")
    # The baseline is the base branch's stack file (`git show` in the workflow): the example dev stack here.
    shutil.copy(PROJECT_DIR / "Pulumi.dev.yaml", project / f"Pulumi.{stack}-base.yaml")
    steps = _steps()
    env = {"STACK": stack, "BUDGET": budget}
    codes = {gate: _run(steps[gate], env) for gate in GATES}
    assert codes == promised[stack]
    markdown = (project / "estimate.md").read_text()
    assert "**Budget** (--budget)" in markdown and (project / "policy.md").exists()


def test_the_audit_step_fails_on_an_error_finding_only(tmp_path, monkeypatch):
    out = tmp_path / "sample"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["sample", "--runs", "24", "--days", "2", "--seed", "5", "--out", str(out),
                     "--billing-format", "parquet"]) == 0
    monkeypatch.chdir(tmp_path)
    code = _run(_steps()["audit"], {"MLMD": str(out / "mlmd.sqlite")})
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["audit", "--fail-on", "never", "--format", "json"]) == 0
    errors = [f for f in json.loads(buffer.getvalue()) if f["severity"] == "error"]
    assert code == (1 if errors else 0)
    assert os.environ["AIPIPE_WORKSPACE"].startswith(str(tmp_path.parent))  # the test's own workspace
