"""Which export columns attribution needs, and which it can do without.

Google adds columns to the export over time (price in 2023, consumption_model in 2025...), so old tables lack
them: only the columns below are read, and an optional one that a file or table lacks reads as NULL. A
required one missing is refused, naming the file (or table) and the column.

Sources describe a file or table as a set of dotted paths: top-level columns, and `record.field` for the fields
of records and of repeated records (`labels.key`, `credits.amount`).
"""

from __future__ import annotations

from dataclasses import dataclass

from aipipe_ops.errors import InputError


@dataclass(frozen=True)
class ExportColumn:
    path: str
    need: str  # why attribution reads it; empty for optional columns


REQUIRED = (
    ExportColumn("usage_start_time", "the usage hour and US/Pacific usage day"),
    ExportColumn("cost", "the row's cost before credits"),
    ExportColumn("currency", "currencies are never added together"),
    ExportColumn("credits.amount", "net cost = cost + sum of credits"),
    ExportColumn("labels.key", "cluster, node pool, namespace and run labels"),
    ExportColumn("labels.value", "cluster, node pool, namespace and run labels"),
    ExportColumn("service.description", "resource kind and the unattributed buckets"),
    ExportColumn("sku.id", "cost by SKU"),
    ExportColumn("sku.description", "resource kind"),
)


def missing_required(paths: set[str]) -> list[str]:
    return [c.path for c in REQUIRED if c.path not in paths]


def check_columns(where: str, paths: set[str]) -> None:
    """Refuse a file or table that lacks a column attribution needs."""
    missing = missing_required(paths)
    if missing:
        needs = {c.path: c.need for c in REQUIRED}
        detail = "; ".join(f"{m} (needed for {needs[m]})" for m in missing)
        raise InputError(f"{where}: the billing export lacks column {detail}. Expected a Cloud Billing standard or "
                         f"detailed usage cost export (docs/billing.md)")


def duckdb_paths(types: dict) -> set[str]:
    """Dotted paths of a DuckDB relation's columns ({name: DuckDBPyType})."""
    paths = set()
    for name, dtype in types.items():
        paths.add(name)
        for field in _struct_fields(dtype):
            paths.add(f"{name}.{field}")
    return paths


def _struct_fields(dtype) -> list[str]:
    if dtype.id == "list":
        dtype = dtype.child
    if dtype.id == "struct":
        return [name for name, _ in dtype.children]
    return []
