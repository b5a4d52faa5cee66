"""Golden snapshots of the example stacks' resource graphs (tests/stacks/golden/<stack>.json).

Any change to what a stack creates shows up here as a diff; accepting it is deliberate:
    AIPIPE_UPDATE_GOLDEN=1 .venv/bin/pytest tests/stacks/test_stack_golden.py
and review the golden diff like code.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import pytest
from stack_helpers import EXAMPLE_STACKS

from aipipe_ops.atomic import write_text_atomic

GOLDEN_DIR = Path(__file__).parent / "golden"
UPDATE = os.environ.get("AIPIPE_UPDATE_GOLDEN") == "1"


def snapshot(run) -> str:
    """Types, names, parents and inputs of every resource, in a stable order, plus the stack outputs."""
    resources = [{"urn": r.urn, "type": r.type, "name": r.name, "parent": r.parent, "custom": r.custom,
                  "inputs": r.inputs} for r in sorted(run.resources, key=lambda r: r.urn)]
    return json.dumps({"resources": resources, "outputs": run.outputs}, indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_resource_graph_matches_the_golden_file(stack, stack_runs):
    actual = snapshot(stack_runs[stack])
    golden = GOLDEN_DIR / f"{stack}.json"
    if UPDATE:
        write_text_atomic(golden, actual)
        golden.chmod(0o644)
        return
    assert golden.exists(), f"{golden} is missing; create it with AIPIPE_UPDATE_GOLDEN=1"
    expected = golden.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(list(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                                 f"golden/{stack}.json", "this run", n=2))[:120])
        pytest.fail(f"stack {stack} changed; if intended, regenerate with AIPIPE_UPDATE_GOLDEN=1:\n{diff}")


def test_golden_files_hold_the_security_and_cost_anchors():
    """A regenerated golden file must still contain what the issue requires (guards blind updates)."""
    for stack in EXAMPLE_STACKS:
        data = json.loads((GOLDEN_DIR / f"{stack}.json").read_text(encoding="utf-8"))
        by_type = {}
        for resource in data["resources"]:
            by_type.setdefault(resource["type"], []).append(resource["inputs"])
        (cluster,) = by_type["gcp:container/cluster:Cluster"]
        assert cluster["privateClusterConfig"]["enablePrivateNodes"] is True
        assert cluster["costManagementConfig"]["enabled"] is True
        assert all(p["nodeConfig"]["shieldedInstanceConfig"]["enableSecureBoot"]
                   for p in by_type["gcp:container/nodePool:NodePool"])
        assert all("?ref=2." in d["directory"] for d in by_type["kubernetes:kustomize/v2:Directory"])
