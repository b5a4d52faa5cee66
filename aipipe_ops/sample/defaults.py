"""Defaults of `aipipe sample`, in a module of their own so the CLI can show them without importing the writers
(pyarrow, ml-metadata)."""

from datetime import date

DEFAULT_START = date(2026, 10, 1)
DEFAULT_TENANTS = 6
BILLING_FORMATS = ("parquet", "jsonl")
