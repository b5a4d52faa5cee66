"""The rows `aipipe costs --by ...` prints, from the latest attribution's tables.

Run, pipeline and step views list one row per run (pipeline, step) with its buckets, then every other workload
with its buckets, then the money that stayed in its own bucket (idle, overhead, unattributed by namespace and
service), so the rows add up to the export's net total. Namespace, cluster, project and workload views (showback)
and SKU, kind and day views spread every bucket over that key. The model view lists provenance costs, which
overlap between models and are not meant to add up.
"""

from __future__ import annotations

import duckdb

from aipipe_ops.sql import bucket_pivot as _pivot
from aipipe_ops.vocabulary import ATTRIBUTED_BUCKETS as BUCKET_COLUMNS, BUCKETS
from aipipe_ops.errors import ConfigError

VIEWS = ("pipeline", "run", "step", "model", "sku", "kind", "day", "namespace", "cluster", "project", "workload")


# What a line no run carries is identified by, as fields (machine-readable output has no display strings): another
# workload by namespace and workload, an unattributed line by namespace and service, the rest (idle, overhead...)
# by cluster and node pool; the other fields are null. Every row of a view has every key.
LEFTOVER_KEYS = ("cluster", "node_pool", "namespace", "workload", "service")


def _leftovers(con) -> list[dict]:
    """Below the runs: each other workload with its buckets (class `workload`), then the money no workload
    received, by bucket."""
    every = list(BUCKETS)
    workloads = con.execute(f"""
        SELECT namespace, workload, {_pivot(every)}, sum(cost) AS total, currency FROM attribution_lines
        WHERE run_id IS NULL AND workload IS NOT NULL
        GROUP BY ALL ORDER BY currency, total DESC, workload, namespace
    """).fetchall()
    out = [{"class": "workload", "namespace": r[0], "workload": r[1], **dict(zip(every, r[2:-2])), "total": r[-2],
            "currency": r[-1]} for r in workloads]
    rows = con.execute("""
        SELECT bucket,
               CASE WHEN bucket <> 'unattributed' THEN cluster END AS cluster,
               CASE WHEN bucket <> 'unattributed' THEN node_pool END AS node_pool,
               CASE WHEN bucket = 'unattributed' THEN namespace END AS namespace,
               NULL AS workload,
               CASE WHEN bucket = 'unattributed' THEN service END AS service,
               sum(cost) AS total, currency
        FROM attribution_lines WHERE run_id IS NULL AND workload IS NULL GROUP BY ALL
        ORDER BY currency, bucket, total DESC, cluster, node_pool, namespace, service
    """).fetchall()
    out += [{"class": r[0], **dict(zip(LEFTOVER_KEYS, r[1:6])), "total": r[6], "currency": r[7]} for r in rows]
    return out


# Showback: every bucket of every line by one key of the attribution lines (a share carries its recipient's
# namespace and project, so a team's namespace holds its pipelines, its other workloads and their shares).
SHOWBACK = {
    "namespace": ["namespace"],
    "cluster": ["cluster"],
    "project": ["project"],
    "workload": ["class", "workload", "namespace"],
}


LABEL_VIEW = "label:"


def label_value_sql(key: str, column: str = "kept_labels") -> str:
    """The value of label `key` in a kept-labels text (normalise.PER_POD_LABELS: `key<RS>value` joined by <US>)."""
    from aipipe_ops.sql import DUCKDB

    prefix = DUCKDB.quote(key + "\x1e")
    return (f"substr(list_filter(str_split({column}, chr(31)), lambda kv: starts_with(kv, {prefix}))[1], "
            f"{len(key) + 2})")


def check_view(by: str) -> str:
    """`by` when it names a view (one of VIEWS, or label:KEY), else a one-line error."""
    if by in VIEWS or (by.startswith(LABEL_VIEW) and len(by) > len(LABEL_VIEW)):
        return by
    raise ConfigError(f"--by {by!r}: expected one of {', '.join(VIEWS)}, or label:KEY (any export label, e.g. "
                      f"label:k8s-label/team)")


def _showback(con, by: str) -> tuple[list[dict], list[str]]:
    every = list(BUCKETS)
    if by.startswith(LABEL_VIEW):
        key = by[len(LABEL_VIEW):]
        rows = con.execute(f"""
            SELECT {label_value_sql(key)} AS value, {_pivot(every)}, sum(cost) AS total, currency
            FROM attribution_lines GROUP BY ALL ORDER BY currency, total DESC, value NULLS LAST
        """).fetchall()
        cols = ["label", "value", *every, "total", "currency"]
        return [dict(zip(cols, (key, *r))) for r in rows], cols
    keys = SHOWBACK[by]
    exprs = {"class": "CASE WHEN run_id IS NOT NULL THEN 'pipeline' WHEN workload IS NOT NULL THEN 'workload' "
                      "ELSE bucket END",
             "workload": "coalesce(pipeline, workload)"}
    select = ", ".join(f"{exprs.get(k, k)} AS {k}" for k in keys)
    rows = con.execute(f"""
        SELECT {select}, {_pivot(every)}, sum(cost) AS total, currency FROM attribution_lines
        GROUP BY ALL ORDER BY currency, total DESC, {', '.join(keys)}
    """).fetchall()
    cols = [*keys, *every, "total", "currency"]
    return [dict(zip(cols, r)) for r in rows], cols


def breakdown(con: duckdb.DuckDBPyConnection, by: str, *, step_costs: str = "step_costs",
              step_methods: str = "step_cost_methods") -> tuple[list[dict], list[str]]:
    """(rows, columns) for one view; the step view reads `step_costs` and `step_methods` (how each step's direct
    cost was found, docs/cost-model.md §6)."""
    check_view(by)
    if by in SHOWBACK or by.startswith(LABEL_VIEW):
        return _showback(con, by)
    money = list(BUCKET_COLUMNS) + ["total"]
    if by in ("run", "pipeline"):
        keys = ["run_id", "pipeline"] if by == "run" else ["pipeline"]
        table = "run_costs" if by == "run" else "pipeline_costs"
        sql = (f"SELECT {', '.join(keys)}, {_pivot(BUCKET_COLUMNS)}, sum(cost) AS total, currency FROM {table} "
               f"GROUP BY ALL ORDER BY currency, total DESC, {keys[0]}")
        columns = ["class", *keys, *LEFTOVER_KEYS, *money, "currency"]
        return _with_leftovers(con, sql, keys, money, columns=columns), columns
    if by == "step":
        keys = ["run_id", "step", "execution_id"]
        methods = (f"(SELECT execution_id, string_agg(DISTINCT method, '+' ORDER BY method) AS method "
                   f"FROM {step_methods} WHERE cost <> 0 GROUP BY execution_id)")
        sql = (f"SELECT c.run_id, c.step, c.execution_id, {_pivot(BUCKET_COLUMNS)}, sum(c.cost) AS total, "
               f"c.currency, any_value(m.method) AS method "
               f"FROM {step_costs} c LEFT JOIN {methods} m USING (execution_id) "
               f"GROUP BY c.run_id, c.step, c.execution_id, c.currency "
               f"ORDER BY c.currency, c.run_id, total DESC, c.execution_id")
        columns = ["class", *keys, "method", *LEFTOVER_KEYS, *money, "currency"]
        return _with_leftovers(con, sql, keys, money, ("method",), columns=columns), columns
    if by == "model":
        rows = con.execute(f"""
            SELECT m.artifact_id, m.kind, a.uri, count(DISTINCT m.run_id) AS runs, {_pivot(BUCKET_COLUMNS)},
                   sum(m.cost) AS total, m.currency
            FROM model_costs m LEFT JOIN artifacts a USING (artifact_id)
            GROUP BY ALL ORDER BY m.currency, total DESC, m.artifact_id
        """).fetchall()
        cols = ["artifact_id", "kind", "uri", "runs", *money, "currency"]
        return [dict(zip(cols, r)) for r in rows], cols
    key = {"sku": ["service", "sku_id", "sku"], "kind": ["resource_kind"], "day": ["usage_day"]}[by]
    every = list(BUCKETS)
    # Shares are stored per run and scope; their day/SKU picture (without runs) is attribution_share_detail.
    rows = con.execute(f"""
        WITH lines AS (
            SELECT bucket, service, sku_id, sku, resource_kind, usage_day, cost, currency FROM attribution_lines
            WHERE bucket NOT IN ('idle_share', 'overhead_share', 'shared')
            UNION ALL
            SELECT bucket, service, sku_id, sku, resource_kind, usage_day, cost, currency FROM attribution_share_detail
        )
        SELECT {', '.join(key)}, {_pivot(every)}, sum(cost) AS total, currency FROM lines
        GROUP BY ALL ORDER BY currency, {'usage_day' if by == 'day' else 'total DESC'}, {key[-1]}
    """).fetchall()
    cols = [*key, *every, "total", "currency"]
    return [dict(zip(cols, r)) for r in rows], cols


def _with_leftovers(con, sql: str, keys: list[str], money: list[str], extra: tuple[str, ...] = (), *,
                    columns: list[str]) -> list[dict]:
    """The view's rows, then the leftovers; every row has exactly `columns` (null where a key does not apply)."""
    out = []
    for r in con.execute(sql).fetchall():
        rec = dict(zip([*keys, *money, "currency", *extra], r))
        rec["class"] = "step" if "step" in keys else "run" if "run_id" in keys else "pipeline"
        out.append(rec)
    out += _leftovers(con)
    return [{c: rec.get(c) for c in columns} for rec in out]
