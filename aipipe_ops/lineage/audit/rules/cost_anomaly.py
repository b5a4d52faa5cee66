"""Runs and accelerator steps far off their pipeline's usual (WARNING).

Cost: a run whose total attributed cost (every bucket of the latest attribution in `run_costs`, per currency) is
more than k times the median run cost of its pipeline (`--cost-factor`, default 3), among pipelines with at least
3 costed runs. Run costs come from billing's attribution (`aipipe costs`); the lineage package reads that table by
SQL and never imports billing. Without it, the cost check is skipped and one info finding says so.

Duration: a finished, non-cached step running more than k times the median duration of the same step in its
pipeline (`--duration-factor`, default 3; at least 3 runs of that step, and at least 10 minutes over the median).
MLMD does not record the node pool a step ran on; when run costs exist, only steps of runs that paid for a GPU or
TPU are checked (an accelerator step), otherwise every step is.
"""

from __future__ import annotations

from aipipe_ops.lineage.audit.finding import AuditContext, AuditRule, Severity
from aipipe_ops.lineage.audit.sql import table_has_rows
from aipipe_ops.lineage.node_labels import short_run

MIN_SAMPLES = 3
MIN_EXCESS_SECONDS = 600


class CostAnomaly(AuditRule):
    name = "cost-anomaly"
    severity = Severity.WARNING
    title = "a run costing k times its pipeline's median, or an accelerator step running k times its usual time"

    def check(self, ctx: AuditContext):
        cost_k = float(ctx.options.get("cost_factor") or 3)
        time_k = float(ctx.options.get("duration_factor") or 3)
        con = ctx.con
        findings = []
        costed = table_has_rows(con, "run_costs")
        if costed:
            findings += self._costs(con, cost_k)
        else:
            findings.append(self.finding(
                "run costs", "run costs not checked: the workspace has no run costs (run `aipipe costs` after "
                "loading billing to attribute them); step durations were checked on every step",
                severity=Severity.INFO))
        findings += self._durations(con, time_k, accelerator_runs_only=costed)
        return findings

    def _costs(self, con, k: float):
        latest = ("WHERE attribution_id = (SELECT max(attribution_id) FROM run_costs)"
                  if con.execute("SELECT count(attribution_id) FROM run_costs").fetchone()[0] else "")
        rows = con.execute(f"""
            WITH per_run AS (
                SELECT run_id, any_value(c.pipeline) AS cost_pipeline, currency, sum(cost)::DOUBLE AS cost
                FROM run_costs c {latest} GROUP BY run_id, currency
            ),
            runs_ AS (
                SELECT p.*, coalesce(r.pipeline, p.cost_pipeline) AS pipeline
                FROM per_run p LEFT JOIN runs r USING (run_id) WHERE p.run_id IS NOT NULL
            ),
            medians AS (
                SELECT pipeline, currency, median(cost) AS median, count(*) AS n FROM runs_
                WHERE pipeline IS NOT NULL GROUP BY ALL HAVING count(*) >= {MIN_SAMPLES}
            )
            SELECT r.run_id, r.pipeline, r.currency, r.cost, m.median, m.n
            FROM runs_ r JOIN medians m USING (pipeline, currency)
            WHERE m.median > 0 AND r.cost > {k} * m.median
            ORDER BY r.cost DESC, r.run_id
        """).fetchall()
        return [self.finding(
            f"run {run_id}",
            f"run {short_run(run_id)} of pipeline {pipeline} cost {cost:,.2f} {currency}, {cost / median:.1f}x its "
            f"pipeline's median run ({median:,.2f} {currency} over {n} runs; threshold {k:g}x)",
            [f"run {run_id}: {cost:,.2f} {currency}", f"pipeline {pipeline}: median {median:,.2f} {currency}"],
            [run_id]) for run_id, pipeline, currency, cost, median, n in rows]

    def _durations(self, con, k: float, accelerator_runs_only: bool):
        only = ""
        if accelerator_runs_only:
            only = "AND s.run_id IN (SELECT run_id FROM run_costs WHERE resource_kind IN ('gpu', 'tpu'))"
        rows = con.execute(f"""
            WITH timed AS (
                SELECT s.execution_id, s.run_id, r.pipeline, coalesce(s.step, s.component) AS step,
                       epoch(s.updated_at) - epoch(s.created_at) AS seconds
                FROM steps s JOIN runs r USING (run_id)
                WHERE s.state IN ('COMPLETE', 'FAILED') AND s.created_at IS NOT NULL AND s.updated_at IS NOT NULL
                  AND coalesce(s.component, '') NOT IN ('dag', 'importer') {only}
            ),
            usual AS (
                SELECT pipeline, step, median(seconds) AS median, count(*) AS n FROM timed
                GROUP BY ALL HAVING count(*) >= {MIN_SAMPLES}
            )
            SELECT t.execution_id, t.run_id, t.pipeline, t.step, t.seconds, u.median, u.n
            FROM timed t JOIN usual u USING (pipeline, step)
            WHERE t.seconds > {k} * u.median AND t.seconds - u.median >= {MIN_EXCESS_SECONDS}
            ORDER BY t.seconds - u.median DESC, t.execution_id
        """).fetchall()
        return [self.finding(
            f"execution {execution_id}",
            f"step {step} #{execution_id} of run {short_run(run_id)} ran {_hours(seconds)}, "
            f"{'far' if not median else f'{seconds / median:.1f}x'} past its usual {_hours(median)} in pipeline "
            f"{pipeline} (median over {n} runs; threshold {k:g}x)",
            [f"{step} #{execution_id} (run {short_run(run_id)}): {_hours(seconds)}",
             f"pipeline {pipeline}, step {step}: median {_hours(median)}"], [run_id])
            for execution_id, run_id, pipeline, step, seconds, median, n in rows]


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


RULE = CostAnomaly()
