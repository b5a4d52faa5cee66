"""Reading the fact tables of `data/`: CSV files with a header and a `source` column, shipped in the
package (importlib.resources, so an installed wheel reads its own copy)."""

from __future__ import annotations

import csv
import io
from importlib import resources


def read_table(name: str) -> list[dict[str, str]]:
    """The rows of data/<name> as dicts of strings; every row must name its source."""
    text = resources.files("aipipe_ops.gcp.data").joinpath(name).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    missing = [i for i, row in enumerate(rows, start=2) if not (row.get("source") or "").strip()]
    if missing:
        raise ValueError(f"aipipe_ops/gcp/data/{name}: lines {missing} have no source")
    return rows


def words(text: str) -> tuple[str, ...]:
    """A space-separated cell ("1 2 4") as a tuple of its words (empty cell: ())."""
    return tuple(text.split())
