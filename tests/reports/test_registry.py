"""Reports are found by the registry: a module that defines REPORT, with its two templates beside it."""

from pathlib import Path

import pytest

from aipipe_ops.errors import ConfigError
from aipipe_ops.reports import registry


def test_both_reports_are_registered_in_order():
    assert registry.report_names() == ["pipeline_costs", "lineage_audit"]
    assert [s.file_stem for s in registry.all_reports()] == ["pipeline-costs", "lineage-audit"]


def test_every_report_has_its_templates():
    folder = Path(registry.__file__).parent
    for spec in registry.all_reports():
        for kind in ("html", "md"):
            assert (folder / f"{spec.name}.{kind}.j2").is_file(), (spec.name, kind)


def test_names_accept_dashes_and_unknown_names_are_errors():
    assert registry.get_report("lineage-audit").name == "lineage_audit"
    with pytest.raises(ConfigError, match="pipeline-costs, lineage-audit"):
        registry.get_report("quarterly")
