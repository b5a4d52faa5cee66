"""Step costs of the stored attribution by another method than the stored one (`aipipe costs --by step --method`).

The stored attribution splits runs over steps with method `label` (docs/cost-model.md §6). To compare, the same
run lines (attribution_lines of the latest attribution) are split again by `requests` or `duration` into session
temp tables; nothing stored changes, and the runs' totals (hence the reconciliation) are the same by construction.
"""

from __future__ import annotations

import duckdb

from aipipe_ops.billing.attribution import steps
from aipipe_ops.billing.attribution.classes import resolve_runs
from aipipe_ops.billing.normalise import UsageWindow


def steps_by_method(con: duckdb.DuckDBPyConnection, window: UsageWindow, method: str) -> dict[str, str]:
    """Reads cost_lines in `window`, attribution_lines, runs and steps; writes att_method_step_costs and
    steps.METHODS_TABLE; returns breakdown()'s keyword arguments naming them."""
    runs = resolve_runs(con, into="att_method_runs")
    steps.attribute_steps(con, window, runs=runs, lines="attribution_lines", into="att_method_step_costs",
                          method=method, store_methods=False)
    return {"step_costs": "att_method_step_costs", "step_methods": steps.METHODS_TABLE}
