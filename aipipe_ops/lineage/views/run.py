"""One run for people: its steps in order with state, pod, cache origin, inputs and outputs."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from rich.tree import Tree

from aipipe_ops.lineage.node_labels import execution_label, short_run


def _artifact(a: dict[str, Any]) -> str:
    reused = " (re-used from cache)" if a.get("reused") else ""
    role = f"{a['role']}: " if a.get("role") else ""
    return f"{role}{a['kind']} #{a['artifact_id']} {a.get('uri') or ''}{reused}".rstrip()


def render(run: dict[str, Any]) -> str:
    head = (f"run {run['run_id']}  pipeline {run.get('pipeline') or '?'}  [{run.get('state')}]  "
            f"{run.get('orchestrator') or ''}")
    extras = []
    if run.get("namespace"):
        extras.append(f"namespace {run['namespace']}")
    if run.get("workflow"):
        extras.append(f"workflow {run['workflow']}")
    if run.get("created_at"):
        extras.append(f"created {run['created_at']:%Y-%m-%d %H:%M:%S} UTC")
    if run.get("finished_at"):
        extras.append(f"finished {run['finished_at']:%Y-%m-%d %H:%M:%S} UTC")
    root = Tree(head + ("\n" + ", ".join(extras) if extras else ""))
    for step in run["steps"]:
        label = execution_label(step)
        notes = []
        if step.get("cached_from"):
            notes.append(f"cache hit of #{step['cached_from']} (run {short_run(step.get('cached_from_run'))})")
        if step.get("pod_name"):
            notes.append(f"pod {step['pod_name']}")
        node = root.add(label + ("  " + ", ".join(notes) if notes else ""))
        for a in step["inputs"]:
            node.add("in  " + _artifact(a))
        for a in step["outputs"]:
            node.add("out " + _artifact(a))
    console = Console(file=io.StringIO(), width=160, color_system=None, force_terminal=False)
    console.print(root)
    text = console.file.getvalue().rstrip("\n")
    if run.get("external_inputs"):
        text += "\ninputs from outside this run: " + ", ".join(f"#{a}" for a in run["external_inputs"])
    return text
