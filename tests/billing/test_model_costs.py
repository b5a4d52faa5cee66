"""What a model costs: its provenance's step costs, each execution once; a cache hit charges the original."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from aipipe_ops.billing.attribution.attribute import attribute
from aipipe_ops.billing.attribution.policies import Policy
from aipipe_ops.billing.load import load_billing
from conftest import insert_runs, insert_steps, utc
from export_rows import gke_labels, row, write_parquet

H = utc(2026, 3, 2, 10)
CORE = "N2 Instance Core running in Americas"


def lineage(ws):
    insert_runs(ws, [{"run_id": "run-a", "pipeline": "taxi"}, {"run_id": "run-c", "pipeline": "taxi"}])
    hour = dt.timedelta(hours=1)
    insert_steps(ws, [
        {"execution_id": 1, "run_id": "run-a", "step": "prep", "created_at": H, "updated_at": H + hour},
        {"execution_id": 2, "run_id": "run-a", "step": "train", "created_at": H + hour, "updated_at": H + 2 * hour},
        # run-c re-uses run-a's prep through the cache, then trains again.
        {"execution_id": 3, "run_id": "run-c", "step": "prep", "cached_from": 1, "created_at": H + 2 * hour,
         "updated_at": H + 3 * hour},
        {"execution_id": 4, "run_id": "run-c", "step": "train", "created_at": H + 3 * hour,
         "updated_at": H + 4 * hour},
    ])
    for artifact_id, kind in ((10, "dataset"), (20, "model"), (40, "model"), (50, "pushed_model")):
        ws.con.execute("INSERT INTO artifacts (artifact_id, kind, uri) VALUES (?, ?, ?)",
                       [artifact_id, kind, f"gs://b/{artifact_id}"])
    for execution_id, artifact_id, direction in ((1, 10, "output"), (2, 10, "input"), (2, 20, "output"),
                                                 (3, 10, "reuse"), (4, 10, "input"), (4, 40, "output")):
        ws.con.execute("INSERT INTO events (execution_id, artifact_id, direction) VALUES (?, ?, ?)",
                       [execution_id, artifact_id, direction])
    # A pusher in run-c pushes model 40.
    insert_steps(ws, [{"execution_id": 5, "run_id": "run-c", "step": "push", "created_at": H + 4 * hour,
                       "updated_at": H + 4 * hour + dt.timedelta(minutes=10)}])
    ws.con.execute("INSERT INTO events (execution_id, artifact_id, direction) VALUES (5, 40, 'input'), (5, 50, 'output')")
    from aipipe_ops.lineage.graph import refresh_index
    refresh_index(ws.con)


def test_model_costs_follow_provenance_and_cache(workspace, tmp_path):
    lineage(workspace)
    rows = [row(start=H + dt.timedelta(hours=h), sku=CORE, cost=cost,
                labels=gke_labels(pool="cpu", namespace="ns", run=run))
            for h, run, cost in ((0, "run-a", 3.0), (1, "run-a", 5.0), (2, "run-c", 0.25), (3, "run-c", 7.0),
                                 (4, "run-c", 0.5))]
    load_billing(workspace, str(write_parquet(rows, tmp_path / "e.parquet")))
    attribute(workspace, Policy())
    steps = dict(workspace.con.execute("SELECT execution_id, sum(cost) FROM step_costs GROUP BY 1").fetchall())
    assert steps == {1: 3, 2: 5, 3: Decimal("0.25"), 4: 7, 5: Decimal("0.5")}
    models = dict(workspace.con.execute("SELECT artifact_id, sum(cost) FROM model_costs GROUP BY 1").fetchall())
    assert models[20] == steps[1] + steps[2]
    # The cache hit (execution 3) is resolved to run-a's prep: model 40 pays for the original computation.
    assert models[40] == steps[1] + steps[4]
    assert models[50] == steps[1] + steps[4] + steps[5]
    runs = {r for (r,) in workspace.con.execute("SELECT DISTINCT run_id FROM model_costs WHERE artifact_id = 40").fetchall()}
    assert runs == {"run-a", "run-c"}
