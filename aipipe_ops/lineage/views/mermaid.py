"""The lineage as a Mermaid flowchart (renders in GitHub, GitLab and most Markdown viewers): artifacts are
rectangles, executions are hexagons, edges point the way data flowed, runs are subgraphs."""

from __future__ import annotations

import zlib

from aipipe_ops.lineage.graph import LineageGraph
from aipipe_ops.lineage.node_labels import artifact_label, execution_label, short_run


def _text(value: str) -> str:
    return value.replace('"', "#quot;")


def render(graph: LineageGraph) -> str:
    lines = ["flowchart LR"]
    by_run: dict[str, list[int]] = {}
    for e in graph.executions.values():
        by_run.setdefault(e.get("run_id") or "", []).append(e["execution_id"])
    for run_id, execution_ids in sorted(by_run.items()):
        indent = "    "
        if run_id:
            lines.append(f'    subgraph run_{zlib.crc32(run_id.encode()):08x}["run {_text(short_run(run_id))}"]')
            indent = "        "
        for execution_id in sorted(execution_ids):
            lines.append(f'{indent}e{execution_id}{{{{"{_text(execution_label(graph.executions[execution_id]))}"}}}}')
        if run_id:
            lines.append("    end")
    for a in graph.artifacts.values():
        lines.append(f'    a{a["artifact_id"]}["{_text(artifact_label(a))}"]')
    for edge in graph.edges:
        arrow = "-.->" if edge["relation"] == "reuse" else "-->"
        label = f'|{_text(edge["role"])}|' if edge.get("role") else ""
        lines.append(f"    {edge['source']} {arrow}{label} {edge['target']}")
    for start in graph.start:
        lines.append(f"    style a{start} stroke-width:3px")
    return "\n".join(lines)
