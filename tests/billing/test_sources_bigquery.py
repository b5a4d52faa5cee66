"""bq:// sources through the real google-cloud-bigquery client against a local bqemulator server."""

from __future__ import annotations

import datetime as dt

import pytest

from aipipe_ops.billing.attribution.attribute import attribute
from aipipe_ops.billing.attribution.policies import Policy
from aipipe_ops.billing.load import load_billing
from aipipe_ops.billing.normalise import UsageWindow
from aipipe_ops.billing.sources import SourceOptions
from aipipe_ops.billing.sources.bigquery import BigQuerySource, check_bytes
from aipipe_ops.errors import InputError, SourceError
from aipipe_ops.workspace import Workspace
from conftest import bq_table_with_rows, insert_runs
from export_rows import net_by_currency, write_parquet
from test_sources_files import cost_lines, sample_rows

pytestmark = pytest.mark.bigquery


def attribution_numbers(ws) -> dict:
    return {
        "runs": ws.con.execute("SELECT run_id, bucket, currency, sum(cost) FROM run_costs GROUP BY ALL "
                               "ORDER BY ALL").fetchall(),
        "lines": ws.con.execute("SELECT bucket, run_id, cluster, node_pool, namespace, sku_id, usage_day, currency, "
                                "sum(cost) FROM attribution_lines GROUP BY ALL ORDER BY ALL").fetchall(),
    }


def test_files_and_bigquery_give_the_same_numbers(bq_client, tmp_path):
    rows = sample_rows()
    spec = bq_table_with_rows(bq_client, rows)
    results = {}
    for name, source in (("bq", spec), ("files", str(write_parquet(rows, tmp_path / "export.parquet")))):
        with Workspace.open(tmp_path / f"{name}.duckdb") as ws:
            insert_runs(ws, [{"run_id": "r1", "pipeline": "p1"}])
            summary = load_billing(ws, source)
            assert {t["currency"]: t["net_cost"] for t in summary.totals} == net_by_currency(rows)
            per_policy = {}
            for idle in ("separate", "share"):
                for shared in ("separate", "weighted", "even"):
                    attribute(ws, Policy(idle=idle, shared=shared))
                    per_policy[(idle, shared)] = attribution_numbers(ws)
            results[name] = (cost_lines(ws), per_policy)
    assert results["bq"] == results["files"]


def test_a_table_without_a_needed_column_is_refused_by_name(bq_client, workspace):
    spec = bq_table_with_rows(bq_client, sample_rows(), drop=("credits",))
    with pytest.raises(InputError) as err:
        load_billing(workspace, spec)
    assert spec.removeprefix("bq://") in str(err.value) and "credits.amount" in str(err.value)


def test_an_older_table_without_newer_columns_loads(bq_client, workspace):
    rows = sample_rows()
    spec = bq_table_with_rows(bq_client, rows, drop=("cost_type", "export_time", "resource", "project"))
    summary = load_billing(workspace, spec)
    assert {t["currency"]: t["net_cost"] for t in summary.totals} == net_by_currency(rows)


def test_partition_filter_reaches_past_the_window_for_late_rows(bq_client, workspace):
    """Rows land in today's ingestion partition whatever their usage day: a window ending days ago still finds
    them through the wider partition filter, and not without it."""
    from export_rows import gke_labels, row

    today = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    usage = today - dt.timedelta(days=5)
    rows = [row(start=usage, sku="N2 Instance Core running in Americas", cost=2.0,
                labels=gke_labels(pool="p", namespace="ns", run="r1"))]
    spec = bq_table_with_rows(bq_client, rows)
    day = (usage - dt.timedelta(hours=8)).date()  # its US/Pacific day, near enough at any hour
    window = UsageWindow(day - dt.timedelta(days=1), day + dt.timedelta(days=1))
    source = BigQuerySource(spec, SourceOptions(late_days=40))
    sql = source.lines_sql(window)
    assert "_PARTITIONTIME >=" in sql and "_PARTITIONTIME <" in sql
    summary = load_billing(workspace, spec, window, SourceOptions(late_days=40))
    assert summary.export_rows == 1
    summary = load_billing(workspace, spec, window, SourceOptions(late_days=0))
    assert summary.export_rows == 0


def test_a_query_over_the_bytes_cap_is_refused():
    with pytest.raises(SourceError, match=r"would scan 2,000 bytes, over the cap of 1,000 bytes"):
        check_bytes(2000, 1000, "cost lines", "p.d.t")
    check_bytes(1000, 1000, "cost lines", "p.d.t")


def test_every_query_is_dry_run_and_capped(bq_client, workspace, monkeypatch):
    from google.cloud import bigquery

    seen = []
    original = bigquery.Client.query

    def spy(self, sql, job_config=None, **kwargs):
        seen.append((bool(job_config.dry_run), job_config.maximum_bytes_billed))
        return original(self, sql, job_config=job_config, **kwargs)

    monkeypatch.setattr(bigquery.Client, "query", spy)
    spec = bq_table_with_rows(bq_client, sample_rows())
    load_billing(workspace, spec, options=SourceOptions(max_bytes_billed=123_456_789))
    assert seen == [(True, None), (False, 123_456_789)]


def test_a_bad_spec_is_a_config_error(workspace):
    from aipipe_ops.errors import ConfigError

    with pytest.raises(ConfigError, match="bq://PROJECT.DATASET.TABLE"):
        load_billing(workspace, "bq://only-project")
