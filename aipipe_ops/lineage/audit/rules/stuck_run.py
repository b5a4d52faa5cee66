"""Runs stuck RUNNING (WARNING): the run is RUNNING and none of its steps changed for longer than --stuck-after
(24 h by default), counted back from the time the lineage was snapshot. KFP v2 leaves an execution RUNNING for
ever when its user container never starts, and its root DAG is always RUNNING (not counted, see
orchestrators/kfp_v2.py)."""

from __future__ import annotations

from aipipe_ops.sql import DUCKDB
from aipipe_ops.lineage.audit.finding import AuditContext, AuditRule, Severity
from aipipe_ops.lineage.node_labels import short_run


class StuckRun(AuditRule):
    name = "stuck-run"
    severity = Severity.WARNING
    title = "a run has been RUNNING without progress for too long"

    def check(self, ctx: AuditContext):
        cutoff = ctx.as_of - ctx.stuck_after
        rows = ctx.con.execute(f"""
            SELECT r.run_id, r.pipeline, max(s.updated_at) AS last_change,
                   list(coalesce(s.step, s.component, s.type_name) || ' #' || s.execution_id ORDER BY s.execution_id)
                       FILTER (WHERE s.state IN ('RUNNING', 'NEW') AND coalesce(s.component, '') <> 'dag') AS running
            FROM runs r JOIN steps s USING (run_id)
            WHERE r.state = 'RUNNING'
            GROUP BY ALL
            HAVING max(s.updated_at) < {DUCKDB.literal(cutoff)}
            ORDER BY r.run_id
        """).fetchall()
        findings = []
        hours = ctx.stuck_after.total_seconds() / 3600
        for run_id, pipeline, last_change, running in rows:
            idle = (ctx.as_of - last_change).total_seconds() / 3600
            findings.append(self.finding(
                f"run {run_id}",
                f"run {short_run(run_id)} of pipeline {pipeline or '?'} is RUNNING with no change for "
                f"{idle:.0f} h (threshold {hours:g} h)" + (f": {', '.join(running)}" if running else ""),
                [f"run {run_id} last changed {last_change:%Y-%m-%d %H:%M} UTC"]
                + [f"-> {step} still RUNNING" for step in (running or [])], [run_id]))
        return findings


RULE = StuckRun()
