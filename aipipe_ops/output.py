"""One way to print data: every command that lists rows goes through `render` (table, JSON or CSV).

Money stays exact: Decimal values print as plain decimal strings in tables and CSV, and as JSON strings
(JSON numbers are binary floats in most readers; a string keeps every digit). Tables drop only the trailing
zeros a column does not need (DECIMAL(38, 9) sums carry nine places; an export's costs rarely more than six):
each Decimal column shows the places its most precise value needs, at least two, so every digit is still there
and the column lines up.

Tables are for people and pipes alike: text from outside (pod labels, URIs, names) prints with its newlines,
control characters and bidirectional overrides escaped (`\n`, `\u202e`), so a value cannot forge lines or reorder
a row; and a table wraps long cells only on a terminal, never when stdout is a file or a pipe (grep and copy-paste
see every value whole).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import sys
import unicodedata
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence

import click

FORMATS = ("table", "json", "csv")


def noun(count: int | float | Decimal, singular: str, many: str | None = None) -> str:
    """The form of a noun that goes with `count`: singular for one (or minus one), else `many` (default: +s)."""
    return singular if abs(count) == 1 else (many if many is not None else singular + "s")


def plural(count: int | float | Decimal, singular: str, many: str | None = None) -> str:
    """A count with its noun, for every message that prints one: "1 GPU", "2 GPUs", "0 GPUs", "1 policy",
    "3 policies" (give `many` when it is not singular + s)."""
    return f"{count} {noun(count, singular, many)}"


def format_option(default: str = "table"):
    """The --format option shared by every command that prints data."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default=default,
        show_default=True,
        help="Output format: a table for people, JSON or CSV for machines.",
    )


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    value = _plain(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


# Bidirectional embeddings, overrides and isolates, and the invisible marks: shown as escapes in tables.
_BIDI = {"\u061c", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))}
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_text(text: str) -> str:
    """Text safe to print in a table line: control characters and bidi controls as visible escapes."""
    if text.isprintable() and not any(ch in _BIDI for ch in text):
        return text
    out = []
    for ch in text:
        if ch in _NAMED:
            out.append(_NAMED[ch])
        elif ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def table_width() -> int | None:
    """The terminal's width when stdout is a terminal; None (no wrapping) for a file or a pipe."""
    try:
        if sys.stdout.isatty():
            return max(40, shutil.get_terminal_size((200, 24)).columns)
    except (AttributeError, ValueError, OSError):
        pass
    return None


def to_json(data: Any) -> str:
    return json.dumps(_plain(data), indent=2, sort_keys=False)


def render(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    fmt: str = "table",
    *,
    title: str | None = None,
    right_align: Iterable[str] = (),
) -> str:
    """Render rows (mappings) with the given column order."""
    rows = list(rows)
    if columns is None:
        columns = list(rows[0].keys()) if rows else []
    if fmt == "json":
        return to_json([{c: row.get(c) for c in columns} for row in rows])
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
        return buffer.getvalue().rstrip("\n")
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return _table(rows, columns, title=title, right_align=set(right_align))


def _table(rows: list[Mapping[str, Any]], columns: Sequence[str], *, title: str | None, right_align: set[str]) -> str:
    from rich.console import Console
    from rich.table import Table

    width = table_width()
    table = Table(title=escape_text(title) if title else None, box=None, header_style="bold", pad_edge=False)
    for column in columns:
        numeric = column in right_align or any(
            isinstance(row.get(column), (int, float, Decimal)) and not isinstance(row.get(column), bool)
            for row in rows[:50]
        )
        table.add_column(escape_text(column), justify="right" if numeric else "left", overflow="fold",
                         no_wrap=width is None)
    places = {c: _decimal_places(rows, c) for c in columns}
    for row in rows:
        table.add_row(*[_table_cell(row.get(c), places[c]) for c in columns])
    # Off a terminal, the console is as wide as the widest row needs: nothing wraps or folds.
    console = Console(file=io.StringIO(), width=width or _natural_width(table), color_system=None,
                      force_terminal=False, markup=False, emoji=False, highlight=False)
    console.print(table)
    text = "\n".join(line.rstrip() for line in console.file.getvalue().rstrip("\n").split("\n"))
    if not rows:
        text += "\n(no rows)"
    return text


def _natural_width(table) -> int:
    from rich.console import Console

    measure = Console(file=io.StringIO(), width=1_000_000, color_system=None, force_terminal=False)
    return max(20, table.__rich_measure__(measure, measure.options).maximum + 1)


def _significant_places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _decimal_places(rows: list[Mapping[str, Any]], column: str) -> int | None:
    """Places a Decimal column needs so that no digit is lost (at least 2); None if it holds no Decimal."""
    values = [row.get(column) for row in rows if isinstance(row.get(column), Decimal)]
    if not values or not all(v.is_finite() for v in values):
        return None
    return max(2, max(_significant_places(v) for v in values))


def _table_cell(value: Any, places: int | None):
    from rich.text import Text

    if places is not None and isinstance(value, Decimal):
        return format(value.quantize(Decimal(1).scaleb(-places)), "f")
    # A Text, not a str: rich would read "[bold]" or "[link=...]" in a label value as its own markup.
    return Text(escape_text(_cell(value)))


def echo(rows, columns=None, fmt="table", **kwargs) -> None:
    click.echo(render(rows, columns, fmt, **kwargs))
