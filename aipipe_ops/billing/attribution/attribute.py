"""One attribution: cost lines in a usage window -> runs, steps, pipelines, models under a policy, reconciled.

All of it is SQL over the workspace's cost_lines (aggregates, not export rows) in session temp tables, each
step reading and writing the relations its signature names (docs/cost-model.md gives the rules):

1. classes.resolve_runs: cost_lines' run labels + runs -> att_runs (label combination -> run, pipeline)
2. classes.classify_lines: cost_lines in the window + att_runs -> att_base (the classified lines, no hour)
3. allocation.new_allocation -> att_lines, att_detail (empty); scopes.keep: direct and unattributed lines -> att_lines
4. scopes.build_weights: att_base's direct lines -> att_weights (each run's direct cost per scope level)
5. the idle, then the shared policy (policies.py): att_base + att_weights -> att_lines, att_detail
6. reconcile: billing_export_totals in the window + att_lines -> the reconciliation (nothing is written unless
   every currency reconciles)
7. steps.attribute_steps: cost_lines in the window + att_runs + att_lines + steps -> att_step_costs
8. _write: att_lines, att_detail, att_step_costs -> attribution_lines, attribution_share_detail, run_costs,
   pipeline_costs, step_costs (replaced: they hold the latest attribution), attributions, reconciliations
9. models.attribute_models: att_step_costs + the lineage graph -> model_costs
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from aipipe_ops.billing.attribution import models, steps
from aipipe_ops.billing.attribution.classes import IDLE_NAMESPACE, OVERHEAD_NAMESPACE, classify_lines, resolve_runs
from aipipe_ops.billing.attribution.allocation import LINE_COLUMNS, Allocation, new_allocation
from aipipe_ops.billing.attribution.policies import IDLE_POLICIES, SHARED_POLICIES, Policy
from aipipe_ops.billing.attribution.scopes import build_weights, keep
from aipipe_ops.billing.load import prepare_connection
from aipipe_ops.billing.normalise import UsageWindow
from aipipe_ops.billing.reconcile import day_differences, raise_on_mismatch, reconcile
from aipipe_ops.errors import InputError
from aipipe_ops.sql import DUCKDB
from aipipe_ops.workspace import Workspace

__all__ = ["IDLE_NAMESPACE", "OVERHEAD_NAMESPACE", "Attribution", "attribute", "current_attribution", "is_stale",
           "latest_attribution"]


@dataclass
class Attribution:
    attribution_id: int
    policy: Policy
    window: UsageWindow
    reconciliation: list[dict]


def attribute(ws: Workspace, policy: Policy | None = None, window: UsageWindow | None = None) -> Attribution:
    policy = policy or Policy()
    window = window or UsageWindow()
    con = ws.con
    prepare_connection(con)
    if not con.execute("SELECT count(*) FROM cost_lines").fetchone()[0]:
        raise InputError(f"workspace {ws.path} holds no billing data: run `aipipe billing load --billing SRC` "
                         f"first, or pass --billing to `aipipe costs`")
    with ws.transaction():
        runs = resolve_runs(con, into="att_runs")
        classified = classify_lines(con, window, policy.share_namespaces, runs=runs, into="att_base")
        allocation = new_allocation(con, lines="att_lines", detail="att_detail")
        keep(con, classified, "direct", "direct", into=allocation.lines)
        keep(con, classified, "unattributed", "unattributed", into=allocation.lines)
        weights = build_weights(con, classified, into="att_weights")
        IDLE_POLICIES[policy.idle](con, classified, weights, allocation)
        SHARED_POLICIES[policy.shared](con, classified, weights, allocation)

        reconciliation = reconcile(con, window, allocation.lines)
        if any(r["status"] != "ok" for r in reconciliation):
            raise_on_mismatch(reconciliation, day_differences(con, window, allocation.lines))

        step_costs = steps.attribute_steps(con, window, runs=runs, lines=allocation.lines, into="att_step_costs")
        attribution_id = con.execute(
            "SELECT coalesce(max(attribution_id), 0) + 1 FROM attributions").fetchone()[0]
        _write(con, attribution_id, policy, window, reconciliation, allocation=allocation, step_costs=step_costs)
        models.attribute_models(con, attribution_id, step_costs=step_costs, into="model_costs")
    return Attribution(int(attribution_id), policy, window, reconciliation)


def is_stale(con, created_at: dt.datetime) -> bool:
    """Has billing or lineage been loaded since an attribution made at `created_at`? (New lines, newly known runs.)"""
    last_load = con.execute("SELECT max(loaded_at) FROM loads WHERE kind IN ('billing', 'lineage')").fetchone()[0]
    return last_load is not None and created_at < last_load


def latest_attribution(con) -> dict | None:
    """The attributions row of the latest attribution (whose results the result tables hold), or None."""
    cursor = con.execute("SELECT * FROM attributions ORDER BY attribution_id DESC LIMIT 1")
    row = cursor.fetchone()
    return dict(zip((d[0] for d in cursor.description), row)) if row else None


def current_attribution(ws: Workspace, policy: Policy, window: UsageWindow) -> Attribution | None:
    """The latest attribution when it answers the same question -- same policy, same window, nothing loaded since
    -- so its results, still in the result tables (each attribution replaces them), need not be computed again."""
    con = ws.con
    latest = latest_attribution(con)
    if latest is None:
        return None
    made = (latest["idle_policy"], latest["shared_policy"], tuple(latest["share_namespaces"] or ()),
            latest["since"], latest["until"])
    asked = (policy.idle, policy.shared, tuple(policy.share_namespaces), window.since, window.until)
    if made != asked or is_stale(con, latest["created_at"]):
        return None
    reconciliation = reconcile(con, window, "attribution_lines")
    raise_on_mismatch(reconciliation)
    return Attribution(int(latest["attribution_id"]), policy, window, reconciliation)


def _write(con, attribution_id: int, policy: Policy, window: UsageWindow, reconciliation: list[dict], *,
           allocation: Allocation, step_costs: str) -> None:
    """Reads `allocation` and `step_costs` (step_costs' rows without attribution id); replaces the stored results
    (attribution_lines, attribution_share_detail, run_costs, pipeline_costs, step_costs, model_costs emptied) with
    attribution `attribution_id`'s and records it in attributions and reconciliations."""
    for table in ("attribution_lines", "attribution_share_detail", "run_costs", "step_costs", "pipeline_costs",
                  "model_costs"):
        con.execute(f"DELETE FROM {table}")
    lit = DUCKDB.literal
    aid = lit(int(attribution_id))
    con.execute("INSERT INTO attributions VALUES (" + ", ".join(
        [aid, lit(dt.datetime.now(dt.timezone.utc)), lit(policy.idle), lit(policy.shared),
         f"CAST({lit(list(policy.share_namespaces))} AS VARCHAR[])", lit(window.since), lit(window.until)]) + ")")
    for r in reconciliation:
        con.execute("INSERT INTO reconciliations VALUES (" + ", ".join(
            [aid, lit(r["currency"]), lit(r["export_net_total"]), lit(r["buckets_total"]), lit(r["difference"]),
             lit(r["status"])]) + ")")
    cols = ", ".join(LINE_COLUMNS)
    con.execute(f"INSERT INTO attribution_lines (attribution_id, {cols}) SELECT {aid}, {cols} FROM {allocation.lines}")
    con.execute(f"INSERT INTO attribution_share_detail BY NAME SELECT {aid} AS attribution_id, * FROM {allocation.detail}")
    con.execute(f"""
        INSERT INTO run_costs (run_id, pipeline, bucket, resource_kind, node_pool, cost, currency, attribution_id)
        SELECT run_id, pipeline, bucket, resource_kind, node_pool, sum(cost), currency, {aid}
        FROM {allocation.lines} WHERE run_id IS NOT NULL GROUP BY ALL
    """)
    con.execute(f"""
        INSERT INTO pipeline_costs (pipeline, bucket, cost, currency, attribution_id)
        SELECT pipeline, bucket, sum(cost), currency, {aid} FROM {allocation.lines} WHERE run_id IS NOT NULL GROUP BY ALL
    """)
    con.execute(f"""
        INSERT INTO step_costs (execution_id, run_id, step, bucket, cost, currency, attribution_id)
        SELECT execution_id, run_id, step, bucket, cost, currency, {aid} FROM {step_costs}
    """)
