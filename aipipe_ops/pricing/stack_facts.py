"""The stack's accelerator facts (stacks/accelerators.py), imported rather than restated.

stacks/ is the Pulumi program, not an installed package: its folder's parent (the project folder) goes on
sys.path, as the offline plan reader does. The project folder is the one given to the estimate, else the
checkout aipipe runs from.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

from aipipe_ops.errors import ConfigError

_CHECKOUT = Path(__file__).resolve().parents[2]


def accelerators(project_dir: Path | None = None) -> ModuleType:
    """The stacks.accelerators module (GPU types <-> machine families, TPU machine types <-> chips)."""
    try:
        return importlib.import_module("stacks.accelerators")
    except ImportError:
        pass
    for folder in (project_dir, _CHECKOUT):
        if folder is not None and (Path(folder) / "stacks" / "accelerators.py").exists():
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
            return importlib.import_module("stacks.accelerators")
    raise ConfigError(f"cannot find stacks/accelerators.py (GPU and TPU facts) in {project_dir or _CHECKOUT}: "
                      "run aipipe from the project folder or pass --project-dir")
