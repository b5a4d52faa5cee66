"""The first two steps of an attribution: which run (docs/cost-model.md §3) and which class of cost (§2) each cost
line of the window belongs to.

- `resolve_runs`: reads cost_lines' run labels and the lineage's runs; writes one row per label combination
  (run_label, workflow, vertex_run, run_id, pipeline).
- `classify_lines`: reads cost_lines in the window and the resolved runs; writes the classified lines (class,
  run_id, pipeline, workload, DETAIL..., cost), summed over the hour: what every later step reads instead of
  cost_lines. A direct line is a run's (run_id) or another workload's (workload: docs/cost-model.md §2).
"""

from __future__ import annotations

import duckdb

from aipipe_ops.billing.attribution.allocation import DETAIL
from aipipe_ops.billing.normalise import UsageWindow
from aipipe_ops.billing.runs import resolve_runs_sql
from aipipe_ops.sql import DUCKDB

IDLE_NAMESPACE = "kube:unallocated"
OVERHEAD_NAMESPACE = "kube:system-overhead"
# GKE cost allocation's namespace for cost it could not place in a namespace (reference/billing.md §3.1).
UNKNOWN_NAMESPACE = "goog-k8s-unknown"
# `shared_namespace` is a namespace named by --share-namespace: the shared policy says whose it becomes.
CLASSES = ("commitment", "direct", "idle", "overhead", "shared_namespace", "unattributed")
RUN_LABELS = ("run_label", "workflow", "vertex_run")


def resolve_runs(con: duckdb.DuckDBPyConnection, *, into: str, lines: str = "cost_lines") -> str:
    """Reads `lines` (their run labels) and runs; writes `into` (run_label, workflow, vertex_run, run_id,
    pipeline), one row per label combination that resolves to a run; returns `into`."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {into} AS {resolve_runs_sql(lines)}")
    return into


def same_run_sql(line: str, run: str) -> str:
    """The join condition of a cost line (alias `line`) with its row of resolved runs (alias `run`)."""
    return " AND ".join(f"{line}.{c} IS NOT DISTINCT FROM {run}.{c}" for c in RUN_LABELS)


def classify_sql(share_namespaces: tuple[str, ...], *, run_id: str, namespace: str, resource_kind: str,
                 commitment: str = "false") -> str:
    """The class of a cost line (first rule that matches), from the column expressions of its resolved run id,
    namespace and resource kind, and `commitment` (true for a commitment fee's line: commitments.fee_sql);
    `share_namespaces` (--share-namespace) are of class shared_namespace. A line of
    another workload (a namespace's pods that are not a run's) is `direct` too: workload_sql names it."""
    shared = ", ".join(DUCKDB.quote(ns) for ns in share_namespaces) or "NULL"
    return f"""CASE WHEN {commitment} THEN 'commitment'
                    WHEN {run_id} IS NOT NULL THEN 'direct'
                    WHEN {namespace} = {DUCKDB.quote(IDLE_NAMESPACE)} THEN 'idle'
                    WHEN {namespace} = {DUCKDB.quote(OVERHEAD_NAMESPACE)} OR {resource_kind} = 'cluster_fee'
                         THEN 'overhead'
                    WHEN {namespace} IN ({shared}) THEN 'shared_namespace'
                    WHEN {namespace} IS NOT NULL AND {namespace} <> {DUCKDB.quote(UNKNOWN_NAMESPACE)} THEN 'direct'
                    ELSE 'unattributed' END"""


def workload_sql(cost_class: str, *, run_id: str, namespace: str, workload_label: str) -> str:
    """The workload of a direct line that is not a run's: `namespace/label` (normalise.WORKLOAD_LABELS) or the
    namespace alone; NULL for a run's line and for every other class."""
    return (f"CASE WHEN {cost_class} = 'direct' AND {run_id} IS NULL "
            f"THEN {namespace} || coalesce('/' || {workload_label}, '') END")


def classify_lines(con: duckdb.DuckDBPyConnection, window: UsageWindow, share_namespaces: tuple[str, ...], *,
                   runs: str, into: str, source: str = "cost_lines") -> str:
    """Reads `source` (cost_lines, or the commitment policy's lines) in `window` and `runs` (from resolve_runs);
    writes `into` (class, run_id, pipeline, workload,
    DETAIL..., cost), the window's lines classified and summed over their hours; returns `into`."""
    detail = ", ".join(f"c.{col}" for col in DETAIL)
    from aipipe_ops.billing.attribution.commitments import fee_sql

    cost_class = classify_sql(share_namespaces, run_id="m.run_id", namespace="c.namespace",
                              resource_kind="c.resource_kind", commitment=fee_sql("c.sku"))
    workload = workload_sql("class", run_id="run_id", namespace="namespace", workload_label="workload_label")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {into} AS
        SELECT class, run_id, pipeline, {workload} AS workload, * EXCLUDE (class, run_id, pipeline, workload_label)
        FROM (SELECT {cost_class} AS class, m.run_id, m.pipeline, c.workload_label, {detail},
                     sum(c.net_cost) AS cost
              FROM {source} c LEFT JOIN {runs} m ON {same_run_sql('c', 'm')}
              WHERE {window.where_sql('c')}
              GROUP BY ALL)
    """)
    return into
