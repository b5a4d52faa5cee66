"""A model that one evaluation refused (blessed = 0) and that was pushed elsewhere (ERROR).

The refused model is the blessing's `current_model_id`, or else the evaluator execution's model input (not its
baseline). A push of that model (a non-cached execution with that model as input and a PushedModel output that
does not say pushed = 0) that did not consume the refusing blessing is reported with both runs: the run whose
evaluation refused the model and the run that pushed it. (A push that did consume a refusing blessing is
`pushed-without-blessing`'s finding.)
"""

from __future__ import annotations

from aipipe_ops.lineage.audit.finding import AuditContext, AuditRule, Severity
from aipipe_ops.lineage.audit.sql import PUSHES, number
from aipipe_ops.lineage.node_labels import short_run

_QUERY = f"""
WITH refusals AS (
    SELECT b.artifact_id AS blessing_id, s.execution_id AS evaluator, coalesce(s.step, s.component) AS evaluator_step,
           s.run_id AS evaluator_run,
           coalesce(TRY_CAST({number('b.properties', 'current_model_id')} AS BIGINT),
                    (SELECT min(i.artifact_id) FROM events i JOIN artifacts m USING (artifact_id)
                     WHERE i.execution_id = s.execution_id AND i.direction = 'input' AND m.kind = 'model'
                       AND coalesce(i.role, '') NOT ILIKE '%baseline%')) AS model_id
    FROM artifacts b
    JOIN events e ON e.artifact_id = b.artifact_id AND e.direction = 'output'
    JOIN steps s ON s.execution_id = e.execution_id
    WHERE b.kind = 'blessing' AND coalesce(b.type_name, '') NOT LIKE '%InfraBlessing'
      AND {number('b.properties', 'blessed')} = 0
),
pushes AS ({PUSHES}),
pushed_models AS (
    SELECT p.*, i.artifact_id AS model_id
    FROM pushes p JOIN events i ON i.execution_id = p.pusher AND i.direction = 'input'
    JOIN artifacts m ON m.artifact_id = i.artifact_id AND m.kind = 'model'
)
SELECT r.model_id, r.blessing_id, r.evaluator, r.evaluator_step, r.evaluator_run,
       p.pusher, p.step AS pusher_step, p.run_id AS pusher_run, p.pushed_id
FROM refusals r JOIN pushed_models p USING (model_id)
WHERE NOT EXISTS (SELECT 1 FROM events c WHERE c.execution_id = p.pusher AND c.artifact_id = r.blessing_id
                  AND c.direction = 'input')
ORDER BY r.model_id, p.pusher, r.blessing_id
"""


class RefusedModelPushed(AuditRule):
    name = "refused-model-pushed"
    severity = Severity.ERROR
    title = "a model blessed=0 by one evaluation was pushed by another run"

    def check(self, ctx: AuditContext):
        findings = []
        for (model_id, blessing_id, evaluator, evaluator_step, evaluator_run, pusher, pusher_step, pusher_run,
             pushed_id) in ctx.con.execute(_QUERY).fetchall():
            where = "the same run" if evaluator_run == pusher_run else f"run {short_run(pusher_run)}"
            findings.append(self.finding(
                f"artifact {model_id}",
                f"model #{model_id} was refused (blessed=0) by {evaluator_step or 'evaluator'} #{evaluator} in run "
                f"{short_run(evaluator_run)} and pushed by {pusher_step or 'pusher'} #{pusher} in {where}",
                [f"model #{model_id}",
                 f"-> {evaluator_step or 'evaluator'} #{evaluator} (run {short_run(evaluator_run)}) "
                 f"-> blessing #{blessing_id} blessed=0",
                 f"-> {pusher_step or 'pusher'} #{pusher} (run {short_run(pusher_run)}) -> pushed_model #{pushed_id}"],
                [evaluator_run, pusher_run]))
        return findings


RULE = RefusedModelPushed()
