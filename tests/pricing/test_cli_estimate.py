"""`aipipe estimate` and `aipipe prices show` as a user (or CI) runs them."""

from __future__ import annotations

import json
from pathlib import Path
from decimal import Decimal

import duckdb
import pytest
from pricing_paths import H100_STACK_FILE, PROJECT_DIR

D = Decimal


@pytest.fixture
def estimate(run_cli):
    def run(*args):
        return run_cli("estimate", "--project-dir", PROJECT_DIR, *args)
    return run


def test_table_has_every_line_and_the_total(estimate):
    code, out, err = estimate("--stack", "dev")
    assert code == 0, err
    assert "Estimate of stack dev (project aipipe) from offline evaluation of Pulumi.dev.yaml" in out
    assert "GPUs (spot, NVIDIA L4)" in out and "0-2 GPUs" in out and "0.3148 /GPU-hour" in out
    total = next(line for line in out.splitlines() if line.startswith("TOTAL"))
    assert total.split()[-2:] == ["111.84", "1,068.12"]


def test_json_is_exact(estimate):
    code, out, _ = estimate("--stack", "prod", "--format", "json")
    data = json.loads(out)
    assert data["totals"]["monthly_max"] == "13702.48034" and data["totals"]["monthly_min"] == "7418.58456"
    assert data["budget"] == {"source": "the stack's Budget resource budget", "amount": "15000", "currency": "USD",
                              "monthly_max": "13702.48034", "comparable": True, "over": False,
                              "headroom": "1297.51966", "proven": True}
    a100 = next(r for r in data["resources"] if r["resource"] == "a100")
    assert (a100["cluster"], a100["node_pool"]) == ("aipipe-prod", "a100")  # the bill's identifiers, as fields
    assert a100["parent"] == "node-pools" and a100["monthly_max"] == "5403.1421"  # 553.82472 + 525.8117 + 4283.50568 + 40


def _keys(value, path="$"):
    """Every key of a JSON document, with where it is."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, path
            yield from _keys(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item, f"{path}[]")


def _views(value, path="$"):
    """Every list of objects in a JSON document (a view), by where it is."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _views(item, f"{path}.{key}")
    elif isinstance(value, list):
        if value and all(isinstance(item, dict) for item in value):
            yield path, value
        for item in value:
            yield from _views(item, f"{path}[]")


@pytest.mark.parametrize("args", [("--stack", "prod"), ("--stack", "dev"), ("--stack", "prod", "--diff", "dev")])
def test_json_keys_are_snake_case_and_rows_of_a_view_alike(estimate, args):
    code, out, err = estimate(*args, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    camel = sorted({f"{path}.{key}" for key, path in _keys(data) if key != key.lower() or "-" in key})
    assert camel == []
    for path, rows in _views(data):
        assert all(set(row) == set(rows[0]) for row in rows), path
    for resource in data.get("resources", []):
        assert "/" not in (resource["node_pool"] or "") and "/" not in (resource["cluster"] or "")


def test_csv_has_one_row_per_line(estimate):
    code, out, _ = estimate("--stack", "dev", "--format", "csv")
    rows = out.splitlines()
    assert rows[0].startswith("resource,resource_type,component") and len(rows) == 1 + 11


def test_budget_exit_codes_for_ci(estimate):
    code, out, err = estimate("--stack", "dev", "--budget", "1000")
    assert code == 1 and "TOTAL" in out
    assert err.strip() == ("aipipe: error: estimated monthly maximum 1068.12 USD exceeds the budget of 1000 USD "
                           "(--budget)")
    assert estimate("--stack", "dev", "--budget", "1,100")[0] == 0
    assert estimate("--stack", "prod", "--budget", "stack")[0] == 0
    over_budget = Path(__file__).parents[1] / "policy" / "stacks" / "Pulumi.prod-over-budget.yaml"
    code, _, err = estimate("--stack", over_budget, "--budget", "stack")
    assert code == 1 and "exceeds the budget of 15000 USD (the stack's Budget resource budget)" in err
    code, _, err = estimate("--stack", "dev", "--budget", "stack")
    assert code == 2 and "declares no gcp:billing/budget:Budget" in err
    code, _, err = estimate("--stack", "dev", "--budget", "lots")
    assert code == 2 and "--budget 'lots'" in err


def test_unpriced_lines_fail_a_budget_check_unless_allowed(estimate, tmp_path):
    urn = "urn:pulumi:lab::aipipe::gcp:container/{}::{}"
    plan = {"steps": [
        {"op": "create", "urn": urn.format("cluster:Cluster", "gke"), "newState": {
            "type": "gcp:container/cluster:Cluster", "custom": True,
            "inputs": {"name": "gke", "location": "us-east5-a", "removeDefaultNodePool": True}}},
        {"op": "create", "urn": urn.format("nodePool:NodePool", "t4"), "newState": {
            "type": "gcp:container/nodePool:NodePool", "custom": True, "inputs": {
                "cluster": "gke", "nodeCount": 1, "nodeConfig": {
                    "machineType": "n1-standard-4", "guestAccelerators": [{"type": "nvidia-tesla-t4", "count": 1}]}}}},
    ]}
    path = tmp_path / "preview.json"
    path.write_text(json.dumps(plan))
    code, out, err = estimate("--plan", path, "--budget", "100000")
    assert code == 1 and "1 line could not be priced" in err
    assert "GPUs (on-demand, NVIDIA T4)  *" in out and "not priced" in out
    assert "no on-demand price for NVIDIA T4 GPUs in us-east5" in out
    assert estimate("--plan", path, "--budget", "100000", "--allow-unpriced")[0] == 0


def test_markdown_for_a_pull_request_to_a_file(estimate, tmp_path):
    target = tmp_path / "comment.md"
    code, out, _ = estimate("--stack", "prod", "--format", "markdown", "--output", target)
    assert code == 0 and out == ""
    text = target.read_text()
    assert text.startswith("### aipipe cost estimate: stack `prod`")
    assert "within budget (1,297.52 USD to spare)" in text
    assert "| `v5e-2x4` | TPU chips (on-demand, v5e 2x4 slice) | 8 chips | 1.2 /chip-hour | 7,008.00 | 7,008.00 |" in text


def test_diff_between_two_stacks(estimate):
    code, out, err = estimate("--stack", "prod", "--diff", "dev", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["before"]["name"] == "dev" and data["after"]["name"] == "prod"
    assert data["change"]["monthly_max"] == str(D("13702.48034") - D("1068.12312792"))
    statuses = {(line["resource"], line["component"]): line["status"] for line in data["lines"]}
    assert statuses[("system", "Boot disk (pd-balanced, 100 GiB)")] == "changed"  # 300 -> 400 GiB
    assert statuses[("l4-spot", "GPUs (spot, NVIDIA L4)")] == "removed"
    assert statuses[("a100", "GPUs (on-demand, NVIDIA A100 40GB)")] == "added"
    code, out, _ = estimate("--stack", "dev", "--diff", "dev")
    assert "No cost changes." in out


def test_diff_against_a_stack_config_file_and_markdown(estimate):
    code, out, err = estimate("--stack", str(H100_STACK_FILE), "--diff", "dev", "--format", "markdown")
    assert code == 0, err
    assert out.startswith("### aipipe cost estimate: `dev` -> `h100`")
    assert "| + | `h100` | GPUs (on-demand, NVIDIA H100 80GB) |  | 128,875.37 | +128,875.37 |" in out


def test_free_tier_can_be_turned_off(estimate):
    _, out, _ = estimate("--stack", "dev", "--no-free-tier", "--format", "json")
    assert json.loads(out)["totals"]["monthly_max"] == str(D("1068.12312792") + 73)


def test_save_writes_estimate_lines(estimate, tmp_path):
    assert estimate("--stack", "dev", "--save")[0] == 0
    with duckdb.connect(str(tmp_path / "workspace.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT resource, component, quantity, monthly_max, sku_id FROM estimate_lines "
                           "WHERE component = 'GPUs (spot, NVIDIA L4)'").fetchall()
    assert rows == [("l4-spot", "GPUs (spot, NVIDIA L4)", 2.0, D("459.608000000000"), "AEC2-3D5C-61BF")]


@pytest.mark.parametrize("args,message", [
    ((), "give exactly one of --stack NAME"),
    (("--stack", "nope"), "Pulumi.nope.yaml: no such stack file"),
    (("--plan", "/nonexistent/plan.json"), "plan file /nonexistent/plan.json does not exist"),
    (("--stack", "dev", "--price-book", "/nonexistent/book.json"), "price book /nonexistent/book.json does not exist"),
])
def test_errors_are_one_line(estimate, args, message):
    code, _, err = estimate(*args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_prices_show_filters(run_cli):
    code, out, err = run_cli("prices", "show", "--filter", "l4", "--region", "us-east5", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert {(r["description"], r["unit_price"]) for r in rows} == {
        ("Nvidia L4 GPU running in Columbus", "0.630773000"),
        ("Nvidia L4 GPU attached to Spot Preemptible VMs running in Columbus", "0.063100000")}
    assert all(r["source"].startswith("[CN]") and r["source_date"] == "2026-07-30" for r in rows)
    code, out, _ = run_cli("prices", "show", "--kind", "cluster_fee")
    assert "Price book: shipped snapshot 2026-07-30 (shipped), USD; 3 of 149 SKU-region rows" in out
