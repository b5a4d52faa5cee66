"""Billing sources, found by a registry: each module in SOURCE_MODULES exposes SOURCE, a class with

    matches(spec) -> bool                       does this source read `spec` (a scheme or a file extension)?
    __init__(spec, options)                     options: SourceOptions
    stage(con, window) -> StagedExport          check the columns and return the SQL (run on the workspace
                                                connection) that yields normalise.COST_LINE_COLUMNS: aggregates
                                                only, computed where the rows are
    read_error(exc) -> AipipeError              the user-facing error when running that SQL fails

A new source is one new module plus its test, and one line here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from aipipe_ops.errors import ConfigError

SOURCE_MODULES = (
    "aipipe_ops.billing.sources.bigquery",
    "aipipe_ops.billing.sources.files",  # last: it takes any path
)

# BigQuery bytes cap: 10 GiB per query by default (a month of a large detailed export is a few GiB per column
# set read); --max-bytes-billed changes it.
DEFAULT_MAX_BYTES_BILLED = 10 * 1024**3
# Late rows: usage of day D can be exported (into a newer ingestion partition) weeks later; corrections land on
# the next invoice. The partition filter reaches this many days past the usage window.
DEFAULT_LATE_DAYS = 40


@dataclass(frozen=True)
class SourceOptions:
    max_bytes_billed: int = DEFAULT_MAX_BYTES_BILLED
    late_days: int = DEFAULT_LATE_DAYS


@dataclass
class StagedExport:
    source: str  # canonical spec stored in cost_lines.source
    description: str  # for people: files read, table, bytes scanned
    lines_sql: str  # SELECT yielding the cost lines, on the workspace connection
    views: tuple[str, ...] = ()  # relations the source registered on the connection; the load unregisters them
    temp_tables: tuple[str, ...] = ()  # temp tables lines_sql reads; the load drops them once the lines are staged


def open_source(spec: str, options: SourceOptions | None = None):
    options = options or SourceOptions()
    for module_name in SOURCE_MODULES:
        cls = importlib.import_module(module_name).SOURCE
        if cls.matches(spec):
            return cls(spec, options)
    raise ConfigError(f"--billing {spec!r}: not a billing source aipipe reads (files: .parquet, .jsonl, .json, .csv; "
                      f"tables: bq://project.dataset.table)")
