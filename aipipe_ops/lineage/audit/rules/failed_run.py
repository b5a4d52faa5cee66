"""Runs that failed (WARNING): some state-bearing step ended FAILED. The failed steps are the evidence.

KFP v1 records no states, so its runs are never reported here; KFP v2 DAG executions are bookkeeping and only
count when nothing else does (orchestrators/derivations.py).
"""

from __future__ import annotations

from aipipe_ops.lineage.audit.finding import AuditContext, AuditRule, Severity
from aipipe_ops.lineage.node_labels import short_run


class FailedRun(AuditRule):
    name = "failed-run"
    severity = Severity.WARNING
    title = "a run failed"

    def check(self, ctx: AuditContext):
        findings = []
        rows = ctx.con.execute("""
            SELECT r.run_id, r.pipeline, r.finished_at,
                   list(coalesce(s.step, s.component, s.type_name) || ' #' || s.execution_id ORDER BY s.execution_id)
                       FILTER (WHERE s.state = 'FAILED') AS failed
            FROM runs r LEFT JOIN steps s USING (run_id)
            WHERE r.state = 'FAILED'
            GROUP BY ALL ORDER BY r.run_id
        """).fetchall()
        for run_id, pipeline, finished_at, failed in rows:
            failed = failed or []
            findings.append(self.finding(
                f"run {run_id}",
                f"run {short_run(run_id)} of pipeline {pipeline or '?'} failed"
                + (f" at {finished_at:%Y-%m-%d %H:%M} UTC" if finished_at else "")
                + (f": {', '.join(failed)}" if failed else ""),
                [f"run {run_id}"] + [f"-> {step} FAILED" for step in failed], [run_id]))
        return findings


RULE = FailedRun()
