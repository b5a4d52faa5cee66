"""Short, stable labels of lineage nodes (runs, steps, artifacts), shared by the audit findings and every view."""

from __future__ import annotations

from typing import Any


def short_run(run_id: str | None) -> str:
    if not run_id:
        return "no run"
    return run_id[:8] if len(run_id) > 12 and run_id.count("-") >= 4 else run_id   # UUIDs shorten to 8


def artifact_label(a: dict[str, Any]) -> str:
    return f"{a['kind']} #{a['artifact_id']} ({a['type_name']})"


def execution_label(e: dict[str, Any]) -> str:
    step = e.get("step") or e.get("component") or e.get("type_name") or "execution"
    return f"{step} #{e['execution_id']} [{e['state']}]"


def artifact_detail(a: dict[str, Any]) -> str:
    return a.get("uri") or ""


def execution_detail(e: dict[str, Any], runs: dict[str, dict[str, Any]]) -> str:
    run = runs.get(e.get("run_id") or "", {})
    parts = [f"run {short_run(e.get('run_id'))}"]
    if run.get("pipeline"):
        parts.append(f"pipeline {run['pipeline']}")
    if e.get("cached_from"):
        parts.append(f"cache hit of #{e['cached_from']}")
    if e.get("via_cache"):
        parts.append("re-used via cache")
    return ", ".join(parts)
