"""Executions that ran in a pod but name none (WARNING): without the pod name the step cannot be costed (billing
joins cost to steps by pod). One finding per run, listing the steps.

Which executions ran in a pod: KFP v2 container executions that were not cache hits (CACHED: only the driver
ran) or skipped (CANCELED: condition false); every KFP v1 execution (the metadata-writer records pods); TFX
executions of runs on KFP (some step of the run carries kfp_pod_name) that were not cache hits.
"""

from __future__ import annotations

from aipipe_ops.lineage.audit.finding import AuditContext, AuditRule, Severity
from aipipe_ops.lineage.node_labels import short_run
from aipipe_ops.output import plural


class MissingPodName(AuditRule):
    name = "missing-pod-name"
    severity = Severity.WARNING
    title = "a container execution has no pod_name, so it cannot be costed"

    def check(self, ctx: AuditContext):
        rows = ctx.con.execute("""
            WITH tfx_on_kfp AS (
                SELECT run_id FROM steps WHERE dialect = 'tfx' AND pod_name IS NOT NULL GROUP BY run_id
            )
            SELECT s.run_id, any_value(r.pipeline),
                   list(coalesce(s.step, s.component) || ' #' || s.execution_id || ' [' || s.state || ']'
                        ORDER BY s.execution_id) AS missing
            FROM steps s LEFT JOIN runs r USING (run_id)
            WHERE s.pod_name IS NULL AND (
                   (s.dialect = 'kfp-v2' AND s.type_name = 'system.ContainerExecution'
                        AND s.state NOT IN ('CACHED', 'CANCELED'))
                OR s.dialect = 'kfp-v1'
                OR (s.dialect = 'tfx' AND s.state <> 'CACHED' AND s.run_id IN (SELECT run_id FROM tfx_on_kfp)))
            GROUP BY s.run_id ORDER BY s.run_id NULLS LAST
        """).fetchall()
        findings = []
        for run_id, pipeline, missing in rows:
            findings.append(self.finding(
                f"run {run_id}" if run_id else "no run",
                f"{plural(len(missing), 'execution')} of run {short_run(run_id)} ({pipeline or '?'}) "
                f"{'has' if len(missing) == 1 else 'have'} no pod_name and "
                f"cannot be costed: {', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}",
                [f"run {run_id}"] + [f"-> {m} pod_name missing" for m in missing], [run_id]))
        return findings


RULE = MissingPodName()
