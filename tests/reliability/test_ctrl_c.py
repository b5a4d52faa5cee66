"""§1 Ctrl-C: SIGINT while a command works exits 130 with the one line `aipipe: aborted`, fast, no traceback."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time

import pytest

from .conftest import PROJECT_DIR, aipipe_env

# (id, arguments, seconds to wait before Ctrl-C, inputs). Each input keeps its command busy well past the Ctrl-C:
# `busy_ws` is a 600-run fleet's workspace (costs --recompute takes seconds), `big_book` a price book of ~3,000 SKUs.
CTRL_C_CASES = [
    ("sample", ["sample", "--runs", "3000", "--days", "60", "--out", "s"], 2.0, ()),
    ("billing-load", ["--workspace", "ws.duckdb", "billing", "load", "--billing", "many"], 1.5, ("ws", "many")),
    ("costs-recompute", ["--workspace", "ws.duckdb", "costs", "--recompute", "--by", "step"], 1.2, ("busy_ws",)),
    ("prices-show-early", ["prices", "show", "--price-book", "big_book.json"], 0.3, ("big_book",)),
    # The stack program runs under Pulumi's mocks in an asyncio loop: Ctrl-C must not leave it running or printing.
    ("estimate-no-cache", ["estimate", "--stack", "prod", "--no-cache", "--project-dir", str(PROJECT_DIR)], 1.0, ()),
]


def _wait_for_python_signal_handling(pid: int, limit: float = 10.0) -> None:
    """Until the interpreter catches SIGINT (/proc SigCgt): before that a signal kills any Python process (the
    kernel's default action), a window no program can close; on a loaded machine it lasts longer than a delay."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            status = open(f"/proc/{pid}/status").read()
        except OSError:
            return
        caught = next((int(line.split()[1], 16) for line in status.splitlines() if line.startswith("SigCgt:")), 0)
        if caught & (1 << (signal.SIGINT - 1)):
            return
        time.sleep(0.01)


@pytest.mark.parametrize("args,delay,inputs", [c[1:] for c in CTRL_C_CASES], ids=[c[0] for c in CTRL_C_CASES])
def test_ctrl_c(args, delay, inputs, fleet, tmp_path, request):
    sample, ws = fleet
    if "ws" in inputs:
        shutil.copyfile(ws, tmp_path / "ws.duckdb")
    if "busy_ws" in inputs or "big_book" in inputs:
        busy_ws, big_book = request.getfixturevalue("busy_inputs")
        shutil.copyfile(busy_ws, tmp_path / "ws.duckdb")
        shutil.copyfile(big_book, tmp_path / "big_book.json")
    if "many" in inputs:
        # The same export under many names: enough rows that the load is still running when Ctrl-C comes.
        (tmp_path / "many").mkdir()
        for i in range(150):
            shutil.copyfile(sample / "billing" / "part-00000.jsonl", tmp_path / "many" / f"part-{i:05d}.jsonl")
    proc = subprocess.Popen([sys.executable, "-m", "aipipe_ops", *args], cwd=tmp_path, env=aipipe_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_python_signal_handling(proc.pid)
    time.sleep(delay)
    if proc.poll() is not None:
        pytest.skip(f"finished in under {delay} s, before Ctrl-C (exit {proc.returncode})")
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("still running 10 s after Ctrl-C")
    took = time.monotonic() - sent
    assert proc.returncode == 130, err
    # Exactly one line: no blank line before it (click's ^C newline is for terminals only), nothing after it (no
    # traceback, no asyncio "Future exception was never retrieved" while the process ends).
    assert err == "aipipe: aborted\n", err
    assert took < 4.0, f"{took:.1f} s to stop"
    assert not any(p.name.startswith(".s.tmp") for p in tmp_path.iterdir()), "the sample's staging was left"
