"""Render a ReportDocument as HTML, Markdown, CSV or JSON.

HTML and Markdown come from the report's own templates (`<name>.html.j2`, `<name>.md.j2`) built on the shared
`_layout.html.j2` / `_macros.*.j2`; CSV and JSON are generic serialisations of the same tables.
"""

from __future__ import annotations

import csv
import io
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from aipipe_ops import __version__
from aipipe_ops.output import _plain as _json_value   # Decimal as an exact string, dates ISO, lists and dicts deep

from . import formatting
from .document import ReportDocument, Table
from .registry import ReportSpec
from .writer import CSV_MARKER_COLUMN, JSON_MARKER_KEY, html_marker, markdown_marker

TEMPLATE_DIR = Path(__file__).parent
# 2: key fields hold ids (scope, resource kinds, bucket ids, waste categories, artifact ids, estimate verdicts), or
# null where the report has no value (no namespace, no step name); display text is `label`; top_runs.reached_push
# is a boolean (null: not judged).
JSON_FORMAT_VERSION = 2


# Text from outside (pod labels, pipeline names, URIs) must stay text in Markdown: no raw HTML (`<img onerror>`),
# no link or image (`[x](javascript:...)`), no code span broken open, no table cell split, no line forged.
_MD_ESCAPES = {"\\": "\\\\", "|": "\\|", "`": "\\`", "[": "\\[", "]": "\\]", "<": "&lt;", ">": "&gt;",
               "&": "&amp;"}
_MD_SPECIAL = re.compile(r"[\\|`\[\]<>&]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _md_cell(text: Any) -> str:
    """Untrusted text as literal Markdown text (in a table cell or a paragraph): one line, nothing live."""
    flat = _CONTROL.sub(" ", str(text))
    return _MD_SPECIAL.sub(lambda m: _MD_ESCAPES[m.group(0)], flat)


def _md_code(text: Any) -> str:
    """Untrusted text as an inline code span: fenced by more backticks than it holds, on one line."""
    flat = _CONTROL.sub(" ", str(text))
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or longest else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def _column_of(key: str, table: Table):
    return table.column(key)


def pivot(rows: list[dict[str, Any]], row_key: str, col_key: str, order: list[str] | None = None,
          missing: str = "–") -> dict[str, Any]:
    """Long rows (row, column, cost) as a matrix for reading; cells keep the rows' cost and share. A row without
    `row_key` (JSON null, e.g. the whole export's) is labelled `missing`, its column's text for no value."""
    order = list(order or [])
    present = []
    for row in rows:
        if row[col_key] not in present:
            present.append(row[col_key])
    columns = [c for c in order if c in present] + [c for c in present if c not in order]
    matrix: dict[Any, dict[str, Any]] = {}
    for row in rows:
        label = missing if row[row_key] is None else row[row_key]
        line = matrix.setdefault(row[row_key], {"label": label, "cells": {}, "total": 0})
        line["cells"][row[col_key]] = row
        line["total"] += row["cost"]
    return {
        "columns": columns,
        "rows": [{"label": r["label"], "cells": [r["cells"].get(c) for c in columns], "total": r["total"]}
                 for r in matrix.values()],
    }


def _filters() -> dict[str, Any]:
    return {
        "column_of": _column_of,
        "abs": abs,
        "pivot": pivot,
        "money": formatting.money,
        "money_short": formatting.money_short,
        "percent": formatting.percent,
        "percent_short": formatting.percent_short,
        "hours": formatting.hours,
        "count": formatting.count,
        "date": formatting.date,
        "cell": formatting.cell,
        "exact": formatting.exact,
        "md": _md_cell,
        "md_code": _md_code,
    }


@lru_cache(maxsize=2)
def _environment(kind: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=(kind == "html"),
        undefined=jinja2.StrictUndefined,   # a typo in a template fails the tests, not the reader
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(_filters())
    return env


def _context(doc: ReportDocument, spec: ReportSpec) -> dict[str, Any]:
    return {
        "doc": doc,
        "spec": spec,
        "params": doc.parameters,
        "version": __version__,
        "css": (TEMPLATE_DIR / "style.css").read_text(encoding="utf-8"),
    }


def render_html(doc: ReportDocument, spec: ReportSpec) -> str:
    template = _environment("html").get_template(f"{spec.name}.html.j2")
    return template.render(marker=jinja2.utils.markupsafe.Markup(html_marker(spec.name)), **_context(doc, spec))


def render_markdown(doc: ReportDocument, spec: ReportSpec) -> str:
    template = _environment("md").get_template(f"{spec.name}.md.j2")
    text = template.render(marker=markdown_marker(spec.name), **_context(doc, spec))
    # Markdown renderers treat 3+ blank lines like one; keep the source tidy for diffs in pull requests.
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text


def render_csv_tables(doc: ReportDocument, spec: ReportSpec) -> dict[str, str]:
    """One tidy CSV per table (table id -> text): one header row, the same columns in every row, exact values.

    A table that a report builds per currency is one file whose `currency` column says which; a table without money
    has no `currency` column. The first column, `aipipe_report`, names the report (the writer's marker). A table
    with no rows is still written (its header): the set of files is the same for every period.
    """
    grouped: dict[str, list[Table]] = {}
    for table in doc.all_tables():
        grouped.setdefault(table.id, []).append(table)
    out = {}
    for table_id, tables in grouped.items():
        keys = [c.key for c in tables[0].columns]
        if any([c.key for c in t.columns] != keys for t in tables):
            raise ValueError(f"table {table_id!r} has different columns in different currencies")
        with_currency = any(t.currency for t in tables)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([CSV_MARKER_COLUMN, *(["currency"] if with_currency else []), *keys])
        for table in tables:
            for row in table.rows:
                writer.writerow([spec.name, *([table.currency or ""] if with_currency else []),
                                 *(formatting.exact(row.get(k)) for k in keys)])
        out[table_id] = buffer.getvalue()
    return out


def _json_table(table: Table) -> dict[str, Any]:
    return {
        "id": table.id,
        "title": table.title,
        "currency": table.currency,
        "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in table.columns],
        "rows": [{c.key: _json_value(row.get(c.key)) for c in table.columns} for row in table.rows],
        **({"note": table.note} if table.note else {}),
    }


def render_json(doc: ReportDocument, spec: ReportSpec) -> str:
    payload = {
        JSON_MARKER_KEY: spec.name,   # first key: the writer recognises its own files by it
        "format_version": JSON_FORMAT_VERSION,
        "title": doc.title,
        "generated_at": doc.generated_at.isoformat(),
        "generated_by": f"aipipe {__version__}",
        "parameters": _json_value(doc.parameters.as_dict()),
        "currencies": doc.currencies,
        "notes": doc.notes,
        "tables": [_json_table(t) for t in doc.common],
        "by_currency": {
            block.currency: {table_id: _json_table(t) for table_id, t in block.tables.items()}
            for block in doc.blocks
        },
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


RENDERERS = {"html": render_html, "md": render_markdown, "json": render_json}   # one file each; CSV: one per table


def render(doc: ReportDocument, spec: ReportSpec, fmt: str) -> str:
    """The report as one file's text (html, md, json); CSV is one file per table: report_files."""
    if fmt not in RENDERERS:
        raise ValueError(f"{fmt} is not one file: use report_files()")
    return RENDERERS[fmt](doc, spec)


def report_files(doc: ReportDocument, spec: ReportSpec, fmt: str) -> dict[str, str]:
    """The files of one format, by path relative to the output directory: `<stem>.<fmt>`, or for CSV
    `<stem>/<table>.csv`, one per table."""
    if fmt == "csv":
        return {f"{spec.file_stem}/{table_id}.csv": text for table_id, text in render_csv_tables(doc, spec).items()}
    return {f"{spec.file_stem}.{fmt}": render(doc, spec, fmt)}
