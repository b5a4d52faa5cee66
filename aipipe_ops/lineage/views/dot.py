"""The lineage as Graphviz DOT (`aipipe lineage upstream 42 --format dot | dot -Tsvg > lineage.svg`)."""

from __future__ import annotations

from aipipe_ops.lineage.graph import LineageGraph
from aipipe_ops.lineage.node_labels import artifact_detail, artifact_label, execution_label, short_run


def _q(*lines: str) -> str:
    """A quoted DOT string; several lines are joined with DOT's own line break."""
    return '"' + "\\n".join(v.replace("\\", "\\\\").replace('"', '\\"') for v in lines if v) + '"'


def render(graph: LineageGraph) -> str:
    lines = [f"digraph {_q(graph.direction)} {{", "  rankdir=LR;", "  node [fontname=Helvetica, fontsize=10];"]
    by_run: dict[str, list[int]] = {}
    for e in graph.executions.values():
        by_run.setdefault(e.get("run_id") or "", []).append(e["execution_id"])
    for index, (run_id, execution_ids) in enumerate(sorted(by_run.items())):
        if run_id:
            lines.append(f"  subgraph cluster_{index} {{ label={_q('run ' + short_run(run_id))};")
        for execution_id in sorted(execution_ids):
            e = graph.executions[execution_id]
            style = ", style=dashed" if e.get("state") == "CACHED" else ""
            lines.append(f"    e{execution_id} [shape=box, label={_q(execution_label(e))}{style}];")
        if run_id:
            lines.append("  }")
    for a in graph.artifacts.values():
        width = ", penwidth=3" if a["artifact_id"] in graph.start else ""
        label = _q(artifact_label(a), artifact_detail(a))
        lines.append(f"  a{a['artifact_id']} [shape=ellipse, label={label}{width}];")
    for edge in graph.edges:
        attrs = [f"label={_q(edge['role'])}"] if edge.get("role") else []
        if edge["relation"] == "reuse":
            attrs.append("style=dashed")
        lines.append(f"  {edge['source']} -> {edge['target']}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    lines.append("}")
    return "\n".join(lines)
