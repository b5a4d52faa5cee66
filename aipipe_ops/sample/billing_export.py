"""Streams the detailed billing export to disk, one day at a time: Parquet parts and their NDJSON twins.

Memory stays bounded by one day of rows: each day is computed (hourly_usage), priced (billing_rows), turned into
one Parquet row group (billing_schema) and the same rows into JSON lines (bigquery_json), then dropped. A part
file holds DAYS_PER_PART days; the closing rows (tax, the usage correction) go into the last part.
"""

from __future__ import annotations

from aipipe_ops.sample.defaults import BILLING_FORMATS

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pyarrow.parquet as pq

from aipipe_ops.sample.bigquery_json import to_json_lines
from aipipe_ops.sample.billing_rows import BillingPricer, RowBatch
from aipipe_ops.sample.billing_schema import SCHEMA, to_arrow
from aipipe_ops.sample.hourly_usage import PodTable, VmTable, hourly_usage

DAY = 86400
DAYS_PER_PART = 7
FORMATS = BILLING_FORMATS


@dataclass
class ExportStats:
    rows: int = 0
    files: list[str] = field(default_factory=list)


class _PartWriter:
    def __init__(self, directory: Path, index: int, formats: tuple[str, ...]):
        self.parquet = None
        self.jsonl = None
        self.names = []
        if "parquet" in formats:
            path = directory / f"part-{index:05d}.parquet"
            self.parquet = pq.ParquetWriter(path, SCHEMA, compression="snappy")
            self.names.append(path.name)
        if "jsonl" in formats:
            path = directory / f"part-{index:05d}.jsonl"
            self.jsonl = open(path, "w", encoding="utf-8", newline="\n")
            self.names.append(path.name)

    def write(self, batch: RowBatch, pricer: BillingPricer) -> None:
        if self.parquet is not None:
            table = to_arrow(batch, pricer.tables)
            self.parquet.write_table(table, row_group_size=max(len(batch), 1))
        if self.jsonl is not None:
            lines = to_json_lines(batch, pricer.tables)
            if lines:
                self.jsonl.write("\n".join(lines))
                self.jsonl.write("\n")

    def close(self) -> None:
        if self.parquet is not None:
            self.parquet.close()
        if self.jsonl is not None:
            self.jsonl.close()


def write_billing_export(directory: Path, pricer: BillingPricer, pods: PodTable, vms: VmTable, start: int,
                         end: int, formats: tuple[str, ...], tenants: PodTable | None = None,
                         on_day: Callable[[int, int], None] | None = None) -> ExportStats:
    directory.mkdir(parents=True, exist_ok=True)
    stats = ExportStats()
    days = (end - start) // DAY
    writer: _PartWriter | None = None
    for day in range(days):
        if day % DAYS_PER_PART == 0:
            if writer is not None:
                writer.close()
            writer = _PartWriter(directory, day // DAYS_PER_PART, formats)
            stats.files += writer.names
        c0 = start + day * DAY
        usage = hourly_usage(pods, vms, c0, c0 + DAY, (start, end), tenants)
        batch = pricer.price_chunk(usage, c0, c0 + DAY, day)
        writer.write(batch, pricer)
        stats.rows += len(batch)
        if on_day is not None:
            on_day(day, len(batch))
    closing = pricer.closing_rows()
    writer.write(closing, pricer)
    writer.close()
    stats.rows += len(closing)
    return stats
