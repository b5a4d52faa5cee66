"""HTML, Markdown, CSV and JSON carry the same numbers: exact in CSV, JSON and the HTML's data-value, rounded the
same way in what people read."""

import csv
import io
import json
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from aipipe_ops.reports.formatting import money
from aipipe_ops.reports.rendering import render, render_csv_tables

from .conftest import build_document


class _Cells(HTMLParser):
    """Collects KPI values and table rows of an HTML report: (section id, table id) -> [[(text, exact)]]."""

    def __init__(self):
        super().__init__()
        self.section = None
        self.table = None
        self.tables: dict[tuple, list] = {}
        self.kpis: dict[tuple, tuple] = {}
        self._kpi_key = None
        self._cell = None
        self._text = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "id" in a:
            self.section = a["id"]
        elif tag == "table":
            self.table = a.get("data-table")
            self.tables.setdefault((self.section, self.table), [])
        elif tag == "tr" and self.table:
            self.tables[(self.section, self.table)].append([])
        elif tag == "td" and self.table:
            self._cell, self._text = a.get("data-value"), []
        elif tag == "div" and "data-key" in a:
            self._kpi_key = a["data-key"]
        elif tag == "div" and self._kpi_key and "data-value" in a:
            self._cell, self._text = a["data-value"], []

    def handle_data(self, data):
        self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self.table:
            self.tables[(self.section, self.table)][-1].append(("".join(self._text).strip(), self._cell))
        elif tag == "div" and self._kpi_key and self._cell is not None:
            self.kpis[(self.section, self._kpi_key)] = ("".join(self._text).strip(), self._cell)
            self._kpi_key, self._cell = None, None
        elif tag == "table":
            self.table = None


@pytest.fixture
def rendered(tiny_workspace):
    out = {}
    for name in ("pipeline_costs", "lineage_audit"):
        spec, doc = build_document(tiny_workspace, name)
        out[name] = {fmt: render(doc, spec, fmt) for fmt in ("html", "md", "json")}
        out[name]["csv"] = render_csv_tables(doc, spec)   # table id -> one tidy CSV
    return out


def _csv(text):
    return list(csv.DictReader(io.StringIO(text)))


def _csv_table(files, table_id, currency=None):
    """The rows of one table's CSV file (of one currency when given)."""
    return [row for row in _csv(files[table_id]) if currency is None or row["currency"] == currency]


def test_pipeline_costs_totals_agree_across_formats(rendered):
    r = rendered["pipeline_costs"]
    data = json.loads(r["json"])
    html = _Cells()
    html.feed(r["html"])
    md = r["md"]
    assert data["currencies"] == ["USD", "EUR"]
    for currency in data["currencies"]:
        summary = data["by_currency"][currency]["summary"]["rows"][0]
        (csv_summary,) = _csv_table(r["csv"], "summary", currency)
        for key in ("cost", "waste", "export_total"):
            exact = Decimal(summary[key])
            assert Decimal(csv_summary[key]) == exact, key
            text, value = html.kpis[(f"glance-{currency}", key)]   # the headline cards
            assert Decimal(value) == exact and text == money(exact, currency), key
        idle = Decimal(summary["idle_gpu_cost"]) + Decimal(summary["idle_tpu_cost"])
        text, value = html.kpis[(f"glance-{currency}", "idle_accelerator_cost")]
        assert Decimal(value) == idle and text == money(idle, currency)
        # Markdown's headline table: cost | waste (share) | per model | idle GPU & TPU | export
        row = _md_row_after(md, currency, "| Pipelines' cost |")
        assert row[0] == money(Decimal(summary["cost"]), currency)
        assert row[1].startswith(money(Decimal(summary["waste"]), currency))
        assert row[3] == money(idle, currency)
        assert row[4].startswith(money(Decimal(summary["export_total"]), currency))
        # Reconciliation: every component, in every format.
        recon_json = {x["component"]: Decimal(x["cost"]) for x in data["by_currency"][currency]["reconciliation"]["rows"]}
        recon_csv = {x["component"]: Decimal(x["cost"]) for x in _csv_table(r["csv"], "reconciliation", currency)}
        recon_html = {cells[0][0]: Decimal(cells[1][1]) for cells in html.tables[(f"reconciliation-{currency}",
                                                                                    "reconciliation")] if cells}
        assert recon_json == recon_csv == recon_html
        assert recon_json["Billing export total"] == Decimal(summary["export_total"])
        for component, amount in recon_json.items():
            assert f"| {component} | {money(amount, currency)} |" in _currency_part(md, currency)


def test_every_table_row_reaches_csv_and_json(rendered):
    for name, r in rendered.items():
        data = json.loads(r["json"])
        tables = data["tables"] + [t for block in data["by_currency"].values() for t in block.values()]
        assert tables and {t["id"] for t in tables} == set(r["csv"])   # one CSV file per table, no other
        for table in tables:
            in_csv = _csv_table(r["csv"], table["id"], table["currency"])
            assert len(in_csv) == len(table["rows"]), (name, table["id"])
            for csv_row, json_row in zip(in_csv, table["rows"]):
                for column in table["columns"]:
                    value = json_row[column["key"]]
                    expected = ("; ".join(value) if isinstance(value, list) else "" if value is None
                                else json.dumps(value) if isinstance(value, bool) else str(value))   # true, false
                    assert csv_row[column["key"]] == expected, (name, table["id"], column["key"])


def test_lineage_audit_costs_agree_across_formats(rendered):
    r = rendered["lineage_audit"]
    data = json.loads(r["json"])
    costs = {row["finding"]: Decimal(row["cost"]) for row in data["by_currency"]["USD"]["finding_costs"]["rows"]}
    # Errors first, then the costliest. By hand: F1 (error) names llm-2: 72.60; F2 model_never_pushed names llm-1
    # and taxi-2: 48.40 + 3.00; F3 run_produced_nothing names taxi-2: 3.00; F4 names no run, so has no cost.
    assert costs == {"F1": Decimal("72.60"), "F2": Decimal("51.40"), "F3": Decimal("3.00")}
    html = _Cells()
    html.feed(r["html"])
    findings = {cells[0][0]: cells[-1] for cells in html.tables[("findings", "findings")] if cells}
    for finding, cost in costs.items():
        assert Decimal(findings[finding][1]) == cost and findings[finding][0] == money(cost, "USD")
        assert re.search(rf"### {finding} .*?Cost attached: \*\*{re.escape(money(cost, 'USD'))}\*\*", r["md"], re.S)
    csv_costs = {row["finding"]: Decimal(row["cost"]) for row in _csv_table(r["csv"], "finding_costs")}
    assert csv_costs == costs
    # Warnings name taxi-2 twice: counted once in the total at stake (3.00 + 48.40).
    by_severity = {row["severity"]: Decimal(row["cost"]) for row in data["by_currency"]["USD"]["cost_by_severity"]["rows"]}
    assert by_severity == {"error": Decimal("72.60"), "warning": Decimal("51.40"), "info": Decimal("0")}
    html_at_stake = html.kpis[("glance", "at_stake")]
    assert Decimal(html_at_stake[1]) == Decimal("124.00") and html_at_stake[0] == "$124.00"


def test_text_from_findings_is_escaped_in_html(rendered):
    html = rendered["lineage_audit"]["html"]
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html


def _currency_part(md: str, currency: str) -> str:
    parts = re.split(r"^## Costs in ", md, flags=re.M)
    return next((p for p in parts if p.startswith(currency)), md)


def _md_row_after(md: str, currency: str, header: str) -> list[str]:
    lines = _currency_part(md, currency).splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith(header))
    return [c.strip() for c in lines[i + 2].strip().strip("|").split("|")]

