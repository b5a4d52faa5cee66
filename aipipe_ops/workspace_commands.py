"""`aipipe workspace`: what the local workspace holds."""

from __future__ import annotations

import click

from aipipe_ops.cli_context import pass_app
from aipipe_ops.output import echo, format_option


@click.group()
def workspace() -> None:
    """Inspect the local DuckDB workspace (tables, row counts, schema version)."""


@workspace.command("info")
@format_option()
@pass_app
def info(app, fmt: str) -> None:
    """List the workspace's tables with their row counts."""
    with app.open_workspace(read_only=True) as ws:
        rows = [{"table": name, "rows": ws.count(name)} for name in ws.table_names() if name != "aipipe_schema"]
        if fmt == "table":
            click.echo(f"workspace {ws.path} (schema version {ws.schema_version})")
        echo(rows, ["table", "rows"], fmt)


COMMANDS = [workspace]
