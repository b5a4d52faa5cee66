"""The report registry: every module in this package that defines `REPORT` is a report.

A new report is one module (its `REPORT = ReportSpec(...)` and `build` function) plus its templates
`<name>.html.j2` and `<name>.md.j2`, nothing else to edit.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from aipipe_ops.errors import ConfigError

from .document import ReportDocument, ReportParameters

PACKAGE = __name__.rsplit(".", 1)[0]


@dataclass(frozen=True)
class ReportSpec:
    name: str            # registry key and template stem, e.g. "pipeline_costs"
    title: str
    summary: str         # one line for --help and docs
    order: int           # position in `aipipe report` output and in the index
    build: Callable[..., ReportDocument]   # build(workspace, parameters, now=...) -> ReportDocument

    @property
    def file_stem(self) -> str:
        return self.name.replace("_", "-")

    def build_document(self, workspace, parameters: ReportParameters, now: dt.datetime | None = None):
        return self.build(workspace, parameters, now=now or dt.datetime.now(dt.timezone.utc))


@lru_cache(maxsize=1)
def all_reports() -> tuple[ReportSpec, ...]:
    package = importlib.import_module(PACKAGE)
    specs = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{PACKAGE}.{info.name}")
        spec = getattr(module, "REPORT", None)
        if isinstance(spec, ReportSpec):
            specs.append(spec)
    names = [s.name for s in specs]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise RuntimeError(f"two reports share the name(s) {sorted(duplicates)}")
    return tuple(sorted(specs, key=lambda s: (s.order, s.name)))


def report_names() -> list[str]:
    return [s.name for s in all_reports()]


def report_stems() -> list[str]:
    """The names users type (`--report pipeline-costs`), which are also the report files' stems."""
    return [s.file_stem for s in all_reports()]


def get_report(name: str) -> ReportSpec:
    wanted = name.strip().replace("-", "_")
    for spec in all_reports():
        if spec.name == wanted:
            return spec
    raise ConfigError(f"--report {name!r}: unknown report; expected one of {', '.join(report_stems())}")
