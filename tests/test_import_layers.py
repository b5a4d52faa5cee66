"""The layers of DESIGN.md hold: a module imports only from its own layer or below, the engines import each other
in one direction only, nothing imports the stacks (the Pulumi program) and no import cycle exists between
modules or packages. Every import counts, also one inside a function: a lazy import is still a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CORE, FACTS, ENGINE, PRESENTATION, CLI = 1, 2, 3, 4, 5
# pipeline_labels: the helper pipeline authors import into their KFP pipelines; it imports nothing of aipipe's.
CORE_MODULES = {"sql", "vocabulary", "errors", "atomic", "output", "workspace", "workspace_path", "progress",
                "pipeline_labels"}
CLI_MODULES = {"cli", "cli_context", "cli_reference", "workspace_commands", "__main__"}
# The engines, lowest first: each may read those before it (billing reads lineage's queries, the estimate reads
# billed costs, the sample fleet reads the price book), never one after it.
ENGINES = ("lineage", "billing", "pricing", "sample")


def _modules() -> dict[str, Path]:
    """Every module of the installed package by dotted name (reports/ installs as aipipe_ops.reports)."""
    found = {}
    for base, prefix in ((ROOT / "aipipe_ops", "aipipe_ops"), (ROOT / "reports", "aipipe_ops.reports"),
                         (ROOT / "stacks", "stacks")):
        for path in base.rglob("*.py"):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([prefix, *parts])] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The aipipe modules `name` imports (resolved to the longest known module name)."""
    out = set()
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import submodule` depends on the submodule; any other name comes from pkg itself.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def layer(name: str) -> int:
    if name.startswith("stacks"):
        return CLI  # beside the CLI: imports core and facts, imported by nothing of aipipe's
    parts = name.split(".")[1:]
    if not parts:
        return CORE
    if parts[-1] == "commands" or parts[0] in CLI_MODULES or parts[:2] == ["reports", "browser"]:
        return CLI
    if parts[0] in CORE_MODULES:
        return CORE
    if parts[0] == "gcp":
        return FACTS
    if parts[0] == "reports" or parts[:2] == ["lineage", "views"]:
        return PRESENTATION
    assert parts[0] in ENGINES, f"{name}: place it in a layer (tests/test_import_layers.py)"
    return ENGINE


def test_the_walk_sees_the_tree():
    assert {"aipipe_ops.sql", "aipipe_ops.billing.attribution.attribute", "aipipe_ops.reports.ledger",
            "stacks.config"} <= set(MODULES)
    assert "aipipe_ops.sql" in GRAPH["aipipe_ops.billing.normalise"]
    assert "aipipe_ops.reports.document" in GRAPH["aipipe_ops.reports.ledger"]  # relative imports resolved


def test_no_module_imports_a_layer_above_its_own():
    wrong = [f"{m} (layer {layer(m)}) imports {t} (layer {layer(t)})"
             for m, targets in GRAPH.items() for t in targets if layer(t) > layer(m)]
    assert not wrong, "\n".join(wrong)


def test_nothing_of_aipipe_imports_the_stacks():
    wrong = [f"{m} imports {t}" for m, ts in GRAPH.items() if m.startswith("aipipe_ops")
             for t in ts if t.startswith("stacks")]
    assert not wrong, "\n".join(wrong)


def test_the_core_imports_nothing_above_it_and_sql_nothing_at_all():
    assert not GRAPH["aipipe_ops.sql"] and not GRAPH["aipipe_ops.vocabulary"]


def test_engines_import_each_other_in_one_direction():
    wrong = []
    for m, targets in GRAPH.items():
        if layer(m) != ENGINE:
            continue
        own = ENGINES.index(m.split(".")[1])
        for t in targets:
            if layer(t) == ENGINE and ENGINES.index(t.split(".")[1]) > own:
                wrong.append(f"{m} imports {t}: {ENGINES[own]} comes before {t.split('.')[1]}")
    assert not wrong, "\n".join(wrong)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_between_modules():
    cycle = _cycle(GRAPH)
    assert cycle is None, " -> ".join(cycle)


def test_no_import_cycle_between_packages():
    def package(name):
        return ".".join(name.split(".")[:2])

    packages: dict[str, set[str]] = {}
    for m, targets in GRAPH.items():
        packages.setdefault(package(m), set()).update(package(t) for t in targets if package(t) != package(m))
    cycle = _cycle(packages)
    assert cycle is None, " -> ".join(cycle)


@pytest.mark.parametrize("graph,expected", [
    ({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
])
def test_the_cycle_finder_finds_cycles(graph, expected):
    assert _cycle(graph) == expected
