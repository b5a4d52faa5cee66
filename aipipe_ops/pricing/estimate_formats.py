"""An estimate in the format the user asked for: one entry per --format, each renderer in its own module
(estimate_report: table, JSON, CSV; markdown: the pull-request comment)."""

from __future__ import annotations

import json
from decimal import Decimal

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the renderers import the estimate engine: loaded when an estimate is rendered, not at CLI start
    from aipipe_ops.pricing.estimate import Estimate

FORMATS = ("table", "json", "csv", "markdown")


def render_estimate(estimate: "Estimate", fmt: str, budget: Decimal | None = None) -> str:
    from aipipe_ops.pricing.estimate_report import estimate_csv, estimate_json, estimate_table
    from aipipe_ops.pricing.markdown import estimate_markdown

    if fmt == "json":
        return json.dumps(estimate_json(estimate, budget), indent=2)
    if fmt == "csv":
        return estimate_csv(estimate)
    if fmt == "markdown":
        return estimate_markdown(estimate, budget)
    if fmt == "table":
        return estimate_table(estimate, budget)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
