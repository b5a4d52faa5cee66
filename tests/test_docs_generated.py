"""What README.md and docs/estimate.md quote of aipipe's output is what aipipe prints today.

Every quoted output and figure sits between markers (`<!-- generated: NAME -->` ... `<!-- end generated -->`,
`<!-- gen:NAME -->` ... `<!-- /gen -->`); tools/generate_docs.py renders each from the real commands (`make demo`'s
own lines on the sample fleet, `aipipe estimate` of the example stacks). This test renders them in memory, once
per session (about 15 s, most of it the 300-run sample fleet), and names every region that differs.
"""

from __future__ import annotations

import difflib
import importlib.util
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent


def _load_generator():
    # tools/ is not a package: the generator stays out of aipipe's import graph.
    spec = importlib.util.spec_from_file_location("generate_docs", PROJECT_DIR / "tools" / "generate_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate_docs = _load_generator()


@pytest.fixture(scope="session")
def doc_sources(tmp_path_factory):
    sources = generate_docs.Sources(tmp_path_factory.mktemp("generated-docs"))
    try:
        sources.prefetch()
    except generate_docs.DocsError as exc:
        if "libfaketime" in str(exc):
            pytest.skip(str(exc))
        raise
    return sources


@pytest.mark.parametrize("name", sorted(generate_docs.REGIONS))
def test_generated_regions_are_current(doc_sources, name):
    checked_in = (PROJECT_DIR / name).read_text()
    _, stale = generate_docs.render_file(name, checked_in, doc_sources)
    messages = []
    for region, old, new in stale:
        diff = "\n".join(difflib.unified_diff(old.splitlines(), new.splitlines(), "checked in", "generated",
                                              lineterm="", n=1))
        messages.append(f"{name}, region {region!r}:\n{diff}")
    assert not stale, (f"{name} quotes output that aipipe no longer prints: run `make docs` (tools/generate_docs.py) "
                       "and review the diff.\n\n" + "\n\n".join(messages))


def test_markers_and_regions_agree():
    """A marker without a renderer, or a renderer whose marker is gone, is an error, not a silent pass."""
    text = "a <!-- gen:no-such-region -->1<!-- /gen --> b"
    generate_docs.REGIONS["example.md"] = {"kept": lambda src: "2"}
    try:
        with pytest.raises(generate_docs.DocsError, match="no-such-region"):
            generate_docs.render_file("example.md", text, None)
        with pytest.raises(generate_docs.DocsError, match="markers of kept are gone"):
            generate_docs.render_file("example.md", "nothing marked", None)
        rendered, stale = generate_docs.render_file(
            "example.md", "x <!-- gen:kept -->1<!-- /gen -->\n<!-- generated: kept -->\nold\n<!-- end generated -->",
            None)
    finally:
        del generate_docs.REGIONS["example.md"]
    assert rendered == "x <!-- gen:kept -->2<!-- /gen -->\n<!-- generated: kept -->\n2<!-- end generated -->"
    assert [region for region, _, _ in stale] == ["kept", "kept"]
