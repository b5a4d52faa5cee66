"""A cache of offline stack runs, so re-estimating an unchanged stack skips the program run (most of the
time is importing pulumi_gcp's modules, seconds on a small machine).

The key is a hash of everything the run's result depends on: Pulumi.yaml, the stack's config, every
source file of the program folder, aipipe's own plan-reader modules, and the versions of Python, aipipe,
pulumi, pulumi-gcp and pulumi-kubernetes. Any change gives a new key; stale entries are simply never read
again. Entries live beside the workspace (`.aipipe/plans/`); `aipipe estimate --no-cache` bypasses them.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import sys
from pathlib import Path
from typing import Iterable

from aipipe_ops import __version__
from aipipe_ops.atomic import write_text_atomic
from aipipe_ops.pricing.plans.plan_file import Plan
from aipipe_ops.pricing.plans.resource import PlannedResource
from aipipe_ops.workspace_path import resolve_workspace_path

SOURCE_SUFFIXES = {".py", ".yaml", ".yml", ".json"}
SKIPPED_DIRS = {"__pycache__", "venv", ".venv", "node_modules", ".git"}
PACKAGES = ("pulumi", "pulumi-gcp", "pulumi-kubernetes")
CACHE_VERSION = "1"


def cache_dir() -> Path:
    return resolve_workspace_path(None).parent / "plans"


def _files(folder: Path) -> Iterable[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in SOURCE_SUFFIXES and not SKIPPED_DIRS & set(path.parts):
            yield path


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def plan_key(project_dir: Path, program_dir: Path, config_files: Iterable[Path], extra: str = "") -> str:
    digest = hashlib.sha256()
    digest.update(f"{CACHE_VERSION}|{sys.version}|{__version__}|{extra}".encode())
    for package in PACKAGES:
        digest.update(f"|{package}={_version(package)}".encode())
    readers = Path(__file__).resolve().parent / "plans"
    for path in [project_dir / "Pulumi.yaml", *config_files, *_files(program_dir), *_files(readers)]:
        digest.update(str(path).encode())
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
    return digest.hexdigest()[:24]


def load(name: str, key: str) -> Plan | None:
    path = cache_dir() / f"{name}-{key}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        resources = [PlannedResource(**item) for item in data["resources"]]
        return Plan(resources=resources, stack=data["stack"], project=data["project"], source=data["source"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(name: str, key: str, plan: Plan) -> None:
    data = {"stack": plan.stack, "project": plan.project, "source": plan.source,
            "resources": [{"urn": r.urn, "type": r.type, "name": r.name, "inputs": r.inputs, "parent": r.parent,
                           "custom": r.custom} for r in plan.resources]}
    try:
        write_text_atomic(cache_dir() / f"{name}-{key}.json", json.dumps(data))
    except OSError:
        pass  # a read-only folder only loses the speed-up
