"""What each step of a run costs (docs/cost-model.md §6).

The export never names a pod, so a run's direct cost is split hour by hour over the steps alive in that hour
(steps that ran a pod: DAG executions have none),
in proportion to seconds alive x request of that resource kind (cpu_request, memory_request, gpu_request,
tpu_request on `steps` when the lineage has them, else 1: by duration). Cost in an hour with no step alive goes
to the run's steps by whole duration. The run's other buckets follow its steps' direct cost. A run without
steps keeps one line, step `(no steps in lineage)`.
"""

from __future__ import annotations

import duckdb

from aipipe_ops.billing.attribution.split import split_sql

NO_STEPS = "(no steps in lineage)"
REQUEST_COLUMNS = {"cpu": "cpu_request", "ram": "memory_request", "gpu": "gpu_request", "tpu": "tpu_request"}


def _request_columns(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """{resource kind: request column} for the request columns the workspace's steps table has."""
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'steps'").fetchall()}
    return {kind: col for kind, col in REQUEST_COLUMNS.items() if col in have}


def _request_expr(columns: dict[str, str]) -> str:
    cases = [f"WHEN h.resource_kind = '{kind}' THEN coalesce(CAST(s.{col} AS DOUBLE), 1)"
             for kind, col in columns.items()]
    return f"CASE {' '.join(cases)} ELSE 1 END" if cases else "1"


def attribute_steps(con: duckdb.DuckDBPyConnection, window_sql: str) -> None:
    """Fill temp table att_step_lines(execution_id, run_id, step, bucket, cost, currency) from att_lines.

    window_sql: the condition on cost_lines (alias c) that selected the attribution's lines."""
    # Steps that ran a pod: DAG executions (KFP v2 root and sub-DAGs) have none and cost nothing themselves.
    # A run whose lineage names no pod at all (a source that does not record them) falls back to all its steps.
    requests = _request_columns(con)
    extra = "".join(f"s.{col}, " for col in requests.values())
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE att_steps AS
        SELECT s.execution_id, s.run_id, s.step, s.created_at, s.updated_at, {extra}
               greatest(coalesce(epoch(s.updated_at) - epoch(s.created_at), 0), 0) AS seconds
        FROM steps s
        WHERE s.run_id IN (SELECT DISTINCT run_id FROM att_lines WHERE run_id IS NOT NULL)
        QUALIFY s.pod_name IS NOT NULL OR count(s.pod_name) OVER (PARTITION BY s.run_id) = 0
    """)
    # The run's direct cost per hour and resource kind (from the hourly lines, same window and resolution). Only
    # lines with a run label can be a run's; group ids need only be unique (splits order within a group).
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE att_hours AS
        SELECT row_number() OVER () AS group_id, * FROM (
            SELECT m.run_id, c.usage_start, c.resource_kind, c.currency, sum(c.net_cost) AS amount
            FROM cost_lines c JOIN att_runs m
              ON c.run_label IS NOT DISTINCT FROM m.run_label AND c.workflow IS NOT DISTINCT FROM m.workflow
             AND c.vertex_run IS NOT DISTINCT FROM m.vertex_run
            WHERE {window_sql} AND (c.run_label IS NOT NULL OR c.workflow IS NOT NULL OR c.vertex_run IS NOT NULL)
              AND m.run_id IN (SELECT run_id FROM att_steps)
            GROUP BY m.run_id, c.usage_start, c.resource_kind, c.currency)
    """)
    request = _request_expr(requests)
    # Each (hour, step of the run) pair once, on epoch seconds computed once per hour and per step (the same
    # numbers as epoch() of the clipped timestamps): the steps alive in the hour weigh seconds alive x request; an
    # hour in which none was alive goes to all the run's steps by their whole duration.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE att_hour_weights AS
        WITH hours AS (
            SELECT group_id, run_id, resource_kind, epoch(usage_start) AS h0,
                   epoch(usage_start + INTERVAL 1 HOUR) AS h1
            FROM att_hours
        ),
        pairs AS (
            SELECT h.group_id, s.execution_id AS recipient, s.seconds,
                   CASE WHEN s.s0 < h.h1 AND s.s1 > h.h0
                        THEN greatest(least(s.s1, h.h1) - greatest(s.s0, h.h0), 0) * {request} END AS alive
            FROM hours h JOIN (SELECT *, epoch(created_at) AS s0, epoch(updated_at) AS s1 FROM att_steps) s
              ON s.run_id = h.run_id
        ),
        live AS (SELECT DISTINCT group_id FROM pairs WHERE alive > 0)
        SELECT p.group_id, p.recipient, CASE WHEN l.group_id IS NOT NULL THEN p.alive ELSE p.seconds END AS weight
        FROM pairs p LEFT JOIN live l ON l.group_id = p.group_id
        WHERE p.alive > 0 OR l.group_id IS NULL
    """)
    # A step's direct cost over the window (its hourly parts added up: step_costs has no hour).
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE att_step_lines AS
        SELECT p.recipient AS execution_id, h.run_id, 'direct' AS bucket, sum(p.amount) AS cost, h.currency
        FROM ({split_sql('att_hours', 'att_hour_weights')}) AS p JOIN att_hours h USING (group_id)
        GROUP BY p.recipient, h.run_id, h.currency
    """)
    # Other buckets: by the steps' direct cost in the run.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE att_run_buckets AS
        SELECT row_number() OVER () AS group_id, run_id, bucket, currency, sum(cost) AS amount
        FROM att_lines WHERE run_id IN (SELECT run_id FROM att_steps) AND bucket <> 'direct'
        GROUP BY run_id, bucket, currency
    """)
    con.execute(f"""
        INSERT INTO att_step_lines
        SELECT p.recipient, b.run_id, b.bucket, p.amount, b.currency
        FROM ({split_sql('att_run_buckets', '''(
            SELECT b.group_id, s.execution_id AS recipient, coalesce(d.direct, 0) AS weight
            FROM att_run_buckets b JOIN att_steps s ON s.run_id = b.run_id
            LEFT JOIN (SELECT execution_id, currency, sum(cost) AS direct FROM att_step_lines
                       GROUP BY execution_id, currency) d
              ON d.execution_id = s.execution_id AND d.currency = b.currency)''', money_weights=True)}) AS p
        JOIN att_run_buckets b USING (group_id)
    """)
    # Runs without steps in the lineage: one line per bucket.
    con.execute("""
        INSERT INTO att_step_lines
        SELECT NULL, run_id, bucket, sum(cost), currency FROM att_lines
        WHERE run_id IS NOT NULL AND run_id NOT IN (SELECT run_id FROM att_steps)
        GROUP BY run_id, bucket, currency
    """)
