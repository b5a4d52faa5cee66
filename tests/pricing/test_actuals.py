"""`aipipe estimate --actual` on the sample fleet: the estimate of a stack file describing the fleet's cluster
(stacks/Pulumi.sample.yaml) beside the fleet's bill. Every expected figure is computed here from the raw billing
export the sample wrote (not from cost_lines) and from the estimate's own JSON lines; verdicts follow from them."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import duckdb
import pytest
from pricing_paths import HERE

from aipipe_ops.cli import main
from aipipe_ops.sample.cluster import CLUSTER, NODE_POOLS
from tests.billing.export_rows import row, write_parquet  # the export's row shape, written once for every test

SAMPLE_STACK = HERE / "stacks" / "Pulumi.sample.yaml"
MONTH_HOURS = Decimal(730)
PACIFIC = ZoneInfo("America/Los_Angeles")
NODE_POOL_TYPE = "gcp:container/nodePool:NodePool"
CLUSTER_TYPE = "gcp:container/cluster:Cluster"


def _cli(*args) -> tuple[int, str]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([str(a) for a in args])
    return code, out.getvalue()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    root = tmp_path_factory.mktemp("actuals")
    ws, sample = root / "ws.duckdb", root / "sample"
    for args in (["sample", "--runs", "24", "--days", "7", "--seed", "3", "--out", sample, "--billing-format",
                  "parquet"], ["--workspace", ws, "billing", "load", "--billing", sample / "billing"]):
        assert _cli(*args)[0] == 0, args
    return {"ws": ws, "sample": sample, "root": root}


def _export(fleet) -> duckdb.DuckDBPyConnection:
    """The raw export the sample wrote, one row per export row with its cluster, pool, net cost and Pacific day."""
    con = duckdb.connect()
    con.execute(f"""CREATE VIEW export AS SELECT
        (list_filter(labels, l -> l.key = 'goog-k8s-cluster-name'))[1].value AS cluster,
        (list_filter(labels, l -> l.key = 'goog-k8s-node-pool-name'))[1].value AS node_pool,
        sku.id AS sku_id, sku.description AS sku, usage_start_time,
        CAST((usage_start_time AT TIME ZONE 'America/Los_Angeles') AS DATE) AS day,
        CAST(cost AS DECIMAL(38, 9)) + coalesce(list_sum([CAST(c.amount AS DECIMAL(38, 9)) FOR c IN credits]), 0)
            AS net
        FROM read_parquet('{fleet["sample"]}/billing/*.parquet')""")
    return con


def _estimate_json(stack_file) -> dict:
    code, out = _cli("estimate", "--stack", stack_file, "--format", "json")
    assert code == 0
    return json.loads(out)


def _planned(estimate: dict) -> dict:
    """(min, max, {kind: max}) per node pool (logical name = pool name in the stack program) and for the fee."""
    out = {}
    for resource in estimate["resources"]:
        if resource["resource_type"] == NODE_POOL_TYPE:
            key = resource["resource"]
        elif resource["resource_type"] == CLUSTER_TYPE:
            key = "cluster fee"
        else:
            continue
        low = sum(Decimal(line["monthly_min"]) for line in resource["lines"])
        high = sum(Decimal(line["monthly_max"]) for line in resource["lines"])
        kinds = {}
        for line in resource["lines"]:
            kind = "cluster_fee" if line["kind"] == "credit" else line["kind"]
            kinds[kind] = kinds.get(kind, Decimal(0)) + Decimal(line["monthly_max"])
        out[key] = (low, high, kinds)
    return out


def _verdict(monthly: Decimal, low: Decimal, high: Decimal) -> str:
    return "below_minimum" if monthly < low else "above_maximum" if monthly > high else "within"


def _actual(fleet, *extra, stack=SAMPLE_STACK) -> dict:
    code, out = _cli("--workspace", fleet["ws"], "estimate", "--stack", stack, "--actual", "--format", "json",
                     *extra)
    assert code == 0
    return json.loads(out)


def test_estimate_vs_actual_per_pool_is_the_exports(fleet):
    truth = json.loads((fleet["sample"] / "fleet.json").read_text())
    start, end = (dt.datetime.fromisoformat(truth["window"][k].replace("Z", "+00:00")) for k in ("start", "end"))
    hours = Decimal(int((end - start).total_seconds()) // 3600)
    export = _export(fleet)
    billed = dict(export.execute("SELECT node_pool, sum(net) FROM export WHERE cluster = ? AND node_pool IS NOT "
                                 "NULL GROUP BY 1", [CLUSTER]).fetchall())
    fee = export.execute("SELECT sum(net) FROM export WHERE cluster = ? AND node_pool IS NULL",
                         [CLUSTER]).fetchone()[0]
    planned = _planned(_estimate_json(SAMPLE_STACK))
    data = _actual(fleet)

    assert Decimal(data["hours_billed"]) == hours and data["clusters"] == [CLUSTER]
    lines = {(row["node_pool"] or row["part"]): row for row in data["lines"]}
    assert all(set(row) == set(data["lines"][0]) for row in data["lines"])
    both = (set(billed) | {"cluster fee"}) & set(planned)
    assert both == set(NODE_POOLS) | {"cluster fee"}  # the stack names every pool (its system pool cpu-pool)
    for pool in both:
        net = fee if pool == "cluster fee" else billed[pool]
        low, high, _ = planned[pool]
        row = lines[pool]
        assert Decimal(row["billed_net_cost"]) == net, pool
        assert Decimal(row["billed_monthly"]) == pytest.approx(net * MONTH_HOURS / hours, abs=Decimal("1e-9"))
        assert (Decimal(row["estimate_monthly_min"]), Decimal(row["estimate_monthly_max"])) == (low, high), pool
        assert row["verdict"] == _verdict(net * MONTH_HOURS / hours, low, high), pool
    # The committed A100 pool: its usage is credited, so the bill is below the plan's one always-on node.
    assert lines["gpu-a100"]["verdict"] == "below_minimum" and "credits offset" in lines["gpu-a100"]["note"]
    # Only the plan has KFP's persistent volumes (the sample bills no cluster disks).
    assert set(billed) <= set(planned)
    assert not [k for k, r in lines.items() if r["verdict"] == "not_estimated"]
    assert {k for k, r in lines.items() if r["verdict"] == "not_billed"} == {"persistent disks"}


def test_a_pool_over_its_maximum_names_the_skus_of_the_excess(fleet, tmp_path):
    """The L4 pool capped at one node, on the day it billed most: above the maximum, the excess in the SKUs of the
    kinds billed over their estimated maximum."""
    stack = tmp_path / "Pulumi.sample-l4-one.yaml"
    text = SAMPLE_STACK.read_text()
    assert text.count("      maxNodes: 4\n") == 1
    stack.write_text(text.replace("      maxNodes: 4\n", "      maxNodes: 1\n"))
    export = _export(fleet)
    day, net = export.execute("SELECT day, sum(net) FROM export WHERE node_pool = 'gpu-l4-spot' GROUP BY 1 "
                              "ORDER BY 2 DESC LIMIT 1").fetchone()
    first, last = export.execute("SELECT min(usage_start_time), max(usage_start_time) FROM export "
                                 "WHERE day = ?", [day]).fetchone()
    day_start = dt.datetime.combine(day, dt.time(), PACIFIC)
    covered = (min(last + dt.timedelta(hours=1), day_start + dt.timedelta(days=1)) - max(first, day_start))
    hours = Decimal(int(covered.total_seconds())) / 3600
    monthly = net * MONTH_HOURS / hours
    low, high, kinds = _planned(_estimate_json(stack))["gpu-l4-spot"]
    assert monthly > high, "fixture: the sample's busiest L4 day must exceed one node's maximum"

    data = _actual(fleet, "--since", day, "--until", day, stack=stack)
    row = next(r for r in data["lines"] if r["node_pool"] == "gpu-l4-spot")
    assert row["verdict"] == "above_maximum" and Decimal(data["hours_billed"]) == hours
    assert Decimal(row["billed_monthly"]) == pytest.approx(monthly, abs=Decimal("1e-9"))
    kind_of = {"Core": "cpu", "Ram": "ram", "GPU": "gpu", "PD": "disk", "Egress": "network"}
    per_sku = export.execute("SELECT sku_id, any_value(sku), sum(net) FROM export WHERE node_pool = 'gpu-l4-spot' "
                             "AND day = ? GROUP BY 1", [day]).fetchall()
    by_kind: dict[str, Decimal] = {}
    sku_kind = {}
    for sku_id, sku, amount in per_sku:
        kind = next(k for word, k in kind_of.items() if word in sku)
        sku_kind[sku_id] = kind
        by_kind[kind] = by_kind.get(kind, Decimal(0)) + amount * MONTH_HOURS / hours
    over = {k for k, v in by_kind.items() if v > kinds.get(k, Decimal(0))}
    expected = {s for s, k in sku_kind.items() if k in over}
    assert expected and {s["sku_id"] for s in row["excess_skus"]} == expected
    code, out = _cli("--workspace", fleet["ws"], "estimate", "--stack", stack, "--actual", "--since", day,
                     "--until", day)
    assert code == 0 and "above the maximum; the excess is in:" in out


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_every_format_carries_every_line_and_verdict(fleet, fmt):
    data = _actual(fleet)
    code, out = _cli("--workspace", fleet["ws"], "estimate", "--stack", SAMPLE_STACK, "--actual", "--format", fmt)
    assert code == 0
    words = {"below_minimum": "below the minimum", "within": "within", "not_billed": "not billed",
             "not_estimated": "not estimated", "above_maximum": "above the maximum"}
    for row in data["lines"]:
        shown = row["verdict"] if fmt == "csv" else words[row["verdict"]]
        assert any(shown in line and (row["node_pool"] or row["part"]) in line for line in out.splitlines()), row
    if fmt == "csv":
        assert len(out.splitlines()) == len(data["lines"]) + 1
    if fmt == "markdown":
        assert out.startswith("### aipipe estimate vs billed actual: stack `sample`")


@pytest.mark.parametrize("args,message", [
    (("--since", "2026-10-01"), "--since/--until select billed usage days: give them with --actual"),
    (("--actual", "--diff", "dev"), "--actual compares one estimate with the bill: leave out --diff and --budget"),
    (("--actual", "--budget", "10"), "leave out --diff and --budget"),
    (("--actual", "--since", "2026-10-05", "--until", "2026-10-01"), "--since 2026-10-05 is after --until"),
])
def test_actual_usage_errors(run_cli, args, message):
    code, _, err = run_cli("estimate", "--stack", SAMPLE_STACK, *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_the_pipeline_cost_report_shows_the_saved_estimate_beside_the_bill(fleet):
    ws, root = fleet["ws"], fleet["root"]
    out = root / "reports"
    assert _cli("--workspace", ws, "lineage", "snapshot", "--mlmd", fleet["sample"] / "mlmd.sqlite")[0] == 0
    assert _cli("--workspace", ws, "report", "--out", out)[0] == 0
    before = json.loads((out / "pipeline-costs.json").read_text())
    assert "estimate_actuals" not in json.dumps(before)  # no saved estimate, no section
    assert _cli("--workspace", ws, "estimate", "--stack", SAMPLE_STACK, "--save")[0] == 0
    assert _cli("--workspace", ws, "report", "--out", out)[0] == 0
    cli = {(r["node_pool"] or r["part"]): r for r in _actual(fleet)["lines"]}
    report = json.loads((out / "pipeline-costs.json").read_text())
    table = report["by_currency"]["USD"]["estimate_actuals"]
    rows = {(r["node_pool"] or r["line"]): r for r in table["rows"]}
    assert set(rows) == set(cli)
    words = {"below_minimum": "below the minimum", "within": "within", "not_billed": "not billed",
             "not_estimated": "not estimated", "above_maximum": "above the maximum"}
    for key, row in rows.items():
        assert row["verdict"] == cli[key]["verdict"] and row["label"] == words[cli[key]["verdict"]], key
        if cli[key]["billed_monthly"] is None:
            assert row["billed_monthly"] is None, key
        else:  # the CLI's JSON quantizes to the nano, the report keeps the exact quotient
            assert Decimal(row["billed_monthly"]) == pytest.approx(Decimal(cli[key]["billed_monthly"]),
                                                                   abs=Decimal("1e-9")), key
    markdown = (out / "pipeline-costs.md").read_text()
    assert "### Estimate vs billed actual (stack sample)" in markdown
    assert "Estimate vs billed actual (stack sample)" in (out / "pipeline-costs.html").read_text()


def test_rows_labelled_with_the_stack_outside_its_clusters_are_its_own(fleet, tmp_path):
    """A bucket or dataset the stack created carries `aipipe-stack` but no cluster label: one line per service,
    not estimated, with exactly the labelled rows' net; another stack's rows stay out."""
    import shutil

    ws = tmp_path / "ws.duckdb"
    shutil.copy(fleet["ws"], ws)
    start = _export(fleet).execute("SELECT min(usage_start_time) FROM export").fetchone()[0]
    storage = ("95FF-2EF5-5EA1", "Cloud Storage")
    extra = [row(start=start, sku="Standard Storage US Multi-region", service=storage, cost=1.25, credits=[-0.25],
                 labels={"aipipe-stack": "sample", "team": "ml"}),
             row(start=start, sku="Standard Storage US Multi-region", service=storage, cost=0.5,
                 labels={"aipipe-stack": "sample"}),
             row(start=start, sku="Standard Storage US Multi-region", service=storage, cost=7.0,
                 labels={"aipipe-stack": "another"})]
    assert _cli("--workspace", ws, "billing", "load", "--billing", write_parquet(extra, tmp_path / "x.parquet"))[0] == 0
    code, out = _cli("--workspace", ws, "estimate", "--stack", SAMPLE_STACK, "--actual", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["stack_label"] == "sample"
    line = next(r for r in data["lines"] if r["cluster"] is None and r["part"] == "Cloud Storage")
    assert line["verdict"] == "not_estimated" and Decimal(line["billed_net_cost"]) == Decimal("1.50")
    assert not [r for r in data["lines"] if r["cluster"] is None and r["part"] != "Cloud Storage"]
