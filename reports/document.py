"""What a report is made of, independent of its format.

A report builds a `ReportDocument`: its numbers live only in `Table`s. HTML, Markdown, CSV and JSON are all
rendered from those tables (charts too), so every format shows the same numbers by construction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable

from aipipe_ops.billing.attribution.policies import Policy

# Column kinds decide how a value is shown; the value itself is always stored exactly (a `bool` column holds
# true, false or null: JSON booleans, `true`/`false` in CSV).
COLUMN_KINDS = ("text", "money", "count", "share", "hours", "date", "datetime", "list", "bool")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"
    missing: str = "–"   # what HTML and Markdown show for no value (CSV leaves the cell empty, JSON says null)
    # The row key whose value HTML and Markdown show in this column instead of the value (text for people, e.g.
    # "n/a (pushes no models)" beside a null): a row field no column has, so CSV and JSON never carry it.
    shown: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in COLUMN_KINDS:
            raise ValueError(f"column {self.key!r}: unknown kind {self.kind!r}")


@dataclass
class Table:
    """One section's numbers. Money columns are in `currency`; tables never mix currencies."""

    id: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    currency: str | None = None
    note: str = ""

    def column(self, key: str) -> Column:
        for column in self.columns:
            if column.key == key:
                return column
        raise KeyError(f"table {self.id!r} has no column {key!r}")

    def values(self, key: str) -> list[Any]:
        return [row.get(key) for row in self.rows]


@dataclass
class ReportParameters:
    """What the user asked for; every report receives the same parameters. `policy` is the attribution's
    (`--idle/--shared/--share-namespace`, the engine's default unless asked): the report's cost numbers answer it."""

    since: dt.date | None = None
    until: dt.date | None = None
    pipeline: str | None = None
    policy: Policy = Policy()

    def as_dict(self) -> dict[str, Any]:
        return {"since": self.since, "until": self.until, "pipeline": self.pipeline, "idle": self.policy.idle,
                "shared": self.policy.shared, "share_namespaces": list(self.policy.share_namespaces),
                "commitments": self.policy.commitments}

    def describe_period(self) -> str:
        if self.since and self.until:
            return f"{self.since.isoformat()} to {self.until.isoformat()}"
        if self.since:
            return f"from {self.since.isoformat()}"
        if self.until:
            return f"until {self.until.isoformat()}"
        return "all data in the workspace"


@dataclass
class CurrencyBlock:
    """The part of a report in one currency: its tables by id, plus template-only extras (charts...)."""

    currency: str
    tables: dict[str, Table] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    def add(self, table: Table) -> Table:
        if table.id in self.tables:
            raise ValueError(f"table {table.id!r} added twice for {self.currency}")
        table.currency = self.currency
        self.tables[table.id] = table
        return table


@dataclass
class ReportDocument:
    report: str                     # registry name, e.g. "pipeline_costs"
    title: str
    generated_at: dt.datetime
    parameters: ReportParameters
    blocks: list[CurrencyBlock]     # one per currency, never summed together
    common: list[Table] = field(default_factory=list)   # tables with no money (e.g. counts by severity)
    notes: list[str] = field(default_factory=list)      # caveats a reader must see (missing data, policies)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def currencies(self) -> list[str]:
        return [b.currency for b in self.blocks]

    def all_tables(self) -> Iterable[Table]:
        yield from self.common
        for block in self.blocks:
            yield from block.tables.values()


def decimal_or_zero(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    return value if isinstance(value, Decimal) else Decimal(str(value))


def share(part: Any, whole: Any) -> Decimal | None:
    """part / whole as an exact-enough fraction (6 decimals); None when the whole is zero."""
    whole = decimal_or_zero(whole)
    if whole == 0:
        return None
    return (decimal_or_zero(part) / whole).quantize(Decimal("0.000001"))
