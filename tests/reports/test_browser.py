"""Each HTML report in a real headless Chromium (Debian's): the charts render, the console stays clean, nothing
is fetched from anywhere, the page fits a laptop screen, and it prints."""

import re

import pytest

from aipipe_ops.reports.browser import check_page, print_to_pdf
from aipipe_ops.reports.rendering import render

from .conftest import build_document

pytestmark = pytest.mark.browser


@pytest.fixture(params=["pipeline_costs", "lineage_audit"])
def report_html(request, tiny_workspace, tmp_path):
    spec, doc = build_document(tiny_workspace, request.param)
    path = tmp_path / f"{spec.file_stem}.html"
    path.write_text(render(doc, spec, "html"))
    return request.param, path


def test_charts_render_without_errors(report_html, tmp_path):
    name, path = report_html
    page = check_page(path)
    assert page.errors == []
    assert page.external_requests == []
    minimum = {"pipeline_costs": 10, "lineage_audit": 2}[name]
    assert page.chart_count >= minimum
    assert page.charts_with_size == page.chart_count
    assert all(marks > 0 for marks in page.marks_per_chart), page.marks_per_chart
    assert page.tables >= page.chart_count // 2
    assert page.overflowing == []
    assert page.screenshot.startswith(b"\x89PNG\r\n\x1a\n") and len(page.screenshot) > 20_000
    (tmp_path / f"{name}.png").write_bytes(page.screenshot)


def test_fits_a_narrow_window(report_html):
    _, path = report_html
    page = check_page(path, width=820, screenshot=False)
    assert page.errors == [] and page.overflowing == []


def test_a_script_error_would_be_caught(tmp_path):
    """The check itself can fail: a page with an error and a remote font is reported, not passed."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!doctype html><html><head><link rel="stylesheet" href="https://fonts.example.com/x.css">'
                   "</head><body><script>undefinedFunction()</script></body></html>")
    page = check_page(bad, screenshot=False)
    assert page.errors and page.chart_count == 0


def test_prints(tiny_workspace, tmp_path):
    spec, doc = build_document(tiny_workspace, "pipeline_costs")
    path = tmp_path / "pipeline-costs.html"
    path.write_text(render(doc, spec, "html"))
    pdf = print_to_pdf(path)
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) >= 2
