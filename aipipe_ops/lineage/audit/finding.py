"""What an audit rule reports: a finding with a severity, the runs involved, and the lineage path as evidence."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import duckdb


class Severity(IntEnum):
    INFO = 0
    WARNING = 1
    ERROR = 2

    @classmethod
    def parse(cls, text: str) -> "Severity":
        return cls[text.upper()]

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    subject: str                       # what the finding is about: "artifact 14", "run 3f2a...", "execution 7"
    message: str
    evidence: tuple[str, ...] = ()     # the lineage path, start first: "pushed_model #14", "<- Pusher #10 (run r1)"
    runs: tuple[str, ...] = ()

    def to_row(self) -> dict[str, Any]:
        return {"severity": str(self.severity), "rule": self.rule, "subject": self.subject,
                "runs": ", ".join(self.runs), "message": self.message, "evidence": " ".join(self.evidence)}

    def to_json(self) -> dict[str, Any]:
        return {"severity": str(self.severity), "rule": self.rule, "subject": self.subject,
                "runs": list(self.runs), "message": self.message, "evidence": list(self.evidence)}


@dataclass
class AuditContext:
    """What a rule may use: the workspace connection, the time the lineage was read, and the options."""

    con: duckdb.DuckDBPyConnection
    as_of: dt.datetime                             # when the snapshot was taken: "stuck" is measured from here
    stuck_after: dt.timedelta = dt.timedelta(hours=24)
    check_remote: bool = True                      # check gs:// URIs when Google credentials are configured
    options: dict[str, Any] = field(default_factory=dict)


class AuditRule:
    """One audit rule: a file under audit/rules/ exposing RULE = <subclass>(). Same shape for every rule."""

    name: str = ""
    severity: Severity = Severity.WARNING
    title: str = ""          # one line for `aipipe audit --list` and the docs

    def check(self, ctx: AuditContext) -> list[Finding]:
        raise NotImplementedError

    def finding(self, subject: str, message: str, evidence=(), runs=(), severity: Severity | None = None) -> Finding:
        return Finding(self.name, severity if severity is not None else self.severity, subject, message,
                       tuple(evidence), tuple(r for r in dict.fromkeys(runs) if r))
