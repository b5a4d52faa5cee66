"""Waste: the money of runs and steps that delivered nothing (docs/cost-model.md §10).

A pushed model is an artifact of kind `pushed_model`, unless TFX recorded `pushed = 0` (the Pusher declined). An
execution *delivered* when it is in the provenance of a pushed model (the lineage graph; a cache hit counts when
the execution it re-used did). A pipeline *delivers models* when one of its runs, in any period, produced a pushed
model; a batch-scoring or pretraining pipeline delivers something else and is judged on failed runs only.

Every run of the lineage gets one verdict (VERDICTS, first that holds): `failed` (runs.state in
FAILED_RUN_STATES), `running` (ACTIVE_RUN_STATES: not judged yet), `not_judged` (its pipeline delivers no
models), `delivered` (one of its executions delivered), else `pushed_nothing`; `delivered` is also a column of
its own (a failed run whose data prep a later model re-used did reach a pushed model). Waste is three disjoint parts:
the attributed cost of failed runs, of runs that pushed nothing, and of the executions of delivering runs that
delivered nothing (dead-end steps: an ExampleValidator whose anomalies nobody reads). Costs are the attribution's,
all buckets (run_costs and step_costs); runs the lineage does not know are not judged.
"""

from __future__ import annotations

from aipipe_ops.lineage.audit.sql import is_push
from aipipe_ops.lineage.graph import upstream_executions_table
from aipipe_ops.sql import DUCKDB, sql_list
from aipipe_ops.vocabulary import ACTIVE_RUN_STATES, FAILED_RUN_STATES

VERDICTS = ("failed", "running", "not_judged", "delivered", "pushed_nothing")
# The waste categories, in the order a report lists them, and the verdict whose runs each one counts.
CATEGORIES = {"failed_runs": "failed", "runs_without_push": "pushed_nothing", "dead_end_steps": "delivered"}


def create_delivery_tables(con) -> None:
    """Create the temp tables pushed_model_upstream (the lineage's upstream executions of every pushed model),
    delivered_executions(execution_id), run_verdicts(run_id, pipeline, state, delivered, verdict) and
    delivering_pipelines(pipeline)."""
    pushed = [r[0] for r in con.execute(
        f"SELECT artifact_id FROM artifacts WHERE kind = 'pushed_model' AND {is_push('properties')}").fetchall()]
    upstream_executions_table(con, "pushed_model_upstream", artifact_ids=pushed)
    # A cache hit is resolved to the execution that really produced its outputs; the hit itself (a step of the
    # consuming run) delivered when that origin did.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE delivered_executions AS
        WITH upstream AS (SELECT DISTINCT execution_id FROM pushed_model_upstream)
        SELECT execution_id FROM upstream
        UNION
        SELECT s.execution_id FROM steps s JOIN upstream u ON s.cached_from = u.execution_id
        UNION
        SELECT r.execution_id FROM events r
        JOIN events i ON i.artifact_id = r.artifact_id AND lower(i.direction) = 'input'
        JOIN upstream u ON u.execution_id = i.execution_id
        WHERE lower(r.direction) = 'reuse'
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE delivering_pipelines AS
        SELECT DISTINCT r.pipeline FROM pushed_model_upstream u
        JOIN steps s ON s.execution_id = u.execution_id AND u.hops = 1
        JOIN runs r ON r.run_id = s.run_id
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE run_verdicts AS
        WITH delivered AS (
            SELECT DISTINCT s.run_id FROM steps s JOIN delivered_executions USING (execution_id))
        SELECT r.run_id, r.pipeline, r.state, r.run_id IN (SELECT run_id FROM delivered) AS delivered,
               CASE WHEN r.state IN ({sql_list(FAILED_RUN_STATES)}) THEN 'failed'
                    WHEN r.state IN ({sql_list(ACTIVE_RUN_STATES)}) THEN 'running'
                    WHEN r.pipeline NOT IN (SELECT pipeline FROM delivering_pipelines WHERE pipeline IS NOT NULL)
                         OR r.pipeline IS NULL THEN 'not_judged'
                    WHEN r.run_id IN (SELECT run_id FROM delivered) THEN 'delivered'
                    ELSE 'pushed_nothing' END AS verdict
        FROM (SELECT DISTINCT ON (run_id) * FROM runs ORDER BY run_id) r
    """)


def waste(con, currency: str) -> list[dict]:
    """Rows (pipeline, category, items, cost) of the latest attribution in `currency`, per pipeline in
    CATEGORIES' order; items are runs or steps (executions). Needs create_delivery_tables first."""
    cur = DUCKDB.literal(currency)
    order = " ".join(f"WHEN {DUCKDB.literal(c)} THEN {i}" for i, c in enumerate(CATEGORIES))
    cursor = con.execute(f"""
        WITH per_run AS (
            SELECT c.run_id, c.pipeline, v.verdict, sum(c.cost) AS cost
            FROM run_costs c JOIN run_verdicts v USING (run_id)
            WHERE c.currency = {cur} GROUP BY ALL),
        runs_waste AS (
            SELECT pipeline, CASE verdict WHEN 'failed' THEN 'failed_runs' ELSE 'runs_without_push' END AS category,
                   count(*) AS items, sum(cost) AS cost
            FROM per_run WHERE verdict IN ('failed', 'pushed_nothing') GROUP BY ALL),
        dead_steps AS (
            SELECT p.pipeline, sc.execution_id, sum(sc.cost) AS cost
            FROM per_run p JOIN step_costs sc USING (run_id)
            WHERE p.verdict = 'delivered' AND sc.currency = {cur} AND sc.execution_id IS NOT NULL
              AND sc.execution_id NOT IN (SELECT execution_id FROM delivered_executions)
            GROUP BY ALL HAVING sum(sc.cost) <> 0),
        steps_waste AS (
            SELECT pipeline, 'dead_end_steps' AS category, count(*) AS items, sum(cost) AS cost
            FROM dead_steps GROUP BY ALL)
        SELECT * FROM (SELECT * FROM runs_waste UNION ALL SELECT * FROM steps_waste)
        ORDER BY pipeline, CASE category {order} END
    """)
    keys = [d[0] for d in cursor.description]
    return [dict(zip(keys, row)) for row in cursor.fetchall()]
