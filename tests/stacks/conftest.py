"""Fixtures for the Pulumi program tests: the example stacks run once per session under Pulumi's mocks
(aipipe_ops.pricing.plans.run_stack, the same offline run `aipipe estimate` uses)."""

from __future__ import annotations

import pytest
from stack_helpers import EXAMPLE_STACKS, PROJECT_DIR

from aipipe_ops.pricing.plans import run_stack


@pytest.fixture(scope="session")
def stack_runs():
    """Runs of the example stacks, made once and shared (read-only) by every test."""
    return {name: run_stack(PROJECT_DIR, name) for name in EXAMPLE_STACKS}


@pytest.fixture(params=EXAMPLE_STACKS)
def example(request, stack_runs):
    return stack_runs[request.param]
