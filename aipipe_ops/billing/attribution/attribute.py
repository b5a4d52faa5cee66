"""One attribution: cost lines in a usage window -> runs, steps, pipelines, models under a policy, reconciled.

All of it is SQL over the workspace's cost_lines (aggregates, not export rows) in temp tables, written into
run_costs, step_costs, pipeline_costs, model_costs and attribution_lines (the latest attribution) and recorded
in attributions and reconciliations. Nothing is written unless the buckets reconcile with the export total.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from aipipe_ops.billing.attribution import models, steps
from aipipe_ops.billing.attribution.policies import IDLE_POLICIES, SHARED_POLICIES, Policy
from aipipe_ops.billing.attribution.scopes import LINE_COLUMNS, build_weights
from aipipe_ops.sql import DUCKDB
from aipipe_ops.billing.load import prepare_connection
from aipipe_ops.billing.normalise import UsageWindow
from aipipe_ops.billing.reconcile import raise_on_mismatch, reconcile
from aipipe_ops.billing.runs import resolve_runs_sql
from aipipe_ops.errors import InputError
from aipipe_ops.workspace import Workspace

IDLE_NAMESPACE = "kube:unallocated"
OVERHEAD_NAMESPACE = "kube:system-overhead"


@dataclass
class Attribution:
    attribution_id: int
    policy: Policy
    window: UsageWindow
    reconciliation: list[dict]


def classify_sql(policy: Policy) -> str:
    shared = ", ".join(DUCKDB.quote(ns) for ns in policy.share_namespaces) or "NULL"
    return f"""CASE WHEN m.run_id IS NOT NULL THEN 'direct'
                    WHEN c.namespace = '{IDLE_NAMESPACE}' THEN 'idle'
                    WHEN c.namespace = '{OVERHEAD_NAMESPACE}' OR c.resource_kind = 'cluster_fee' THEN 'overhead'
                    WHEN c.namespace IN ({shared}) THEN 'shared_namespace'
                    ELSE 'unattributed' END"""


def attribute(ws: Workspace, policy: Policy | None = None, window: UsageWindow | None = None) -> Attribution:
    policy = policy or Policy()
    window = window or UsageWindow()
    con = ws.con
    prepare_connection(con)
    if not con.execute("SELECT count(*) FROM cost_lines").fetchone()[0]:
        raise InputError(f"workspace {ws.path} holds no billing data: run `aipipe billing load --billing SRC` "
                         f"first, or pass --billing to `aipipe costs`")
    where = window.days_sql("c.usage_day")
    with ws.transaction():
        con.execute(f"CREATE OR REPLACE TEMP TABLE att_runs AS {resolve_runs_sql()}")
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE att_base AS
            SELECT {classify_sql(policy)} AS class, m.run_id, m.pipeline, c.cluster, c.node_pool, c.namespace,
                   c.service, c.sku_id, c.sku, c.resource_kind, c.usage_day, c.currency, sum(c.net_cost) AS cost
            FROM cost_lines c LEFT JOIN att_runs m
              ON c.run_label IS NOT DISTINCT FROM m.run_label AND c.workflow IS NOT DISTINCT FROM m.workflow
             AND c.vertex_run IS NOT DISTINCT FROM m.vertex_run
            WHERE {where}
            GROUP BY ALL
        """)
        con.execute("CREATE OR REPLACE TEMP TABLE att_lines AS SELECT * FROM attribution_lines WHERE false")
        con.execute("ALTER TABLE att_lines DROP COLUMN attribution_id")
        con.execute("CREATE OR REPLACE TEMP TABLE att_detail AS SELECT * FROM attribution_share_detail WHERE false")
        con.execute("ALTER TABLE att_detail DROP COLUMN attribution_id")
        cols = ", ".join(LINE_COLUMNS)
        detail = ", ".join(c for c in LINE_COLUMNS if c not in ("bucket", "cost"))
        con.execute(f"INSERT INTO att_lines ({cols}) SELECT 'direct', {detail}, cost FROM att_base WHERE class = 'direct'")
        con.execute(f"INSERT INTO att_lines ({cols}) SELECT 'unattributed', {detail}, cost FROM att_base "
                    f"WHERE class = 'unattributed'")
        build_weights(con)
        IDLE_POLICIES[policy.idle](con)
        SHARED_POLICIES[policy.shared](con)

        reconciliation = reconcile(con, window.days_sql())
        raise_on_mismatch(reconciliation)

        steps.attribute_steps(con, where)
        attribution_id = con.execute(
            "SELECT coalesce(max(attribution_id), 0) + 1 FROM attributions").fetchone()[0]
        _write(con, attribution_id, policy, window, reconciliation)
        models.attribute_models(con, attribution_id)
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
    reconciliation = reconcile(con, window.days_sql(), "attribution_lines")
    raise_on_mismatch(reconciliation)
    return Attribution(int(latest["attribution_id"]), policy, window, reconciliation)


def _write(con, attribution_id: int, policy: Policy, window: UsageWindow, reconciliation: list[dict]) -> None:
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
    con.execute(f"INSERT INTO attribution_lines (attribution_id, {cols}) SELECT {aid}, {cols} FROM att_lines")
    con.execute(f"INSERT INTO attribution_share_detail BY NAME SELECT {aid} AS attribution_id, * FROM att_detail")
    con.execute(f"""
        INSERT INTO run_costs (run_id, pipeline, bucket, resource_kind, node_pool, cost, currency, attribution_id)
        SELECT run_id, pipeline, bucket, resource_kind, node_pool, sum(cost), currency, {aid}
        FROM att_lines WHERE run_id IS NOT NULL GROUP BY ALL
    """)
    con.execute(f"""
        INSERT INTO pipeline_costs (pipeline, bucket, cost, currency, attribution_id)
        SELECT pipeline, bucket, sum(cost), currency, {aid} FROM att_lines WHERE run_id IS NOT NULL GROUP BY ALL
    """)
    con.execute(f"""
        INSERT INTO step_costs (execution_id, run_id, step, bucket, cost, currency, attribution_id)
        SELECT l.execution_id, l.run_id, coalesce(s.step, {lit(steps.NO_STEPS)}), l.bucket, sum(l.cost), l.currency,
               {aid}
        FROM att_step_lines l LEFT JOIN att_steps s USING (execution_id)
        GROUP BY ALL
    """)
