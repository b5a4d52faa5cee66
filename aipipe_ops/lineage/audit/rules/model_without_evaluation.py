"""A model registered, pushed or deployed with no evaluation anywhere in its lineage (ERROR), for KFP v2 as for TFX.

What counts as a release: see `RELEASES` in audit/sql.py (a TFX/KFP Pusher's PushedModel; a KFP v2 step that takes a
model and is named like push/register/deploy/upload, or outputs a Vertex model or endpoint). What counts as an
evaluation of a released model: a metrics or blessing artifact (ModelEvaluation, Metrics, ClassificationMetrics,
ModelBlessing...) that is an input of the releasing step, or is anywhere in the model's provenance, or was output by
a step that consumed the model (a KFP v2 `evaluate` step; TFX's Evaluator). Metrics that the trainer itself wrote
beside the model are training metrics, not an evaluation. Whether the evaluation said yes is the blessing rules'
question (pushed-without-blessing, refused-model-pushed); this rule asks whether anything evaluated the model.
Limitation: a KFP v2 condition on a parameter output (`dsl.If(eval.outputs['accuracy'] > x)`) is not recorded in
MLMD; the evaluation step that consumed the model is what counts.
"""

from __future__ import annotations

from aipipe_ops.lineage import graph
from aipipe_ops.lineage.audit.finding import AuditContext, AuditRule, Severity
from aipipe_ops.lineage.audit.sql import RELEASES
from aipipe_ops.lineage.node_labels import short_run


class ModelWithoutEvaluation(AuditRule):
    name = "model-without-evaluation"
    severity = Severity.ERROR
    title = "a model was registered, pushed or deployed with no evaluation or blessing in its lineage"

    def check(self, ctx: AuditContext):
        con = ctx.con
        releases = con.execute(f"SELECT * FROM ({RELEASES}) ORDER BY releaser").fetchall()
        models = {m for *_, ms, _ in releases for m in (ms or [])}
        if not models:
            return []
        evaluated = {start for start, *_ in graph.upstream_artifacts(
            con, artifact_ids=models, kind=None, upstream_kinds=("metrics", "blessing"))}
        evaluated |= {row[0] for row in con.execute(f"""
            SELECT DISTINCT i.artifact_id
            FROM events i JOIN events o ON o.execution_id = i.execution_id AND o.direction IN ('output', 'reuse')
            JOIN artifacts oa ON oa.artifact_id = o.artifact_id
            WHERE i.direction = 'input' AND oa.kind IN ('metrics', 'blessing')
              AND i.artifact_id IN (SELECT unnest(CAST({sorted(models)} AS BIGINT[])))
        """).fetchall()}
        findings = []
        for releaser, run_id, step, released, evaluations in releases:
            if evaluations:
                continue
            missing = [m for m in (released or []) if m not in evaluated]
            if not missing:
                continue
            producers = dict(con.execute(f"""
                SELECT p.artifact_id, any_value(coalesce(s.step, s.component) || ' #' || p.execution_id
                                                || ' (run ' || coalesce(p.run_id, '?') || ')')
                FROM lineage_producers p LEFT JOIN steps s USING (execution_id)
                WHERE p.artifact_id IN (SELECT unnest(CAST({missing} AS BIGINT[]))) GROUP BY p.artifact_id
            """).fetchall())
            evidence = [f"{step or 'release'} #{releaser} (run {short_run(run_id)})"]
            evidence += [f"<- model #{m}" + (f" <- {producers[m]}" if m in producers else "") for m in missing]
            findings.append(self.finding(
                f"execution {releaser}",
                f"{step or 'a step'} released model #{', #'.join(map(str, missing))} with no evaluation: no metrics "
                f"or blessing is an input of the release, in the model's provenance, or an output of a step that "
                f"consumed the model", evidence, [run_id]))
        return findings


RULE = ModelWithoutEvaluation()
