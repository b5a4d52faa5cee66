"""Shared inputs of the reliability pass, made once per session: a small sample fleet and a workspace loaded from it.

Cases copy what they use into their own folder, so a case can never change what the next one reads."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]


def aipipe_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIPIPE_")}
    env.update({"AIPIPE_NO_PROGRESS": "1", "COLUMNS": "80",
                "GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/aipipe-test-credentials.json",
                "NO_GCE_CHECK": "True", "GCE_METADATA_HOST": "127.0.0.1:9", "GCE_METADATA_IP": "127.0.0.1:9"})
    env.update(extra)
    return env


def run_aipipe(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 120):
    return subprocess.run([sys.executable, "-m", "aipipe_ops", *args], cwd=cwd, env=env or aipipe_env(),
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def tree_digest(root: Path) -> dict[str, str]:
    """Every file and folder under root with the SHA-256 of its bytes (folders as 'dir')."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = "link:" + os.readlink(path)
        elif path.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="session")
def fleet(tmp_path_factory):
    """(sample dir, loaded workspace file), made through the CLI like a user would."""
    root = tmp_path_factory.mktemp("reliability-fleet")
    env = aipipe_env(AIPIPE_WORKSPACE=str(root / "ws.duckdb"))
    steps = [
        ["sample", "--runs", "20", "--days", "2", "--seed", "3", "--out", str(root / "sample")],
        ["lineage", "snapshot", "--mlmd", f"sqlite://{root / 'sample' / 'mlmd.sqlite'}"],
        ["billing", "load", "--billing", str(root / "sample" / "billing" / "part-00000.parquet")],
    ]
    for args in steps:
        result = run_aipipe(args, root, env)
        assert result.returncode == 0, f"aipipe {' '.join(args)}: {result.stderr}"
    return root / "sample", root / "ws.duckdb"


@pytest.fixture(scope="session")
def busy_inputs(tmp_path_factory):
    """Inputs that keep a command busy for seconds, so that Ctrl-C lands mid-work: (a workspace of a 600-run fleet,
    a price book of about 3,000 SKUs). Made once, only for the tests that ask."""
    import json

    root = tmp_path_factory.mktemp("reliability-busy")
    env = aipipe_env(AIPIPE_WORKSPACE=str(root / "ws.duckdb"))
    steps = [
        ["sample", "--runs", "600", "--days", "20", "--seed", "5", "--billing-format", "parquet", "--out",
         str(root / "sample")],
        ["lineage", "snapshot", "--mlmd", f"sqlite://{root / 'sample' / 'mlmd.sqlite'}"],
        ["billing", "load", "--billing", str(root / "sample" / "billing")],
    ]
    for args in steps:
        result = run_aipipe(args, root, env, timeout=300)
        assert result.returncode == 0, f"aipipe {' '.join(args)}: {result.stderr}"
    # The shipped price book, each SKU copied under 20 new ids: `prices show` lists every one.
    book = json.loads((PROJECT_DIR / "aipipe_ops" / "pricing" / "data" / "price_book.json").read_text())
    for service in book["services"]:
        copies = []
        for i in range(20):
            for sku in service["skus"]:
                sku_id = f"C{i:03d}-{sku['skuId']}"
                copies.append({**sku, "skuId": sku_id, "name": f"{sku['name'].rsplit('/', 1)[0]}/{sku_id}",
                               "description": f"{sku['description']} (copy {i})"})
        service["skus"] = copies
    (root / "big_book.json").write_text(json.dumps(book))
    return root / "ws.duckdb", root / "big_book.json"
