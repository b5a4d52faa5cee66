"""Step costs: by pod lifetime within each hour, by requests where the lineage has them, DAGs cost nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from aipipe_ops.billing.attribution.attribute import attribute
from aipipe_ops.billing.load import load_billing
from conftest import insert_runs, insert_steps, utc
from export_rows import gke_labels, row, write_parquet

H = utc(2026, 3, 2, 10)
MIN = dt.timedelta(minutes=1)


def core(hour, cost, sku="N2 Instance Core running in Americas"):
    return row(start=H + dt.timedelta(hours=hour), sku=sku, cost=cost, labels=gke_labels(pool="p", namespace="n", run="r1"))


def test_hourly_overlap_and_dag_without_pod(workspace, tmp_path):
    steps = [
        {"execution_id": 1, "run_id": "r1", "step": "root-dag", "created_at": H, "updated_at": H + 120 * MIN},
        {"execution_id": 2, "run_id": "r1", "step": "a", "created_at": H, "updated_at": H + 90 * MIN},
        {"execution_id": 3, "run_id": "r1", "step": "b", "created_at": H + 30 * MIN, "updated_at": H + 120 * MIN},
    ]
    insert_runs(workspace, [{"run_id": "r1", "pipeline": "p"}])
    insert_steps(workspace, steps)
    # The DAG ran no pod: it spans both hours but costs nothing.
    workspace.con.execute("UPDATE steps SET pod_name = 'pod-' || step WHERE execution_id IN (2, 3)")
    load_billing(workspace, str(write_parquet([core(0, 9.0), core(1, 4.0)], tmp_path / "e.parquet")))
    attribute(workspace)
    got = dict(workspace.con.execute("SELECT step, sum(cost) FROM step_costs GROUP BY 1").fetchall())
    # hour 10: a 60 min, b 30 min -> 6 : 3; hour 11: a 30 min, b 60 min -> 4/3 : 8/3
    assert got == {"a": Decimal("6") + Decimal("1.333333333"), "b": Decimal("3") + Decimal("2.666666667")}


def test_requests_weight_the_split_where_the_lineage_has_them(workspace, tmp_path):
    workspace.con.execute("ALTER TABLE steps ADD COLUMN cpu_request DOUBLE")
    steps = [{"execution_id": 1, "run_id": "r1", "step": "small", "created_at": H, "updated_at": H + 60 * MIN},
             {"execution_id": 2, "run_id": "r1", "step": "big", "created_at": H, "updated_at": H + 60 * MIN}]
    insert_runs(workspace, [{"run_id": "r1", "pipeline": "p"}])
    insert_steps(workspace, steps)
    workspace.con.execute("UPDATE steps SET cpu_request = CASE step WHEN 'small' THEN 1 ELSE 3 END")
    rows = [core(0, 8.0), core(0, 2.0, sku="N2 Instance Ram running in Americas")]
    load_billing(workspace, str(write_parquet(rows, tmp_path / "e.parquet")))
    attribute(workspace)
    got = dict(workspace.con.execute("SELECT step, sum(cost) FROM step_costs GROUP BY 1").fetchall())
    # cpu 8.00 by requests 1 : 3; ram 2.00 (no memory_request column) by duration 1 : 1
    assert got == {"small": Decimal(2) + Decimal(1), "big": Decimal(6) + Decimal(1)}


def test_cost_in_an_hour_without_steps_goes_by_whole_duration(workspace, tmp_path):
    steps = [{"execution_id": 1, "run_id": "r1", "step": "a", "created_at": H, "updated_at": H + 30 * MIN},
             {"execution_id": 2, "run_id": "r1", "step": "b", "created_at": H + 30 * MIN, "updated_at": H + 120 * MIN}]
    insert_runs(workspace, [{"run_id": "r1", "pipeline": "p"}])
    insert_steps(workspace, steps)
    load_billing(workspace, str(write_parquet([core(5, 12.0)], tmp_path / "e.parquet")))
    attribute(workspace)
    got = dict(workspace.con.execute("SELECT step, sum(cost) FROM step_costs GROUP BY 1").fetchall())
    assert got == {"a": Decimal(3), "b": Decimal(9)}  # 30 : 90 minutes
