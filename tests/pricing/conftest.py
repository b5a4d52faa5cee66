"""Fixtures for the pricing tests: the shipped price book, and the example stacks (plus the test-only
h100 stack) run once per session under Pulumi's mocks, as `aipipe estimate --stack` runs them."""

from __future__ import annotations

import pytest
from pricing_paths import H100_STACK_FILE, PROJECT_DIR


@pytest.fixture(scope="session")
def book():
    from aipipe_ops.pricing.price_book import SHIPPED_PRICE_BOOK, PriceBook

    return PriceBook.load(SHIPPED_PRICE_BOOK)


@pytest.fixture(scope="session")
def plans():
    """name -> Plan of dev, prod (Pulumi.<stack>.yaml) and h100 (tests/pricing/stacks/Pulumi.h100.yaml)."""
    from aipipe_ops.pricing.targets import load_plan

    return {"dev": load_plan("dev", PROJECT_DIR), "prod": load_plan("prod", PROJECT_DIR),
            "h100": load_plan(str(H100_STACK_FILE), PROJECT_DIR)}


@pytest.fixture(scope="session")
def estimates(plans, book):
    from aipipe_ops.pricing.estimate import estimate_resources

    return {name: estimate_resources(plan.resources, book, stack=plan.stack, project=plan.project,
                                     plan_source=plan.source, project_dir=PROJECT_DIR)
            for name, plan in plans.items()}
