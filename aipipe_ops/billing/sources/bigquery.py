"""Billing export tables in BigQuery (`bq://project.dataset.table`), read through google-cloud-bigquery.

The rows stay in BigQuery: the normalisation of normalise.py runs there (BigQuery dialect) and only the
aggregated cost lines come back. Every query is dry-run first and refused when it would
scan more than --max-bytes-billed; the real query runs with `maximum_bytes_billed` set to the same cap, so
BigQuery itself refuses it too. A usage window adds a filter on the ingestion partition (_PARTITIONTIME, or the
table's partitioning column) that starts a day early and ends --late-days after the window, because late rows
and corrections for a usage day land in later partitions (reference/billing.md §1.5).

Credentials are the usual Application Default Credentials. AIPIPE_BIGQUERY_ENDPOINT points the client at
another endpoint (a local emulator) with anonymous credentials; AIPIPE_BIGQUERY_PROJECT sets the project that
runs (and pays for) the queries, by default the table's project.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import warnings

import duckdb

from aipipe_ops.billing import normalise, schema
from aipipe_ops.sql import BIGQUERY
from aipipe_ops.billing.sources import SourceOptions, StagedExport
from aipipe_ops.errors import ConfigError, SourceError

ENDPOINT_ENV = "AIPIPE_BIGQUERY_ENDPOINT"
PROJECT_ENV = "AIPIPE_BIGQUERY_PROJECT"
# google-api-core warns at import about the Python version's end of life: not actionable for a user, and printed
# before the line that matters (the error or the result).
warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.api_core\._python_version_support")

# Incremental loads (no --since/--until): partitions rescanned before the watermark's day, and how far before the
# watermark rows are read again (late rows land in partitions of their export day; Google's export_time only grows).
INCREMENTAL_RESCAN_DAYS = 3
INCREMENTAL_MARGIN = dt.timedelta(hours=1)
_SPEC = re.compile(r"^bq://([a-z0-9.:-]+)\.([A-Za-z0-9_]+)\.([A-Za-z0-9_$-]+)$")


def make_client(project: str):
    from google.cloud import bigquery

    endpoint = os.environ.get(ENDPOINT_ENV)
    if endpoint:
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials

        return bigquery.Client(project=project, credentials=AnonymousCredentials(),
                               client_options=ClientOptions(api_endpoint=endpoint))
    try:
        return bigquery.Client(project=project)
    except Exception as exc:  # google.auth.exceptions.DefaultCredentialsError and friends
        raise SourceError(f"cannot create a BigQuery client for project {project}: {exc}. Run `gcloud auth "
                          f"application-default login` or set GOOGLE_APPLICATION_CREDENTIALS") from exc


def schema_paths(fields, prefix: str = "") -> set[str]:
    paths = set()
    for f in fields:
        path = prefix + f.name
        paths.add(path)
        if f.field_type in ("RECORD", "STRUCT"):
            paths |= schema_paths(f.fields, path + ".")
    return paths


def check_bytes(estimated: int | None, cap: int, what: str, table: str) -> None:
    """Refuse a query whose dry run says it would scan more than the cap."""
    if estimated is not None and estimated > cap:
        raise SourceError(
            f"{table}: the {what} query would scan {estimated:,} bytes, over the cap of {cap:,} bytes "
            f"(--max-bytes-billed). Narrow the usage window (--since/--until) or raise the cap")


class BigQuerySource:
    @staticmethod
    def matches(spec: str) -> bool:
        return spec.startswith("bq://")

    def __init__(self, spec: str, options: SourceOptions):
        match = _SPEC.match(spec)
        if not match:
            raise ConfigError(f"--billing {spec!r}: expected bq://PROJECT.DATASET.TABLE, e.g. "
                              f"bq://my-project.billing.gcp_billing_export_resource_v1_XXXXXX_XXXXXX_XXXXXX")
        self.spec = spec
        self.project, self.dataset, self.table = match.groups()
        self.options = options
        self.table_id = f"{self.project}.{self.dataset}.{self.table}"
        self.client = make_client(os.environ.get(PROJECT_ENV) or self.project)
        # Incremental loads: the workspace's max export_time held from this table (the load sets it when no usage
        # window is given); only partitions and rows that can be newer are read (incremental_filter).
        self.incremental_since: dt.datetime | None = None
        self.last_sql: str | None = None

    def describe(self):
        from google.api_core import exceptions

        try:
            table = self.client.get_table(self.table_id)
        except exceptions.NotFound as exc:
            raise SourceError(f"{self.spec}: no such table (or no bigquery.tables.get permission)") from exc
        except exceptions.GoogleAPIError as exc:
            raise SourceError(f"{self.spec}: cannot read the table's schema: {exc}") from exc
        paths = schema_paths(table.schema)
        schema.check_columns(f"table {self.table_id}", paths)
        return table, paths

    def partition_filter(self, table, window: normalise.UsageWindow) -> list[str]:
        """The ingestion-partition filter, wider than the usage window on both sides."""
        if not window:
            return []
        partitioning = table.time_partitioning
        if partitioning is None:
            return []
        column = f"`{partitioning.field}`" if partitioning.field else "_PARTITIONTIME"
        start, end = window.bounds()
        out = []
        if start:
            out.append(f"{column} >= {BIGQUERY.timestamp(start - dt.timedelta(days=1))}")
        if end:
            out.append(f"{column} < {BIGQUERY.timestamp(end + dt.timedelta(days=self.options.late_days))}")
        return out

    def incremental_filter(self, table) -> list[str]:
        """Past the watermark: ingestion partitions from INCREMENTAL_RESCAN_DAYS before the watermark's day, and rows
        whose export_time is within INCREMENTAL_MARGIN of it or later (whole export batches: a batch re-read is
        recognised as held by the load's cell check and not counted again)."""
        if self.incremental_since is None:
            return []
        mark = self.incremental_since.astimezone(dt.timezone.utc)
        out = [f"{BIGQUERY.col('export_time')} > {BIGQUERY.timestamp(mark - INCREMENTAL_MARGIN)}"]
        partitioning = table.time_partitioning
        if partitioning is not None:
            column = f"`{partitioning.field}`" if partitioning.field else "_PARTITIONTIME"
            day = dt.datetime.combine(mark.date(), dt.time(), dt.timezone.utc)
            out.append(f"{column} >= {BIGQUERY.timestamp(day - dt.timedelta(days=INCREMENTAL_RESCAN_DAYS))}")
        return out

    def _run(self, sql: str):
        """Dry-run the cost-lines query against the cap, then run it: (Arrow table, bytes the dry run estimated)."""
        from google.api_core import exceptions
        from google.cloud import bigquery

        cap = self.options.max_bytes_billed
        try:
            dry = self.client.query(sql, job_config=bigquery.QueryJobConfig(dry_run=True, use_query_cache=False))
            check_bytes(dry.total_bytes_processed, cap, "cost lines", self.table_id)
            job = self.client.query(sql, job_config=bigquery.QueryJobConfig(maximum_bytes_billed=cap))
            return job.result().to_arrow(create_bqstorage_client=False), dry.total_bytes_processed or 0
        except exceptions.GoogleAPIError as exc:
            text = str(exc)
            if "bytes billed" in text.lower() or "bytesBilledLimitExceeded" in text:
                raise SourceError(f"{self.table_id}: BigQuery refused the cost lines query: it would bill more than "
                                  f"{cap:,} bytes (--max-bytes-billed)") from exc
            raise SourceError(f"{self.table_id}: the cost lines query failed: {text.splitlines()[0]}") from exc

    def lines_sql(self, window: normalise.UsageWindow, table=None, paths=None) -> str:
        """The cost-lines query BigQuery runs for this window (the table described first unless given)."""
        if table is None:
            table, paths = self.describe()
        conditions = normalise.window_filter(BIGQUERY, window) + self.partition_filter(table, window)
        if not window and "export_time" in paths:
            conditions += self.incremental_filter(table)
        self.last_sql = normalise.cost_lines_query(BIGQUERY, f"`{self.table_id}`", paths, conditions)
        return self.last_sql

    def stage(self, con: duckdb.DuckDBPyConnection, window: normalise.UsageWindow) -> StagedExport:
        table, paths = self.describe()
        lines, estimated = self._run(self.lines_sql(window, table, paths))
        con.register("bq_cost_lines", lines)  # the aggregates BigQuery returned, as an Arrow table
        since = (f", export_time past {self.incremental_since.isoformat()} (incremental)"
                 if self.incremental_since is not None and not window else "")
        return StagedExport(self.spec, f"table {self.table_id} ({estimated:,} bytes estimated{since})",
                            "SELECT * FROM bq_cost_lines", views=("bq_cost_lines",))

    def read_error(self, exc: duckdb.Error) -> SourceError:
        return SourceError(f"{self.spec}: storing the aggregated lines failed: {str(exc).splitlines()[0]}")


SOURCE = BigQuerySource
