"""A step upstream of a released (pushed, registered, deployed) model ran a container image by tag, not by digest
(WARNING): a tag can be moved, so the model cannot be rebuilt from what the lineage says.

Releases are those of `RELEASES` in audit/sql.py; the steps checked are the releasing step and every execution in
the model's provenance (a cache hit counts as the execution that really ran). By digest means the image reference
contains `@sha256:`. Only KFP v2 records the image (`steps.image`); TFX and KFP v1 steps name none and are not
checked.
"""

from __future__ import annotations

from aipipe_ops.lineage import graph
from aipipe_ops.lineage.audit.finding import AuditContext, AuditRule, Severity
from aipipe_ops.lineage.audit.sql import RELEASES
from aipipe_ops.lineage.node_labels import short_run
from aipipe_ops.output import plural


class MutableImage(AuditRule):
    name = "mutable-image"
    severity = Severity.WARNING
    title = "a step upstream of a pushed or registered model ran an image by tag, not by digest"

    def check(self, ctx: AuditContext):
        con = ctx.con
        releases = con.execute(f"SELECT releaser, run_id, step, models FROM ({RELEASES}) ORDER BY releaser").fetchall()
        if not releases:
            return []
        upstream: dict[int, set[int]] = {}
        for u in graph.upstream_executions(con, {m for *_, ms in releases for m in (ms or [])}):
            upstream.setdefault(u.artifact_id, set()).add(u.execution_id)
        checked = {e for ex in upstream.values() for e in ex} | {r[0] for r in releases}
        tagged = {row[0]: row[1:] for row in con.execute(f"""
            SELECT execution_id, coalesce(step, component), image, run_id FROM steps
            WHERE execution_id IN (SELECT unnest(CAST({sorted(checked)} AS BIGINT[])))
              AND nullif(image, '') IS NOT NULL AND image NOT LIKE '%@sha256:%'
        """).fetchall()}
        findings = []
        for releaser, run_id, step, models in releases:
            executions = {releaser} | {e for m in (models or []) for e in upstream.get(m, ())}
            hits = sorted(e for e in executions if e in tagged)
            if not hits:
                continue
            images = sorted({tagged[e][1] for e in hits})
            evidence = [f"{step or 'release'} #{releaser} (run {short_run(run_id)}) released model "
                        f"#{', #'.join(map(str, models or []))}"]
            evidence += [f"<- {tagged[e][0]} #{e} (run {short_run(tagged[e][2])}) ran {tagged[e][1]}" for e in hits]
            findings.append(self.finding(
                f"execution {releaser}",
                f"model #{', #'.join(map(str, models or []))} released by {step or 'a step'} was built by "
                f"{plural(len(hits), 'step')} running an image by tag, not by digest: {', '.join(images)}",
                evidence, [run_id] + [tagged[e][2] for e in hits]))
        return findings


RULE = MutableImage()
