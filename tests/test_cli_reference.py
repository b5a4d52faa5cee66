"""The CLI reference is generated, complete and current (sqlite-utils' test_docs pattern)."""

from aipipe_ops.cli_reference import render_reference, undocumented_commands


def test_docs_cli_md_is_current(project_dir):
    checked_in = (project_dir / "docs" / "cli.md").read_text()
    assert checked_in == render_reference(), "docs/cli.md is stale: run `make docs`"


def test_every_command_and_option_has_help():
    assert undocumented_commands() == []
