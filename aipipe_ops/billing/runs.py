"""Which run a cost line belongs to (docs/cost-model.md §3), resolved against the lineage tables.

The resolution is a few lookups of a line's run labels in the (small) runs table, so it is cheap to redo: a
load fills cost_lines.run_id with it on the way in, and every attribution resolves again over the distinct label
combinations of the lines, so lineage loaded after billing changes the answer without reloading the export.
Both use the one definition below (`_lookups`, `run_id_sql`).
"""

from __future__ import annotations

def _lookups(alias: str) -> str:
    """LEFT JOINs of the run labels of `alias` (run_label, workflow, vertex_run) to the runs the lineage knows:
    k1 by run id = pipeline/runid, k2 by run id = Argo workflow, w by a run's recorded workflow, k3 by run id =
    Vertex run id. Each lookup table has one row per key, so a line never fans out."""
    by_workflow = "SELECT workflow, min(run_id) AS run_id FROM runs WHERE workflow IS NOT NULL GROUP BY workflow"
    known = "(SELECT DISTINCT run_id FROM runs)"
    return (f"LEFT JOIN {known} k1 ON k1.run_id = {alias}.run_label "
            f"LEFT JOIN {known} k2 ON k2.run_id = {alias}.workflow "
            f"LEFT JOIN ({by_workflow}) w ON w.workflow = {alias}.workflow "
            f"LEFT JOIN {known} k3 ON k3.run_id = {alias}.vertex_run")


def run_id_sql(alias: str) -> str:
    """The run of a line, from the lookups: NULL when the line carries no run label."""
    return (f"coalesce(k1.run_id, k2.run_id, w.run_id, k3.run_id, {alias}.vertex_run, {alias}.run_label)")


def resolved_lines_sql(lines: str, columns: list[str]) -> str:
    """SELECT `columns` of the `lines` relation and their run_id, one row per line (for the load)."""
    cols = ", ".join(f"l.{c}" for c in columns)
    return f"SELECT {cols}, {run_id_sql('l')} AS run_id FROM {lines} l {_lookups('l')}"


def resolve_runs_sql(lines: str = "cost_lines") -> str:
    """SELECT run_label, workflow, vertex_run, run_id, pipeline: one row per distinct label combination."""
    return f"""
        WITH combos AS (
            SELECT DISTINCT run_label, workflow, vertex_run FROM {lines}
            WHERE run_label IS NOT NULL OR workflow IS NOT NULL OR vertex_run IS NOT NULL
        ),
        known AS (SELECT run_id, any_value(pipeline) AS pipeline FROM runs GROUP BY run_id),
        resolved AS (
            SELECT c.run_label, c.workflow, c.vertex_run, {run_id_sql('c')} AS run_id
            FROM combos c {_lookups('c')}
        )
        SELECT r.run_label, r.workflow, r.vertex_run, r.run_id,
               coalesce(k.pipeline,
                        CASE WHEN r.workflow IS NOT NULL AND r.workflow LIKE '%-%'
                             THEN regexp_replace(r.workflow, '-[^-]*$', '') END,
                        '(unknown)') AS pipeline
        FROM resolved r LEFT JOIN known k ON k.run_id = r.run_id
        WHERE r.run_id IS NOT NULL
    """
