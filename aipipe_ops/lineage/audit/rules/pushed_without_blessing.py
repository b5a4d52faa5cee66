"""A model pushed without a positive blessing (ERROR).

What counts as a push: a non-cached execution whose output is a PushedModel (kind pushed_model) that does not say
`pushed = 0` (TFX's Pusher writes 0 when it declined). What counts as a positive blessing: a ModelBlessing input
with `blessed == 1` (1 or 1.0: KFP v2 stores TFX ints as doubles) for the pushed model. The input key does not
matter: `model_blessing` (classic Pusher), `_Evaluator.blessing` (the implicit input of a Pusher inside
tfx.dsl.Cond) and legacy ModelValidator blessings are all ModelBlessing artifacts. An InfraBlessing is checked too
but does not replace a model blessing.

Reasons reported: no model blessing input at all; a blessing without a verdict (Evaluator ran without
thresholds); blessed = 0; a blessing for a different model (current_model_id); infra validation not blessed.
Limitation: a push done by a step that does not output a PushedModel (e.g. a custom KFP deploy component) is not
recognised as a push.
"""

from __future__ import annotations

from aipipe_ops.lineage.audit.finding import AuditContext, AuditRule, Severity
from aipipe_ops.lineage.audit.sql import PUSHES, has, number
from aipipe_ops.lineage.node_labels import short_run

_QUERY = f"""
WITH pushes AS ({PUSHES}),
inputs AS (
    SELECT e.execution_id AS pusher, a.artifact_id, a.kind, a.type_name, e.role,
           {number('a.properties', 'blessed')} AS blessed, {has('a.properties', 'blessed')} AS has_verdict,
           TRY_CAST({number('a.properties', 'current_model_id')} AS BIGINT) AS blessed_model
    FROM events e JOIN artifacts a USING (artifact_id)
    WHERE e.direction = 'input' AND a.kind IN ('blessing', 'model')
      AND e.execution_id IN (SELECT pusher FROM pushes)
)
SELECT p.pusher, p.pushed_id, p.pushed_uri, p.run_id, p.step,
       list(i.artifact_id ORDER BY i.artifact_id) FILTER (WHERE i.kind = 'model') AS models,
       list(struct_pack(id := i.artifact_id, type_name := i.type_name, role := i.role, blessed := i.blessed,
                        has_verdict := i.has_verdict, blessed_model := i.blessed_model) ORDER BY i.artifact_id)
           FILTER (WHERE i.kind = 'blessing') AS blessings
FROM pushes p LEFT JOIN inputs i USING (pusher)
GROUP BY ALL
ORDER BY p.pusher
"""


class PushedWithoutBlessing(AuditRule):
    name = "pushed-without-blessing"
    severity = Severity.ERROR
    title = "a model was pushed without a positive blessing for it"

    def check(self, ctx: AuditContext):
        findings = []
        for pusher, pushed_id, uri, run_id, step, models, blessings in ctx.con.execute(_QUERY).fetchall():
            models = models or []
            blessings = blessings or []
            model_blessings = [b for b in blessings if not (b["type_name"] or "").endswith("InfraBlessing")]
            infra = [b for b in blessings if (b["type_name"] or "").endswith("InfraBlessing")]
            problems = []
            if not model_blessings:
                problems.append("no ModelBlessing input: pushed without validation")
            for b in model_blessings:
                where = f"blessing #{b['id']} ({b['role'] or 'input'})"
                if not b["has_verdict"]:
                    problems.append(f"{where} has no `blessed` verdict (Evaluator ran without thresholds)")
                elif b["blessed"] is None:
                    problems.append(f"{where} has a `blessed` value that is not a number")
                elif b["blessed"] != 1:
                    problems.append(f"{where} says blessed={_num(b['blessed'])}")
                if b["blessed_model"] is not None and models and b["blessed_model"] not in models:
                    problems.append(f"{where} blesses model #{b['blessed_model']}, not the pushed "
                                    f"model #{', #'.join(map(str, models))}")
            for b in infra:
                if b["has_verdict"] and b["blessed"] != 1:
                    problems.append(f"infra blessing #{b['id']} says blessed={_num(b['blessed'])}")
            if not problems:
                continue
            evidence = [f"pushed_model #{pushed_id} {uri or ''}".rstrip(),
                        f"<- {step or 'pusher'} #{pusher} (run {short_run(run_id)})"]
            evidence += [f"<- model #{m}" for m in models]
            evidence += [f"<- blessing #{b['id']} {b['role'] or ''} blessed={_num(b['blessed'])}".replace("  ", " ")
                         for b in blessings]
            findings.append(self.finding(
                f"artifact {pushed_id}",
                f"model{' #' + ', #'.join(map(str, models)) if models else ''} pushed without a positive "
                f"blessing: " + "; ".join(problems),
                evidence, [run_id]))
        return findings


def _num(value) -> str:
    if value is None:
        return "none"
    return str(int(value)) if float(value).is_integer() else str(value)


RULE = PushedWithoutBlessing()
