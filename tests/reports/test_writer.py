"""Reports are written atomically, and a file aipipe did not write is never overwritten."""

import os
import stat

import pytest

from aipipe_ops.reports.writer import ReportOverwriteError, is_aipipe_report, write_reports
from aipipe_ops.reports.rendering import render, render_csv_tables

from .conftest import build_document


@pytest.fixture
def report_texts(tiny_workspace):
    spec, doc = build_document(tiny_workspace, "pipeline_costs")
    return {**{fmt: render(doc, spec, fmt) for fmt in ("html", "md", "json")},
            "csv": render_csv_tables(doc, spec)["summary"]}


def test_every_format_carries_the_marker(tmp_path, report_texts):
    files = {tmp_path / f"pipeline-costs.{fmt}": text for fmt, text in report_texts.items()}
    write_reports(files)
    assert all(is_aipipe_report(path) for path in files)


@pytest.mark.parametrize("fmt, foreign", [
    ("html", "<!doctype html><html><head><title>Q3 budget</title></head><body>mine</body></html>"),
    ("md", "# Notes\n\naipipe-report is mentioned here, but not as a marker\n"),
    ("csv", "pipeline,cost\ntaxi,12\n"),
    ("json", '{"owner": "finance", "aipipe_report": "looks like ours but is not first"}'),
])
def test_a_foreign_file_is_never_overwritten(tmp_path, report_texts, fmt, foreign):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    mine = tmp_path / f"pipeline-costs.{fmt}"
    mine.write_text(foreign)
    files = {tmp_path / f"pipeline-costs.{f}": text for f, text in report_texts.items()}
    with pytest.raises(ReportOverwriteError, match=str(mine)):
        write_reports(files)
    assert mine.read_text() == foreign
    # Nothing of the set was written: the check runs before the first write.
    assert sorted(p.name for p in tmp_path.iterdir()) == [mine.name]


def test_an_earlier_report_is_replaced_and_no_temporary_file_remains(tmp_path, report_texts):
    tmp_path = tmp_path / "out"
    files = {tmp_path / f"pipeline-costs.{fmt}": text for fmt, text in report_texts.items()}
    write_reports(files)
    changed = {path: text.replace("Pipeline costs", "Pipeline costs (again)") for path, text in files.items()}
    write_reports(changed)
    assert all(path.read_text() == text for path, text in changed.items())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in files)


def test_a_directory_with_the_report_name_is_refused(tmp_path, report_texts):
    (tmp_path / "pipeline-costs.html").mkdir()
    with pytest.raises(ReportOverwriteError, match="directory"):
        write_reports({tmp_path / "pipeline-costs.html": report_texts["html"]})


def test_files_are_readable_like_any_other_file(tmp_path, report_texts):
    old = os.umask(0o022)
    try:
        (path,) = write_reports({tmp_path / "r.html": report_texts["html"]})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
