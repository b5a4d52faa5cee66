"""Artifacts whose data is gone (WARNING): a LIVE artifact (or one from a store too old to record states) whose
local file:// or plain-path URI no longer exists, or whose gs:// URI has no object when Google credentials are
configured. URIs that cannot be checked from here are summarised per scheme as one INFO finding ("unchecked"),
never reported as missing. Deleted, abandoned and pending artifacts are not expected to exist and are skipped.
"""

from __future__ import annotations

from aipipe_ops.lineage.audit.finding import AuditContext, AuditRule, Severity
from aipipe_ops.lineage.audit.uri_check import UriChecker
from aipipe_ops.lineage.node_labels import short_run
from aipipe_ops.output import plural


class MissingUri(AuditRule):
    name = "missing-uri"
    severity = Severity.WARNING
    title = "an artifact's data no longer exists at its URI"

    def check(self, ctx: AuditContext):
        checker = UriChecker(check_remote=ctx.check_remote, max_remote=int(ctx.options.get("max_remote_checks", 500)))
        rows = ctx.con.execute("""
            SELECT a.artifact_id, a.kind, a.uri, any_value(s.execution_id), any_value(coalesce(s.step, s.component)),
                   any_value(s.run_id)
            FROM artifacts a
            LEFT JOIN lineage_producers p ON p.artifact_id = a.artifact_id
            LEFT JOIN steps s ON s.execution_id = p.execution_id
            WHERE a.uri IS NOT NULL AND a.uri <> '' AND a.state IN ('LIVE', 'UNKNOWN')
            GROUP BY ALL ORDER BY a.artifact_id
        """).fetchall()
        findings = []
        unchecked: dict[str, list] = {}
        for artifact_id, kind, uri, producer, step, run_id in rows:
            status = checker.status(uri)
            if status.exists is None:
                unchecked.setdefault(status.scheme, [0, status.reason])[0] += 1
                continue
            if status.exists:
                continue
            evidence = [f"{kind} #{artifact_id} {uri}"]
            if producer is not None:
                evidence.append(f"<- {step or 'execution'} #{producer} (run {short_run(run_id)})")
            findings.append(self.finding(f"artifact {artifact_id}",
                                         f"{kind} #{artifact_id}: nothing at {uri}", evidence, [run_id]))
        for scheme, (count, reason) in sorted(unchecked.items()):
            findings.append(self.finding(
                f"{scheme}:// URIs", f"{plural(count, 'artifact URI')} on {scheme}:// not checked: {reason}",
                severity=Severity.INFO))
        return findings


RULE = MissingUri()
