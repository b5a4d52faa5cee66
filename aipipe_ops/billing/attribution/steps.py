"""What each step of a run costs (docs/cost-model.md §6).

Method `label` (the default): an export row carrying a step cost label (`k8s-label/aipipe/step` on a GKE row,
`aipipe-step` on a job the step launched; cost_lines.step_label) that names a step of its run is that step's cost
exactly (several executions of one step name in a run, as in a loop or a retry, share it by their time in the
hour). Rows without one fall back to the time split below: `requests` where the step's request of the row's
resource kind is known, else `duration`. Methods `requests` and `duration` ignore the labels (`duration` also the
requests), to compare. `att_step_methods` (and, for the stored attribution, step_cost_methods) says which method
found each step's direct money.

Without a label the export never names a pod, so a run's direct cost is split hour by hour over the steps alive in that hour
(steps that ran a pod: DAG executions have none; a step still NEW or RUNNING, whose updated_at is not its end, is alive
until its run finished, or, for a run still active, until the end of the run's last hour in the export window),
in proportion to seconds alive x request of that resource kind (cpu_request, memory_request, gpu_request,
tpu_request on `steps` when the lineage has them: the columns where the workspace has them, else what a source
read from the pipeline spec into steps.properties, lineage/sources/pipeline_spec.py; else 1: by duration). Cost in an hour with no step alive goes
to the run's steps by whole duration. The run's other buckets follow its steps' direct cost. A run without
steps keeps one line, step `(no steps in lineage)`.

`attribute_steps` runs these steps, each writing the relation its signature names:
- `pod_steps`: reads the lineage's steps and the runs of the allocation's lines; writes the steps that cost.
- `run_hours`: reads cost_lines in the window (hourly), the resolved runs and those steps; writes each run's
  direct cost per hour and resource kind.
- `alive_until_run_end`: reads the hours; updates the steps still NEW or RUNNING to end when their run ended.
- `hour_weights`: reads the hours and the steps; writes each step's weight in each hour.
- `direct_by_step`: reads the hours and their weights; writes the steps' direct lines.
- `run_buckets`: reads the allocation's lines and the steps; writes each run's other buckets.
- `buckets_by_step`: reads those buckets, the steps and the steps' direct lines; appends to the step lines.
- `steps_unknown`: reads the allocation's lines and the steps; appends the runs without steps to the step lines.
- `named_step_costs`: reads the step lines and the steps; writes step_costs' rows (without attribution id).
"""

from __future__ import annotations

import duckdb

from aipipe_ops.billing.attribution.classes import same_run_sql
from aipipe_ops.billing.attribution.split import split_sql
from aipipe_ops.billing.normalise import UsageWindow
from aipipe_ops.lineage.sources.pipeline_spec import REQUESTS_PROPERTY
from aipipe_ops.sql import DUCKDB
from aipipe_ops.vocabulary import ACTIVE_STEP_STATES, TERMINAL_RUN_STATES

NO_STEPS = "(no steps in lineage)"
METHODS = ("label", "requests", "duration")
METHODS_TABLE = "att_step_methods"


def label_key_sql(expr: str) -> str:
    """A step name or step label in Google Cloud label form (pipeline_labels.gcp_label_value), so a pod label
    (case kept) and a job label (lowercased) of the same step compare equal."""
    return f"trim(left(regexp_replace(lower({expr}), '[^a-z0-9_-]+', '-', 'g'), 63), '-')"
REQUEST_COLUMNS = {"cpu": "cpu_request", "ram": "memory_request", "gpu": "gpu_request", "tpu": "tpu_request"}
# The key of each request in steps.properties' REQUESTS_PROPERTY object (pipeline_spec.container_requests).
REQUEST_PROPERTIES = {"cpu_request": "cpu", "memory_request": "memory", "gpu_request": "gpu", "tpu_request": "tpu"}


def attribute_steps(con: duckdb.DuckDBPyConnection, window: UsageWindow, *, runs: str, lines: str,
                    into: str, method: str = "label", store_methods: bool = True, source: str = "cost_lines") -> str:
    """Reads `source` (cost_lines, or the commitment policy's lines: effective costs) in `window`, `runs`
    (classes.resolve_runs), `lines` (the allocation's lines, every bucket) and
    the lineage's steps; writes `into` (execution_id, run_id, step, bucket, cost, currency), step_costs' rows
    without the attribution id, and METHODS_TABLE (execution_id, run_id, method, cost, currency), also stored in
    step_cost_methods when `store_methods`; returns `into`. Its intermediate relations are the att_* tables."""
    if method not in METHODS:
        raise ValueError(f"step cost method {method!r}: expected one of {', '.join(METHODS)}")
    requests = {} if method == "duration" else _request_columns(con)
    steps = pod_steps(con, lines, requests, into="att_steps")
    hours = run_hours(con, window, runs, steps, into="att_hours", labels=method == "label", source=source)
    alive_until_run_end(con, hours, steps)
    weights = hour_weights(con, hours, steps, requests, into="att_hour_weights")
    step_lines = direct_by_step(con, hours, weights, into="att_step_lines")
    step_methods(con, hours, weights, steps, requests, into=METHODS_TABLE, store=store_methods)
    buckets = run_buckets(con, lines, steps, into="att_run_buckets")
    buckets_by_step(con, buckets, steps, direct=step_lines, into=step_lines)
    steps_unknown(con, lines, steps, into=step_lines)
    return named_step_costs(con, step_lines, steps, into=into)


def _request_columns(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """{resource kind: request column of pod_steps}: every kind (request_column_sql reads each from where the
    workspace holds it)."""
    return dict(REQUEST_COLUMNS)


def request_column_sql(con: duckdb.DuckDBPyConnection, column: str) -> str:
    """SQL over `s` (a steps row) for a step's request `column`: the steps column where the workspace has one and
    it is set, else the request a source stored in steps.properties; NULL when neither says."""
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'steps'").fetchall()}
    from_properties = (f"TRY_CAST(json_extract(s.properties, '$.{REQUESTS_PROPERTY}.{REQUEST_PROPERTIES[column]}') "
                       f"AS DOUBLE)") if "properties" in have else "CAST(NULL AS DOUBLE)"
    return f"coalesce(TRY_CAST(s.{column} AS DOUBLE), {from_properties})" if column in have else from_properties


def request_sql(kind: str, requests: dict[str, str]) -> str:
    """A step's request of the resource kind in column expression `kind`, from `requests` ({resource kind: the
    step's request expression}); 1 where the kind has none or the step's is NULL."""
    cases = [f"WHEN {kind} = {DUCKDB.quote(k)} THEN coalesce(CAST({expr} AS DOUBLE), 1)"
             for k, expr in requests.items()]
    return f"CASE {' '.join(cases)} ELSE 1 END" if cases else "1"


def pod_steps(con: duckdb.DuckDBPyConnection, lines: str, requests: dict[str, str], *, into: str) -> str:
    """Reads the lineage's steps and runs of the runs in `lines`; writes `into` (execution_id, run_id, step,
    step_key, created_at, updated_at, ends_at, open, run_end, the `requests` columns, seconds): the steps that ran a
    pod, alive from created_at to ends_at (updated_at until alive_until_run_end moves the open ones); returns
    `into`."""
    # DAG executions (KFP v2 root and sub-DAGs) have no pod and cost nothing themselves. A run whose lineage names
    # no pod at all (a source that does not record them) falls back to all its steps. A step still NEW or RUNNING
    # (`open`) was last updated when it started, not when it ended (a DAG never ends: KFP's root stays RUNNING).
    extra = "".join(f"{request_column_sql(con, col)} AS {col}, " for col in requests.values())
    terminal = ", ".join(DUCKDB.quote(state) for state in TERMINAL_RUN_STATES)
    active = ", ".join(DUCKDB.quote(state) for state in ACTIVE_STEP_STATES)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {into} AS
        SELECT s.execution_id, s.run_id, s.step, {label_key_sql('s.step')} AS step_key, s.created_at, s.updated_at,
               s.updated_at AS ends_at,
               s.state IN ({active}) AND (s.pod_name IS NOT NULL OR s.component IS DISTINCT FROM 'dag') AS open,
               r.run_end, {extra}
               greatest(coalesce(epoch(s.updated_at) - epoch(s.created_at), 0), 0) AS seconds
        FROM steps s
        LEFT JOIN (SELECT run_id, max(finished_at) FILTER (WHERE state IN ({terminal})) AS run_end
                   FROM runs GROUP BY run_id) r ON r.run_id = s.run_id
        WHERE s.run_id IN (SELECT DISTINCT run_id FROM {lines} WHERE run_id IS NOT NULL)
        QUALIFY s.pod_name IS NOT NULL OR count(s.pod_name) OVER (PARTITION BY s.run_id) = 0
    """)
    return into


def alive_until_run_end(con: duckdb.DuckDBPyConnection, hours: str, steps: str) -> None:
    """Reads `hours` (run_hours); updates ends_at and seconds of the open steps of `steps` (pod_steps): a step still
    NEW or RUNNING is alive until its run finished (runs.finished_at of a terminal run) or, for a run still active,
    until the end of the run's last hour in `hours` (a stuck step is charged for the hours its pod holds)."""
    con.execute(f"""
        UPDATE {steps} SET ends_at = e.ends_at,
                           seconds = greatest(epoch(e.ends_at) - epoch({steps}.created_at), 0)
        FROM (SELECT s.execution_id, greatest(s.ends_at, coalesce(s.run_end, l.last_end)) AS ends_at
              FROM {steps} s
              LEFT JOIN (SELECT run_id, max(usage_start) + INTERVAL 1 HOUR AS last_end FROM {hours} GROUP BY run_id) l
                ON l.run_id = s.run_id
              WHERE s.open AND coalesce(s.run_end, l.last_end) IS NOT NULL) e
        WHERE {steps}.execution_id = e.execution_id
    """)


def run_hours(con: duckdb.DuckDBPyConnection, window: UsageWindow, runs: str, steps: str, *, into: str,
              labels: bool = True, source: str = "cost_lines") -> str:
    """Reads cost_lines in `window`, `runs` and `steps`; writes `into` (group_id, run_id, step_key, usage_start,
    resource_kind, currency, amount): the direct cost of each run with steps per hour, resource kind and, with
    `labels`, the step its lines' step label names (step_key NULL: no label, or one naming no step of the run);
    from the hourly lines, same window and resolution as the classified lines; returns `into`."""
    # Only lines with a run label can be a run's; group ids need only be unique (splits order within a group).
    key = (f"CASE WHEN c.step_label IS NOT NULL AND EXISTS (SELECT 1 FROM {steps} s WHERE s.run_id = m.run_id AND "
           f"s.step_key = {label_key_sql('c.step_label')}) THEN {label_key_sql('c.step_label')} END"
           if labels else "CAST(NULL AS VARCHAR)")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {into} AS
        SELECT row_number() OVER () AS group_id, * FROM (
            SELECT m.run_id, {key} AS step_key, c.usage_start, c.resource_kind, c.currency,
                   sum(c.net_cost) AS amount
            FROM {source} c JOIN {runs} m ON {same_run_sql('c', 'm')}
            WHERE {window.where_sql('c')}
              AND (c.run_label IS NOT NULL OR c.workflow IS NOT NULL OR c.vertex_run IS NOT NULL)
              AND m.run_id IN (SELECT run_id FROM {steps})
            GROUP BY ALL)
    """)
    return into


def hour_weights(con: duckdb.DuckDBPyConnection, hours: str, steps: str, requests: dict[str, str], *,
                 into: str) -> str:
    """Reads `hours` (run_hours) and `steps` (pod_steps, with the `requests` columns); writes `into` (group_id,
    recipient, weight): the steps alive in an hour weigh seconds alive x request; an hour in which none was alive
    goes to all the run's steps by their whole duration; returns `into`."""
    request = request_sql("h.resource_kind", {kind: f"s.{col}" for kind, col in requests.items()})
    # Each (hour, step of the run) pair once, on epoch seconds computed once per hour and per step (the same
    # numbers as epoch() of the clipped timestamps).
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {into} AS
        WITH hours AS (
            SELECT group_id, run_id, step_key, resource_kind, epoch(usage_start) AS h0,
                   epoch(usage_start + INTERVAL 1 HOUR) AS h1
            FROM {hours}
        ),
        pairs AS (
            SELECT h.group_id, s.execution_id AS recipient, s.seconds,
                   CASE WHEN s.s0 < h.h1 AND s.s1 > h.h0
                        THEN greatest(least(s.s1, h.h1) - greatest(s.s0, h.h0), 0) * {request} END AS alive
            FROM hours h JOIN (SELECT *, epoch(created_at) AS s0, epoch(ends_at) AS s1 FROM {steps}) s
              ON s.run_id = h.run_id AND (h.step_key IS NULL OR s.step_key = h.step_key)
        ),
        live AS (SELECT DISTINCT group_id FROM pairs WHERE alive > 0)
        SELECT p.group_id, p.recipient, CASE WHEN l.group_id IS NOT NULL THEN p.alive ELSE p.seconds END AS weight
        FROM pairs p LEFT JOIN live l ON l.group_id = p.group_id
        WHERE p.alive > 0 OR l.group_id IS NULL
    """)
    return into


def direct_by_step(con: duckdb.DuckDBPyConnection, hours: str, weights: str, *, into: str) -> str:
    """Reads `hours` and their `weights` (hour_weights); writes `into` (execution_id, run_id, bucket, cost,
    currency): each step's direct cost over the window (its hourly parts added up: step_costs has no hour);
    returns `into`."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {into} AS
        SELECT p.recipient AS execution_id, h.run_id, 'direct' AS bucket, sum(p.amount) AS cost, h.currency
        FROM ({split_sql(hours, weights)}) AS p JOIN {hours} h USING (group_id)
        GROUP BY p.recipient, h.run_id, h.currency
    """)
    return into


def step_methods(con: duckdb.DuckDBPyConnection, hours: str, weights: str, steps: str, requests: dict[str, str], *,
                 into: str, store: bool) -> None:
    """Reads `hours`, `weights` and `steps`; writes `into` (execution_id, run_id, method, cost, currency): each step's
    direct money by the method that found it (label: a labelled group; requests: the step's request of the hour's
    resource kind is known; else duration); with `store`, replaces step_cost_methods with it."""
    known = [f"(h.resource_kind = {DUCKDB.quote(k)} AND s.{col} IS NOT NULL)" for k, col in requests.items()]
    by_requests = " OR ".join(known) or "false"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {into} AS
        SELECT p.recipient AS execution_id, h.run_id,
               CASE WHEN h.step_key IS NOT NULL THEN 'label' WHEN {by_requests} THEN 'requests' ELSE 'duration' END
                 AS method,
               sum(p.amount) AS cost, h.currency
        FROM ({split_sql(hours, weights)}) AS p JOIN {hours} h USING (group_id)
        JOIN {steps} s ON s.execution_id = p.recipient
        GROUP BY ALL
    """)
    if store:
        con.execute("DELETE FROM step_cost_methods")
        con.execute(f"""
            INSERT INTO step_cost_methods (attribution_id, execution_id, run_id, method, cost, currency)
            SELECT (SELECT coalesce(max(attribution_id), 0) + 1 FROM attributions), execution_id, run_id, method,
                   cost, currency FROM {into}
        """)


def run_buckets(con: duckdb.DuckDBPyConnection, lines: str, steps: str, *, into: str) -> str:
    """Reads `lines` (the allocation's) and `steps`; writes `into` (group_id, run_id, bucket, currency, amount): each
    run-with-steps' money of every bucket but direct; returns `into`."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {into} AS
        SELECT row_number() OVER () AS group_id, run_id, bucket, currency, sum(cost) AS amount
        FROM {lines} WHERE run_id IN (SELECT run_id FROM {steps}) AND bucket <> 'direct'
        GROUP BY run_id, bucket, currency
    """)
    return into


def buckets_by_step(con: duckdb.DuckDBPyConnection, buckets: str, steps: str, *, direct: str, into: str) -> None:
    """Reads `buckets` (run_buckets), `steps` and `direct` (direct_by_step); appends to `into` (same columns as
    `direct`) each bucket split among the run's steps by their direct cost."""
    weights = f"""(
            SELECT b.group_id, s.execution_id AS recipient, coalesce(d.direct, 0) AS weight
            FROM {buckets} b JOIN {steps} s ON s.run_id = b.run_id
            LEFT JOIN (SELECT execution_id, currency, sum(cost) AS direct FROM {direct}
                       GROUP BY execution_id, currency) d
              ON d.execution_id = s.execution_id AND d.currency = b.currency)"""
    con.execute(f"""
        INSERT INTO {into}
        SELECT p.recipient, b.run_id, b.bucket, p.amount, b.currency
        FROM ({split_sql(buckets, weights, money_weights=True)}) AS p
        JOIN {buckets} b USING (group_id)
    """)


def steps_unknown(con: duckdb.DuckDBPyConnection, lines: str, steps: str, *, into: str) -> None:
    """Reads `lines` and `steps`; appends to `into` one line per bucket (execution_id NULL) of each run without
    steps in the lineage."""
    con.execute(f"""
        INSERT INTO {into}
        SELECT NULL, run_id, bucket, sum(cost), currency FROM {lines}
        WHERE run_id IS NOT NULL AND run_id NOT IN (SELECT run_id FROM {steps})
        GROUP BY run_id, bucket, currency
    """)


def named_step_costs(con: duckdb.DuckDBPyConnection, step_lines: str, steps: str, *, into: str) -> str:
    """Reads `step_lines` and `steps`; writes `into` (execution_id, run_id, step, bucket, cost, currency): the step
    lines with their step's name (NO_STEPS for a run without steps); returns `into`."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {into} AS
        SELECT l.execution_id, l.run_id, coalesce(s.step, {DUCKDB.literal(NO_STEPS)}) AS step, l.bucket,
               sum(l.cost) AS cost, l.currency
        FROM {step_lines} l LEFT JOIN {steps} s USING (execution_id)
        GROUP BY ALL
    """)
    return into
