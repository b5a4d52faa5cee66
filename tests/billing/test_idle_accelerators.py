"""docs/cost-model.md §11 (idle accelerator hours), reproduced exactly: the test reads the example's export rows
and result from the page and checks the engine's figures under both idle policies (the money is the same)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aipipe_ops.billing.attribution.attribute import attribute, latest_attribution
from aipipe_ops.billing.attribution.policies import Policy
from aipipe_ops.billing.idle_accelerators import idle_accelerators
from aipipe_ops.billing.load import load_billing
from aipipe_ops.billing.resource_kinds import kind_of
from conftest import insert_runs, utc
from export_rows import gke_labels, row, write_parquet
from test_cost_model_example import doc_table, money

HOUR = utc(2026, 3, 2, 10)
L4 = ("L4-0000-0001", "0.75")   # the L4 SKU's id and the hourly list price the page states


@pytest.mark.parametrize("idle", ["separate", "share"])
def test_idle_accelerators_match_the_page(workspace, tmp_path, idle):
    rows = []
    for r in doc_table("Idle accelerators example: export rows"):
        assert kind_of("Compute Engine", r["sku"]) == r["kind"]
        assert money(r["cost"]) + money(r["credits"]) == money(r["net"])
        credits = [float(r["credits"])] if money(r["credits"]) else []
        rows.append(row(start=HOUR, sku=r["sku"], cost=float(r["cost"]), credits=credits,
                        sku_id=L4[0] if r["kind"] == "gpu" else None,
                        labels=gke_labels("prod", pool=r["node pool"], namespace=r["namespace"], run=r["run"] or None)))
    insert_runs(workspace, [{"run_id": "run-a", "pipeline": "vision"}])
    workspace.con.execute(f"INSERT INTO prices (sku_id, resource_kind, unit, unit_price, currency) "
                          f"VALUES ('{L4[0]}', 'gpu', 'h', {L4[1]}, 'USD')")
    load_billing(workspace, str(write_parquet(rows, tmp_path / "export.parquet")))
    attribute(workspace, Policy(idle=idle))
    aid = latest_attribution(workspace.con)["attribution_id"]
    got = {(r["node_pool"], r["accelerator"]): r for r in idle_accelerators(workspace.con, aid, "USD")}
    want = doc_table("Idle accelerators example: result")
    assert set(got) == {(r["node pool"], r["accelerator"]) for r in want}
    for r in want:
        line = got[(r["node pool"], r["accelerator"])]
        hours = None if r["idle hours"] == "–" else Decimal(r["idle hours"])
        assert (line["accelerator_cost"], line["idle_cost"], line["idle_hours"]) == (
            money(r["accelerator cost"]), money(r["idle cost"]), hours), r


def test_an_unknown_price_is_asked_of_the_caller(workspace, tmp_path):
    """The caller's price book prices what the workspace's prices table lacks (here: the TPU chip)."""
    rows = [row(start=HOUR, sku="TpuV5e chip running in Americas", cost=2.40, sku_id="TPU-1",
                labels=gke_labels("prod", pool="tpu-pool", namespace="kube:unallocated"))]
    load_billing(workspace, str(write_parquet(rows, tmp_path / "export.parquet")))
    attribute(workspace, Policy())
    aid = latest_attribution(workspace.con)["attribution_id"]
    asked = []

    def price_of(sku_id, description, currency):
        asked.append((sku_id, description, currency))
        return Decimal("1.20")

    [line] = idle_accelerators(workspace.con, aid, "USD", price_of=price_of)
    assert line["idle_hours"] == Decimal("2.000")
    assert asked == [("TPU-1", "TpuV5e chip running in Americas", "USD")]
