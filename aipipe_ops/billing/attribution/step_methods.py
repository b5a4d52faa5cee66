"""Step costs of the stored attribution by another method than the stored one (`aipipe costs --by step --method`).

The stored attribution splits runs over steps with method `label` (docs/cost-model.md §6). To compare, the same
run lines (attribution_lines of the latest attribution) are split again by `requests` or `duration` into session
temp tables; nothing stored changes, and the runs' totals (hence the reconciliation) are the same by construction.
"""

from __future__ import annotations

import duckdb

from aipipe_ops.billing.attribution import steps
from aipipe_ops.billing.attribution.classes import resolve_runs
from aipipe_ops.billing.attribution.policies import COMMITMENT_POLICIES, Policy
from aipipe_ops.billing.normalise import UsageWindow


def steps_by_method(con: duckdb.DuckDBPyConnection, window: UsageWindow, method: str,
                    policy: Policy | None = None) -> dict[str, str]:
    """Reads cost_lines in `window` (as the commitment policy of `policy`, else of the stored attribution, leaves
    them), attribution_lines, runs and steps; writes att_method_step_costs and steps.METHODS_TABLE; returns
    breakdown()'s keyword arguments naming them."""
    if policy is None:
        from aipipe_ops.billing.attribution.attribute import latest_attribution

        stored = latest_attribution(con)
        commitments = (stored and stored.get("commitment_policy")) or Policy().commitments
    else:
        commitments = policy.commitments
    runs = resolve_runs(con, into="att_method_runs")
    source = "att_method_source"
    COMMITMENT_POLICIES[commitments](con, window, source)
    steps.attribute_steps(con, window, runs=runs, lines="attribution_lines", into="att_method_step_costs",
                          method=method, store_methods=False, source=source)
    return {"step_costs": "att_method_step_costs", "step_methods": steps.METHODS_TABLE}
