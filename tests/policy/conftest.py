"""Policy pack tests run the guardrails as plain functions and as CrossGuard policies, without the Pulumi CLI.
stacks/ is the Pulumi program (not installed): the project folder goes on sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))


@pytest.fixture(scope="session")
def stack_plans():
    from aipipe_ops.pricing.targets import load_plan

    return {name: load_plan(name, PROJECT_DIR) for name in ("dev", "prod")}


@pytest.fixture(scope="session")
def over_budget_plan():
    """prod with its A100 pool allowed to grow to four nodes: over the stack's own budget."""
    from aipipe_ops.pricing.targets import load_plan

    return load_plan(str(Path(__file__).parent / "stacks" / "Pulumi.prod-over-budget.yaml"), PROJECT_DIR)
