"""Audit rules, found by scanning audit/rules/: each module exposes RULE (an AuditRule). A new rule is one file
there plus its test; nothing else is edited."""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import re
from functools import lru_cache

from aipipe_ops.errors import AipipeError, ConfigError, WorkspaceError
from aipipe_ops.lineage.audit import rules as rules_package
from aipipe_ops.lineage.audit.finding import AuditContext, AuditRule, Finding, Severity


class AuditFailed(AipipeError):
    """Findings at or above --fail-on: exit status 1 for CI (2 stays for errors that stopped the audit)."""

    exit_code = 1


@lru_cache(maxsize=1)
def all_rules() -> tuple[AuditRule, ...]:
    found = []
    for module in pkgutil.iter_modules(rules_package.__path__):
        rule = getattr(importlib.import_module(f"{rules_package.__name__}.{module.name}"), "RULE", None)
        if isinstance(rule, AuditRule):
            found.append(rule)
    return tuple(sorted(found, key=lambda r: r.name))


def select_rules(names: list[str] | tuple[str, ...] | None) -> list[AuditRule]:
    rules = list(all_rules())
    if not names:
        return rules
    by_name = {r.name: r for r in rules}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ConfigError(f"--rule {', '.join(unknown)}: no such audit rule; rules: {', '.join(by_name)}")
    return [by_name[n] for n in names]


def run_audit(ctx: AuditContext, names=None) -> list[Finding]:
    """Every finding of the selected rules, in the documented order (docs/lineage.md, Audit): see finding_order."""
    findings: list[Finding] = []
    for rule in select_rules(names):
        findings.extend(rule.check(ctx))
    return sorted(findings, key=finding_order)


_NUMBER = re.compile(r"(\d+)")


def finding_order(finding: Finding) -> tuple:
    """Errors first, then by rule name, then by subject with its numbers read as numbers ("execution 9" before
    "execution 10"), then by message: the same findings always print in the same order."""
    subject = tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                    for part in _NUMBER.split(finding.subject) if part)
    return (-int(finding.severity), finding.rule, subject, finding.message)


def fails(findings: list[Finding], fail_on: str) -> bool:
    """Whether CI should fail: any finding at or above `fail_on` (warning | error); `never` never fails."""
    if fail_on == "never":
        return False
    threshold = Severity.parse(fail_on)
    return any(f.severity >= threshold for f in findings)


def require_lineage(con) -> None:
    """An audit of nothing must not pass CI: a workspace without lineage is an error (exit 2) naming what to load."""
    if not con.execute("SELECT EXISTS (SELECT 1 FROM steps) OR EXISTS (SELECT 1 FROM artifacts)").fetchone()[0]:
        raise WorkspaceError(
            "the workspace holds no lineage to audit: load it first with `aipipe lineage snapshot --mlmd "
            "grpc://localhost:8080` (or sqlite:///path/metadata.sqlite, mysql://...), or `aipipe lineage snapshot "
            "--kfp URL` for the KFP API; check AIPIPE_WORKSPACE / --workspace if you expected lineage here")


def snapshot_time(con) -> dt.datetime:
    row = con.execute("SELECT max(loaded_at) FROM loads WHERE kind = 'lineage'").fetchone()
    return row[0] if row and row[0] else dt.datetime.now(dt.timezone.utc)
