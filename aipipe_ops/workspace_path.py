"""Where the workspace file is: --workspace beats $AIPIPE_WORKSPACE beats .aipipe/workspace.duckdb.

Kept apart from aipipe_ops.workspace (which imports DuckDB) so that modules needing only the path, such as
the price book read inside the policy pack's venv, do not need DuckDB.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_WORKSPACE = Path(".aipipe") / "workspace.duckdb"
WORKSPACE_ENV = "AIPIPE_WORKSPACE"


def resolve_workspace_path(option: str | os.PathLike | None = None) -> Path:
    """--workspace beats AIPIPE_WORKSPACE beats the default .aipipe/workspace.duckdb."""
    if option:
        return Path(option)
    env = os.environ.get(WORKSPACE_ENV)
    if env:
        return Path(env)
    return DEFAULT_WORKSPACE
