"""What every command receives from the root `aipipe` group: the workspace choice and --debug."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from aipipe_ops.workspace import Workspace, resolve_workspace_path

# The commands that bring data in, and so may create a missing workspace (and its folder). Every other command
# only reads (or derives tables from what was loaded): on a missing workspace it says so and creates nothing.
CREATING_COMMANDS = frozenset({"lineage snapshot", "billing load", "prices refresh", "estimate"})


def _current_command() -> str:
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return ""
    return " ".join(ctx.command_path.split()[1:])


@dataclass
class AppContext:
    workspace_option: str | None
    debug: bool

    @property
    def workspace_path(self) -> Path:
        return resolve_workspace_path(self.workspace_option)

    def open_workspace(self, read_only: bool = False, create: bool | None = None) -> Workspace:
        """Open the workspace. `create` defaults to whether the running command is a loading one."""
        if create is None:
            create = not read_only and _current_command() in CREATING_COMMANDS
        return Workspace.open(self.workspace_path, read_only=read_only, create=create)


pass_app = click.make_pass_decorator(AppContext)
