"""Which run a cost line belongs to (docs/cost-model.md §3), resolved against the lineage tables.

The resolution is a small table over the distinct label combinations of the lines, so it is cheap to redo: a
load fills cost_lines.run_id with it, and every attribution resolves again, so lineage loaded after billing
changes the answer without reloading the export.
"""

from __future__ import annotations

import duckdb


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = ? AND column_name = ?",
        [table, column]).fetchone()[0])


def resolve_runs_sql(con: duckdb.DuckDBPyConnection, lines: str = "cost_lines") -> str:
    """SELECT run_label, workflow, vertex_run, run_id, pipeline: one row per distinct label combination."""
    by_workflow = (
        "SELECT workflow, min(run_id) AS run_id FROM runs WHERE workflow IS NOT NULL GROUP BY workflow"
        if _has_column(con, "runs", "workflow") else
        "SELECT CAST(NULL AS VARCHAR) AS workflow, CAST(NULL AS VARCHAR) AS run_id WHERE false"
    )
    return f"""
        WITH combos AS (
            SELECT DISTINCT run_label, workflow, vertex_run FROM {lines}
            WHERE run_label IS NOT NULL OR workflow IS NOT NULL OR vertex_run IS NOT NULL
        ),
        known AS (SELECT run_id, any_value(pipeline) AS pipeline FROM runs GROUP BY run_id),
        by_workflow AS ({by_workflow}),
        resolved AS (
            SELECT c.run_label, c.workflow, c.vertex_run,
                   coalesce(k1.run_id, k2.run_id, w.run_id, k3.run_id, c.vertex_run, c.run_label) AS run_id
            FROM combos c
            LEFT JOIN known k1 ON k1.run_id = c.run_label
            LEFT JOIN known k2 ON k2.run_id = c.workflow
            LEFT JOIN by_workflow w ON w.workflow = c.workflow
            LEFT JOIN known k3 ON k3.run_id = c.vertex_run
        )
        SELECT r.run_label, r.workflow, r.vertex_run, r.run_id,
               coalesce(k.pipeline,
                        CASE WHEN r.workflow IS NOT NULL AND r.workflow LIKE '%-%'
                             THEN regexp_replace(r.workflow, '-[^-]*$', '') END,
                        '(unknown)') AS pipeline
        FROM resolved r LEFT JOIN known k ON k.run_id = r.run_id
        WHERE r.run_id IS NOT NULL
    """
