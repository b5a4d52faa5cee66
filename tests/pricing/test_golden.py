"""Golden estimates, one per stack: the table a reviewer reads (and can check line by line against Google's
pricing calculator), the pull-request Markdown and the JSON. The numbers in them are asserted independently
in test_estimate_stacks.py; these files pin the rendering. Regenerate after an intended change with
`AIPIPE_UPDATE_GOLDEN=1 .venv/bin/pytest tests/pricing/test_golden.py` and review the diff."""

from __future__ import annotations

import json
import os

import pytest
from pricing_paths import GOLDEN_DIR

from aipipe_ops.pricing.estimate_formats import render_estimate

CASES = [("dev", "table", "dev.txt"), ("prod", "table", "prod.txt"), ("h100", "table", "h100.txt"),
         ("prod", "markdown", "prod.md"), ("dev", "json", "dev.json")]


@pytest.mark.parametrize("stack,fmt,name", CASES)
def test_golden(estimates, stack, fmt, name):
    text = render_estimate(estimates[stack], fmt) + "\n"
    path = GOLDEN_DIR / name
    if os.environ.get("AIPIPE_UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.read_text() == text, f"{name} changed: review, then regenerate with AIPIPE_UPDATE_GOLDEN=1"


def test_golden_json_totals_are_the_hand_computed_ones():
    data = json.loads((GOLDEN_DIR / "dev.json").read_text())
    assert data["totals"]["monthly_max"] == "1068.12312792"
    assert data["currency"] == "USD" and data["hours_per_month"] == 730
