"""Renderings of a lineage subgraph: a tree for people, Mermaid and DOT for graph tools (JSON goes through
output.to_json). One module per format; FORMATS maps the --format choice to its renderer."""

from __future__ import annotations

from aipipe_ops.lineage.views import dot, mermaid, tree

FORMATS = {"tree": tree.render, "mermaid": mermaid.render, "dot": dot.render}
