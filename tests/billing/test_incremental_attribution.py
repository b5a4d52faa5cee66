"""An attribution refreshed with only the days a load changed equals a whole attribution of everything held
(issue 13 item 4): the sample fleet loaded up to its last day, attributed, then its last day and late rows for an
earlier day loaded, attributed again incrementally -- every result table and the reconciliation are compared with a
`--recompute` of the same workspace, under each policy."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from aipipe_ops.billing.attribution.attribute import attribute, changed_days, latest_attribution
from aipipe_ops.billing.attribution.policies import Policy
from aipipe_ops.billing.load import load_billing
from aipipe_ops.billing.normalise import UsageWindow
from aipipe_ops.workspace import Workspace

RESULTS = {
    "attribution_lines": "bucket, run_id, pipeline, cluster, node_pool, namespace, service, sku_id, sku, "
                         "resource_kind, usage_day, currency",
    "attribution_share_detail": "bucket, cluster, node_pool, namespace, service, sku_id, sku, resource_kind, "
                                "usage_day, currency",
    "run_costs": "run_id, pipeline, bucket, resource_kind, node_pool, currency",
    "step_costs": "execution_id, run_id, step, bucket, currency",
    "pipeline_costs": "pipeline, bucket, currency",
    "model_costs": "artifact_id, run_id, bucket, currency",
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    from aipipe_ops.cli import main

    out = tmp_path_factory.mktemp("fleet") / "sample"
    assert main(["sample", "--runs", "30", "--days", "4", "--seed", "7", "--out", str(out),
                 "--billing-format", "parquet", "--format", "json"]) == 0
    lineage = tmp_path_factory.mktemp("lineage") / "workspace.duckdb"
    assert main(["--workspace", str(lineage), "lineage", "snapshot", "--mlmd", f"sqlite:///{out}/mlmd.sqlite"]) == 0
    return out, lineage


def _results(con) -> dict[str, dict]:
    out = {}
    for table, keys in RESULTS.items():
        out[table] = dict(((tuple(r[:-1]), r[-1]) for r in con.execute(
            f"SELECT {keys}, sum(cost) FROM {table} GROUP BY ALL").fetchall()))
    return out


def _split_by_export_time(out, tmp_path) -> tuple[str, str]:
    """The sample's export as two files: the export batches up to a cut-off export_time, and the later ones (the
    next day's rows, and late rows and corrections for days already held), as two daily deliveries would be."""
    import duckdb

    con = duckdb.connect()
    src = f"read_parquet('{out}/billing/*.parquet')"
    cut = con.execute(f"SELECT quantile_disc(export_time, 0.7) FROM {src}").fetchone()[0]
    first, later = tmp_path / "first.parquet", tmp_path / "later.parquet"
    con.execute(f"COPY (SELECT * FROM {src} WHERE export_time <= ?) TO '{first}' (FORMAT parquet)", [cut])
    con.execute(f"COPY (SELECT * FROM {src} WHERE export_time > ?) TO '{later}' (FORMAT parquet)", [cut])
    return str(first), str(later)


def _workspace_with_the_first_part(fleet, tmp_path) -> tuple[Workspace, str]:
    """A copy of the fleet's lineage workspace holding the export batches up to the cut-off; returns it (open) and
    the file of the later batches."""
    out, lineage = fleet
    path = tmp_path / "workspace.duckdb"
    shutil.copy(lineage, path)
    first_part, later_part = _split_by_export_time(out, tmp_path)
    ws = Workspace.open(path)
    load_billing(ws, first_part)
    return ws, later_part


@pytest.mark.parametrize("policy", [Policy(), Policy(idle="share", shared="weighted"),
                                    Policy(idle="share", shared="even", share_namespaces=("kubeflow",))],
                         ids=["separate", "share-weighted", "share-even-kubeflow"])
def test_refreshing_the_changed_days_equals_attributing_everything(fleet, tmp_path, policy):
    ws, later_part = _workspace_with_the_first_part(fleet, tmp_path)
    with ws:
        first = attribute(ws, policy, incremental=True)
        held_days = {r[0] for r in ws.con.execute("SELECT DISTINCT usage_day FROM cost_lines").fetchall()}
        load_billing(ws, later_part)
        changed = changed_days(ws.con, latest_attribution(ws.con)["created_at"])
        # The later batches hold the next days and late rows for days already held: both are refreshed.
        assert set(changed) - held_days and set(changed) & held_days
        refreshed = attribute(ws, policy, incremental=True)
        assert refreshed.attribution_id == first.attribution_id     # refreshed in place, not attributed again
        assert all(r["status"] == "ok" for r in refreshed.reconciliation)
        incremental = _results(ws.con)
        whole = attribute(ws, policy)
        assert whole.attribution_id == first.attribution_id + 1
        assert _results(ws.con) == incremental
        assert whole.reconciliation == refreshed.reconciliation


def test_only_the_changed_days_are_attributed_again(fleet, tmp_path):
    ws, later_part = _workspace_with_the_first_part(fleet, tmp_path)
    with ws:
        attribute(ws, Policy(idle="share"), incremental=True)
        stamp = latest_attribution(ws.con)["created_at"]
        assert changed_days(ws.con, stamp) == []
        load_billing(ws, later_part)
        changed = changed_days(ws.con, stamp)
        later_days = {r[0] for r in ws.con.execute(
            f"SELECT DISTINCT usage_day FROM cost_lines WHERE load_id = (SELECT max(load_id) FROM loads)").fetchall()}
        assert set(changed) == later_days
        # A lineage snapshot since: runs may resolve differently on any day, so every day is attributed again.
        ws.con.execute("INSERT INTO loads (load_id, kind, source, loaded_at, rows) "
                       "VALUES (999, 'lineage', 'x', now(), 0)")
        assert changed_days(ws.con, stamp) is None
