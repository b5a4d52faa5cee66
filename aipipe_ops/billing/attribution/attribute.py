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
from aipipe_ops.billing.attribution.policies import COMMITMENT_POLICIES, IDLE_POLICIES, SHARED_POLICIES, Policy
from aipipe_ops.billing.attribution.scopes import build_weights, keep
from aipipe_ops.billing.load import prepare_connection
from aipipe_ops.billing.normalise import UsageWindow
from aipipe_ops.billing.reconcile import day_differences, raise_on_mismatch, reconcile
from aipipe_ops.errors import InputError
from aipipe_ops.sql import DUCKDB
from aipipe_ops.workspace import Workspace

# The lines attribution classifies and steps split: the window's cost_lines as the commitment policy leaves them.
SOURCE = "att_source"

__all__ = ["IDLE_NAMESPACE", "OVERHEAD_NAMESPACE", "Attribution", "attribute", "current_attribution", "is_stale",
           "latest_attribution"]


@dataclass
class Attribution:
    attribution_id: int
    policy: Policy
    window: UsageWindow
    reconciliation: list[dict]


def attribute(ws: Workspace, policy: Policy | None = None, window: UsageWindow | None = None, *,
              incremental: bool = False) -> Attribution:
    """Attribute the window under the policy and store the results (replacing the stored ones).

    With `incremental`, when the latest attribution answers the same question and only billing loads came since,
    only the usage days those loads changed are attributed again (an attribution is the sum of its days:
    docs/cost-model.md §5 "Windows"), and the attribution is updated in place; otherwise, and when nothing
    changed, the whole window is attributed (or the latest reused when it is current)."""
    policy = policy or Policy()
    window = window or UsageWindow()
    con = ws.con
    prepare_connection(con)
    if not con.execute("SELECT count(*) FROM cost_lines").fetchone()[0]:
        raise InputError(f"workspace {ws.path} holds no billing data: run `aipipe billing load --billing SRC` "
                         f"first, or pass --billing to `aipipe costs`")
    if incremental:
        latest = latest_attribution(con)
        if latest is not None and _asks(latest) == _question(policy, window):
            changed = changed_days(con, latest["created_at"])
            if changed is not None and not changed:
                current = current_attribution(ws, policy, window)
                if current is not None:
                    return current
            elif changed:
                return _refresh_days(ws, latest, policy, window, changed)
    with ws.transaction():
        runs = resolve_runs(con, into="att_runs")
        allocation = _allocate(con, policy, window, runs)
        reconciliation = reconcile(con, window, allocation.lines)
        if any(r["status"] != "ok" for r in reconciliation):
            raise_on_mismatch(reconciliation, day_differences(con, window, allocation.lines))

        step_costs = steps.attribute_steps(con, window, runs=runs, lines=allocation.lines, into="att_step_costs",
                                           source=SOURCE)
        attribution_id = con.execute(
            "SELECT coalesce(max(attribution_id), 0) + 1 FROM attributions").fetchone()[0]
        _write(con, attribution_id, policy, window, reconciliation, allocation=allocation, step_costs=step_costs)
        models.attribute_models(con, attribution_id, step_costs=step_costs, into="model_costs")
    return Attribution(int(attribution_id), policy, window, reconciliation)


def _allocate(con, policy: Policy, window: UsageWindow, runs: str) -> Allocation:
    """Steps 2-5: the window's cost lines (effective costs under --commitments amortize: att_source) classified and
    allocated under the policy (att_* temp tables)."""
    fee_bucket = COMMITMENT_POLICIES[policy.commitments](con, window, SOURCE)
    classified = classify_lines(con, window, policy.share_namespaces, runs=runs, into="att_base", source=SOURCE)
    allocation = new_allocation(con, lines="att_lines", detail="att_detail")
    keep(con, classified, "commitment", fee_bucket, into=allocation.lines)
    keep(con, classified, "direct", "direct", into=allocation.lines)
    keep(con, classified, "unattributed", "unattributed", into=allocation.lines)
    weights = build_weights(con, classified, into="att_weights")
    IDLE_POLICIES[policy.idle](con, classified, weights, allocation)
    SHARED_POLICIES[policy.shared](con, classified, weights, allocation)
    return allocation


def changed_days(con, since: dt.datetime) -> list[dt.date] | None:
    """The usage days whose cost lines billing loads changed after `since`: [] when nothing was loaded since, None
    when something other than a billing load that wrote export cells came since (a lineage snapshot: runs may
    resolve differently on any day; a forgotten source) and every day must be attributed again."""
    loads = con.execute(f"SELECT load_id, kind, watermark FROM loads WHERE loaded_at > {DUCKDB.literal(since)} "
                        f"AND kind IN ('billing', 'lineage')").fetchall()
    if any(kind != "billing" or watermark == "forgotten" for _, kind, watermark in loads):
        return None
    if not loads:
        return []
    ids = ", ".join(str(int(load_id)) for load_id, _, _ in loads)
    return [r[0] for r in con.execute(
        f"SELECT DISTINCT usage_day FROM export_cells WHERE load_id IN ({ids}) ORDER BY 1").fetchall()]


def _refresh_days(ws: Workspace, latest: dict, policy: Policy, window: UsageWindow,
                  days: list[dt.date]) -> Attribution:
    """Attribute `days` of the window again and put them in place of the stored attribution's lines of those days;
    the runs whose lines changed get their step costs again, pipelines and models are rolled up again, and the
    whole window is reconciled before anything is kept."""
    con = ws.con
    aid = int(latest["attribution_id"])
    part = window.only_days(days)
    lit = DUCKDB.literal
    with ws.transaction():
        runs = resolve_runs(con, into="att_runs")
        allocation = _allocate(con, policy, part, runs)
        days_in = f"usage_day IN (SELECT UNNEST({lit(list(days))}))"
        # The runs whose money changes: those with lines on the days before, and those with lines on them now.
        touched = "att_touched_runs"
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {touched} AS
            SELECT run_id FROM attribution_lines WHERE attribution_id = {aid} AND run_id IS NOT NULL AND {days_in}
            UNION SELECT run_id FROM {allocation.lines} WHERE run_id IS NOT NULL
        """)
        con.execute(f"DELETE FROM attribution_lines WHERE attribution_id = {aid} AND {days_in}")
        con.execute(f"DELETE FROM attribution_share_detail WHERE attribution_id = {aid} AND {days_in}")
        _write_allocation(con, aid, allocation)
        stored = f"(SELECT * FROM attribution_lines WHERE attribution_id = {aid})"
        reconciliation = reconcile(con, window, stored)
        if any(r["status"] != "ok" for r in reconciliation):
            raise_on_mismatch(reconciliation, day_differences(con, window, stored))

        # The touched runs' lines over the whole window: their steps, run and pipeline rows again.
        run_lines = "att_run_lines"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {run_lines} AS SELECT * EXCLUDE (attribution_id) "
                    f"FROM attribution_lines WHERE attribution_id = {aid} AND run_id IN (SELECT run_id FROM {touched})")
        # The steps read every day of the touched runs (and only those days), under the same commitment policy.
        run_days = [r[0] for r in con.execute(
            f"SELECT DISTINCT usage_day FROM {run_lines} WHERE usage_day IS NOT NULL ORDER BY 1").fetchall()]
        COMMITMENT_POLICIES[policy.commitments](con, window.only_days(run_days), SOURCE)
        step_costs = steps.attribute_steps(con, window.only_days(run_days), runs=runs, lines=run_lines,
                                           into="att_step_costs", source=SOURCE)
        in_touched = f"run_id IN (SELECT run_id FROM {touched})"
        for table in ("run_costs", "step_costs"):
            con.execute(f"DELETE FROM {table} WHERE {in_touched}")
        _write_runs(con, aid, run_lines, step_costs)
        _write_pipelines(con, aid)
        con.execute("DELETE FROM model_costs")
        models.attribute_models(con, aid, step_costs="step_costs", into="model_costs")
        con.execute(f"UPDATE attributions SET created_at = {lit(dt.datetime.now(dt.timezone.utc))} "
                    f"WHERE attribution_id = {aid}")
        con.execute(f"DELETE FROM reconciliations WHERE attribution_id = {aid}")
        _write_reconciliation(con, aid, reconciliation)
    return Attribution(aid, policy, window, reconciliation)


def answers(attribution: dict | None, policy: Policy, window: UsageWindow) -> bool:
    """Does this attributions row answer the question (the same policy and window)? Whether something was loaded
    since is `is_stale`'s."""
    return attribution is not None and _asks(attribution) == _question(policy, window)


def _question(policy: Policy, window: UsageWindow) -> tuple:
    return (policy.idle, policy.shared, tuple(policy.share_namespaces), policy.commitments, window.since,
            window.until, window.invoice_month)


def _asks(attribution: dict) -> tuple:
    """The question a stored attributions row answered, shaped as `_question`."""
    return (attribution["idle_policy"], attribution["shared_policy"], tuple(attribution["share_namespaces"] or ()),
            attribution.get("commitment_policy") or "separate", attribution["since"], attribution["until"],
            attribution.get("invoice_month"))


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
    if _asks(latest) != _question(policy, window) or is_stale(con, latest["created_at"]):
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
    con.execute("INSERT INTO attributions (attribution_id, created_at, idle_policy, shared_policy, share_namespaces, "
                "since, until, invoice_month, commitment_policy) VALUES (" + ", ".join(
                    [aid, lit(dt.datetime.now(dt.timezone.utc)), lit(policy.idle), lit(policy.shared),
                     f"CAST({lit(list(policy.share_namespaces))} AS VARCHAR[])", lit(window.since), lit(window.until),
                     lit(window.invoice_month), lit(policy.commitments)]) + ")")
    _write_reconciliation(con, attribution_id, reconciliation)
    _write_allocation(con, attribution_id, allocation)
    _write_runs(con, attribution_id, allocation.lines, step_costs)
    _write_pipelines(con, attribution_id)


def _write_allocation(con, attribution_id: int, allocation: Allocation) -> None:
    """Appends the allocation's lines and detail to attribution_lines and attribution_share_detail."""
    aid = DUCKDB.literal(int(attribution_id))
    cols = ", ".join(LINE_COLUMNS)
    con.execute(f"INSERT INTO attribution_lines (attribution_id, {cols}) SELECT {aid}, {cols} FROM {allocation.lines}")
    con.execute(f"INSERT INTO attribution_share_detail BY NAME SELECT {aid} AS attribution_id, * FROM {allocation.detail}")


def _write_pipelines(con, attribution_id: int) -> None:
    """Replaces pipeline_costs with the sums of run_costs per pipeline and bucket."""
    con.execute("DELETE FROM pipeline_costs")
    con.execute(f"""
        INSERT INTO pipeline_costs (pipeline, bucket, cost, currency, attribution_id)
        SELECT pipeline, bucket, sum(cost), currency, {DUCKDB.literal(int(attribution_id))} FROM run_costs GROUP BY ALL
    """)


def _write_reconciliation(con, attribution_id: int, reconciliation: list[dict]) -> None:
    lit = DUCKDB.literal
    for r in reconciliation:
        con.execute("INSERT INTO reconciliations VALUES (" + ", ".join(
            [lit(int(attribution_id)), lit(r["currency"]), lit(r["export_net_total"]), lit(r["buckets_total"]),
             lit(r["difference"]), lit(r["status"])]) + ")")


def _write_runs(con, attribution_id: int, lines: str, step_costs: str) -> None:
    """Appends run_costs' rows of the runs in `lines` and step_costs' rows from `step_costs`."""
    aid = DUCKDB.literal(int(attribution_id))
    con.execute(f"""
        INSERT INTO run_costs (run_id, pipeline, bucket, resource_kind, node_pool, cost, currency, attribution_id)
        SELECT run_id, pipeline, bucket, resource_kind, node_pool, sum(cost), currency, {aid}
        FROM {lines} WHERE run_id IS NOT NULL GROUP BY ALL
    """)
    con.execute(f"""
        INSERT INTO step_costs (execution_id, run_id, step, bucket, cost, currency, attribution_id)
        SELECT execution_id, run_id, step, bucket, cost, currency, {aid} FROM {step_costs}
    """)
