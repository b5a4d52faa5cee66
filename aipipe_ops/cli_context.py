"""What every command receives from the root `aipipe` group: the workspace choice and --debug."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from aipipe_ops.workspace import Workspace, resolve_workspace_path


@dataclass
class AppContext:
    workspace_option: str | None
    debug: bool

    @property
    def workspace_path(self) -> Path:
        return resolve_workspace_path(self.workspace_option)

    def open_workspace(self, read_only: bool = False) -> Workspace:
        return Workspace.open(self.workspace_path, read_only=read_only)


pass_app = click.make_pass_decorator(AppContext)
