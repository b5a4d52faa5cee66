"""What a model costs (docs/cost-model.md §7): the step costs of every execution in its provenance, each counted
once, all buckets. Cache hits are resolved to the executions that really produced the re-used artifacts by the
lineage graph (aipipe_ops.lineage.graph), so a model is charged the original computation even when it ran in
another run. Model costs overlap by design and are not reconciled against the bill.

`attribute_models` reads an attribution's step costs, the lineage's artifacts and graph; writes the models'
upstream executions (a temp table) and appends model_costs' rows.
"""

from __future__ import annotations

import duckdb

from aipipe_ops.sql import DUCKDB

MODEL_KINDS = ("model", "pushed_model")


def attribute_models(con: duckdb.DuckDBPyConnection, attribution_id: int, *, step_costs: str, into: str,
                     upstream: str = "att_upstream") -> int:
    """Reads `step_costs` (step_costs' columns), artifacts and the lineage graph; writes `upstream` (the models'
    upstream executions) and appends to `into` (model_costs' columns) the rows of `attribution_id`; returns the
    number of models priced."""
    kinds = ", ".join(DUCKDB.quote(k) for k in MODEL_KINDS)
    models = con.execute(f"SELECT count(*) FROM artifacts WHERE kind IN ({kinds})").fetchone()[0]
    if not models:
        return 0
    from aipipe_ops.lineage.graph import upstream_executions_table

    upstream = upstream_executions_table(con, upstream, kind=MODEL_KINDS)
    aid = DUCKDB.literal(int(attribution_id))
    con.execute(f"""
        INSERT INTO {into} (artifact_id, kind, run_id, bucket, cost, currency, attribution_id)
        SELECT u.artifact_id, a.kind, sc.run_id, sc.bucket, sum(sc.cost), sc.currency, {aid}
        FROM (SELECT DISTINCT artifact_id, execution_id FROM {upstream}) u
        JOIN {step_costs} sc ON sc.execution_id = u.execution_id
        JOIN artifacts a ON a.artifact_id = u.artifact_id
        GROUP BY ALL
    """)
    return int(models)
