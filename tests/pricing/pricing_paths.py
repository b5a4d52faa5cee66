"""Paths shared by the pricing tests (a uniquely named module: `conftest` is ambiguous across test folders)."""

from __future__ import annotations

import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
H100_STACK_FILE = HERE / "stacks" / "Pulumi.h100.yaml"
GOLDEN_DIR = HERE / "golden"
# stacks/ is the Pulumi program, not an installed package: it is imported from the project folder.
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))
