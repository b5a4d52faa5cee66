"""The installed package prices GPUs and TPUs on its own: the wheel carries the Google Cloud facts
(aipipe_ops/gcp and its CSV tables) and the price book, and needs neither the checkout nor `stacks`.

The wheel is built from a copy of the sources, installed without dependencies into a fresh venv that sees
the dev venv's third-party packages through a directory of links that leaves out the editable install of
aipipe (its finder, .pth and dist-info), then `aipipe estimate --plan` runs from a folder outside the
checkout on a `pulumi preview --json` plan with a GPU pool and a TPU slice pool.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "aipipe_ops", "reports", "stacks")
URN = "urn:pulumi:lab::aipipe::gcp:container/{}::{}"

PLAN = {"steps": [
    {"op": "create", "urn": URN.format("cluster:Cluster", "gke"), "newState": {
        "type": "gcp:container/cluster:Cluster", "custom": True,
        "inputs": {"name": "gke", "location": "us-central1-a", "removeDefaultNodePool": True}}},
    {"op": "create", "urn": URN.format("nodePool:NodePool", "l4"), "newState": {
        "type": "gcp:container/nodePool:NodePool", "custom": True, "inputs": {
            "cluster": "gke", "autoscaling": {"totalMinNodeCount": 0, "totalMaxNodeCount": 2},
            "nodeConfig": {"machineType": "g2-standard-8", "spot": True,
                           "guestAccelerators": [{"type": "nvidia-l4", "count": 1}]}}}},
    {"op": "create", "urn": URN.format("nodePool:NodePool", "v5e"), "newState": {
        "type": "gcp:container/nodePool:NodePool", "custom": True, "inputs": {
            "cluster": "gke", "nodeCount": 2, "placementPolicy": {"type": "COMPACT", "tpuTopology": "2x4"},
            "nodeConfig": {"machineType": "ct5lp-hightpu-4t"}}}},
]}


def _run(*args, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120, **kwargs)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


def _dependencies_without_aipipe(target: Path) -> Path:
    """A folder of links to the dev venv's site-packages entries, minus the editable install of aipipe."""
    target.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        name = entry.name.lower()
        if name.startswith(("__editable__", "aipipe")) or name.endswith(".pth"):
            continue
        (target / entry.name).symlink_to(entry)
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A venv holding the built wheel and, through a .pth line, aipipe's dependencies: its bin/ folder."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", base / "dist", source)
    (wheel,) = (base / "dist").glob("aipipe-*.whl")

    venv = base / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    deps = _dependencies_without_aipipe(base / "deps")
    (site / "aipipe-test-dependencies.pth").write_text(f"{deps}\n")
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel)
    return venv / "bin"


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "AIPIPE_", "VIRTUAL_ENV", "PULUMI_"))}
    env["HOME"] = str(home)
    return env


def test_the_installed_copy_does_not_see_the_checkout(installed, tmp_path):
    probe = ("import importlib.util, json, aipipe_ops, aipipe_ops.gcp.tpus as t; "
             "print(json.dumps([aipipe_ops.__file__, importlib.util.find_spec('stacks') is None, "
             "len(t.TPU_MACHINE_TYPES)]))")
    out = _run(installed / "python", "-c", probe, cwd=tmp_path, env=_clean_env(tmp_path)).stdout
    location, no_stacks, tpu_types = json.loads(out)
    assert not Path(location).is_relative_to(ROOT), location
    assert no_stacks, "`stacks` is importable in the installed copy"
    assert tpu_types > 0


def test_the_installed_estimate_prices_a_gpu_and_a_tpu_pool(installed, tmp_path):
    plan = tmp_path / "preview.json"
    plan.write_text(json.dumps(PLAN))
    out = _run(installed / "aipipe", "estimate", "--plan", plan, "--format", "json", cwd=tmp_path,
               env=_clean_env(tmp_path)).stdout
    data = json.loads(out)
    lines = {line["kind"]: line for resource in data["resources"] for line in resource["lines"]}
    for kind in ("gpu", "tpu"):
        assert lines[kind]["priced"], lines[kind]
        assert float(lines[kind]["monthly_max"]) > 0, lines[kind]
    assert lines["gpu"]["component"] == "GPUs (spot, NVIDIA L4)"
    assert lines["tpu"]["component"] == "TPU chips (on-demand, v5e 2x4 slice)"
    assert not data["unpriced"], data["unpriced"]
