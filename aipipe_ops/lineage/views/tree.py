"""The lineage as an indented tree: the starting artifact at the root, then (upstream) who produced it and what
that consumed, or (downstream) who consumed it and what that produced. A node reached twice is printed once in
full; later it shows `(see above)`."""

from __future__ import annotations

import io

from rich.console import Console
from rich.tree import Tree

from aipipe_ops.lineage.graph import LineageGraph
from aipipe_ops.lineage.node_labels import artifact_detail, artifact_label, execution_detail, execution_label


def _children(graph: LineageGraph) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {}
    for edge in graph.edges:
        source, target = edge["source"], edge["target"]
        if graph.direction == "upstream":
            parent, child = target, source        # artifact <- producer, execution <- its inputs
        else:
            parent, child = source, target        # artifact -> consumer, execution -> its outputs
        children.setdefault(parent, [])
        if child not in children[parent]:
            children[parent].append(child)
    return children


def render(graph: LineageGraph) -> str:
    children = _children(graph)
    seen: set[str] = set()
    forest = []
    for start in graph.start:
        key = f"a{start}"
        root = Tree(_label(graph, key))
        seen.add(key)
        _grow(graph, children, key, root, seen)
        forest.append(root)
    console = Console(file=io.StringIO(), width=160, color_system=None, force_terminal=False)
    for root in forest:
        console.print(root)
    verb = "provenance" if graph.direction == "upstream" else "impact"
    runs = ", ".join(sorted(graph.runs)) or "none"
    summary = (f"{verb}: {_count(len(graph.executions), 'execution')}, {_count(len(graph.artifacts), 'artifact')}, "
               f"{_count(len(graph.runs), 'run')} ({runs})")
    return console.file.getvalue().rstrip("\n") + "\n" + summary


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _grow(graph, children, key, node, seen) -> None:
    for child in children.get(key, []):
        if child in seen:
            node.add(_label(graph, child) + "  (see above)")
            continue
        seen.add(child)
        branch = node.add(_label(graph, child))
        _grow(graph, children, child, branch, seen)


def _label(graph: LineageGraph, key: str) -> str:
    node_id = int(key[1:])
    if key[0] == "a":
        a = graph.artifacts.get(node_id)
        return f"{artifact_label(a)} {artifact_detail(a)}" if a else f"artifact #{node_id}"
    e = graph.executions.get(node_id)
    return f"{execution_label(e)} {execution_detail(e, graph.runs)}" if e else f"execution #{node_id}"
