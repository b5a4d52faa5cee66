"""Issue 17 item 4: prices the book doubts are flagged (`prices show`, estimate lines in every format), and the
Markdown of `--diff` with `--budget` carries the budget verdict the exit status gives."""

from __future__ import annotations

import json

from pricing_paths import H100_STACK_FILE, PROJECT_DIR

L4_SPOT_EAST5 = "AIPIPE-NVIDIA-L4-GPU-ATTACHED-TO-SPOT-PREEMPTIBLE-COLUMBUS"


def test_prices_show_flags_unverified(run_cli):
    code, out, _ = run_cli("prices", "show", "--region", "us-east5", "--kind", "gpu")
    assert code == 0 and "1 UNVERIFIED" in out.splitlines()[0]
    row = next(line for line in out.splitlines() if line.startswith(L4_SPOT_EAST5))
    assert row.rstrip().endswith("UNVERIFIED")
    code, out, _ = run_cli("prices", "show", "--filter", L4_SPOT_EAST5, "--format", "json")
    (data,) = json.loads(out)
    assert data["unverified"] == "UNVERIFIED"


def test_estimate_lines_using_unverified_prices_are_flagged(run_cli, tmp_path):
    stack = tmp_path / "Pulumi.l4east.yaml"  # dev's spot L4 pool, in us-east5 (the doubted spot price)
    stack.write_text((PROJECT_DIR / "Pulumi.dev.yaml").read_text().replace("us-central1-a", "us-east5-a"))
    base = ("estimate", "--project-dir", PROJECT_DIR, "--stack", stack)
    code, out, _ = run_cli(*base)
    assert code == 0
    assert "GPUs (spot, NVIDIA L4)  !" in out
    assert f"  - l4-spot: GPUs (spot, NVIDIA L4): SKU {L4_SPOT_EAST5}: " in out and "UNVERIFIED" in out
    code, out, _ = run_cli(*base, "--format", "json")
    lines = [line for r in json.loads(out)["resources"] for line in r["lines"]]
    gpu = next(line for line in lines if line["component"] == "GPUs (spot, NVIDIA L4)")
    assert "UNVERIFIED" in gpu["price_unverified"]
    assert next(line for line in lines if line["component"].startswith("Instance vCPUs (on-demand"))[
        "price_unverified"] is None
    code, out, _ = run_cli(*base, "--format", "markdown")
    assert "GPUs (spot, NVIDIA L4) (unverified price)" in out and "**Unverified prices (" in out


def test_diff_markdown_carries_the_budget_verdict(run_cli, tmp_path):
    out_file = tmp_path / "est.md"
    code, _, err = run_cli("estimate", "--project-dir", PROJECT_DIR, "--stack", "prod", "--diff", "dev",
                           "--budget", "5000", "--format", "markdown", "--output", out_file)
    assert code == 1 and "exceeds the budget of 5000 USD" in err
    text = out_file.read_text()
    assert "**Budget** (--budget): 5,000.00 USD/month. Monthly maximum: **over budget** by 8,702.48 USD." in text
    code, _, _ = run_cli("estimate", "--project-dir", PROJECT_DIR, "--stack", "prod", "--diff", "dev",
                         "--budget", "stack", "--format", "markdown", "--output", out_file)
    assert code == 0 and "Monthly maximum: within budget (1,297.52 USD to spare)." in out_file.read_text()
