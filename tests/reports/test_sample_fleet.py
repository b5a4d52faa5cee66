"""End to end on a small sample fleet: `aipipe sample` -> lineage snapshot -> billing load -> `aipipe report`, as
`make demo` runs it. The report's numbers must agree with the fleet's ground truth and the billing engine's own
breakdown, and both HTML reports must render in Chromium."""

import json
from decimal import Decimal

import pytest

from aipipe_ops.billing.breakdowns import breakdown
from aipipe_ops.cli import main
from aipipe_ops.reports.browser import check_page
from aipipe_ops.workspace import Workspace


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    root = tmp_path_factory.mktemp("fleet")
    ws, sample, out = root / "ws.duckdb", root / "sample", root / "reports"
    for args in (["sample", "--runs", "24", "--days", "7", "--seed", "3", "--out", sample, "--billing-format", "parquet"],
                 ["lineage", "snapshot", "--mlmd", sample / "mlmd.sqlite"],
                 ["billing", "load", "--billing", sample / "billing"],
                 ["report", "--out", out]):
        assert main(["--workspace", str(ws), *map(str, args)]) == 0, args
    return {"ws": ws, "sample": sample, "out": out}


def test_report_reconciles_to_the_fleet_ground_truth(fleet):
    truth = json.loads((fleet["sample"] / "ground_truth.json").read_text())
    data = json.loads((fleet["out"] / "pipeline-costs.json").read_text())
    assert data["currencies"] == sorted(truth["export_total"])
    for currency, total in truth["export_total"].items():
        summary = data["by_currency"][currency]["summary"]["rows"][0]
        assert Decimal(summary["export_total"]) == Decimal(total)
        assert summary["reconciled"] is True and Decimal(summary["difference"]) == 0


def test_pipeline_totals_are_the_billing_engines(fleet):
    data = json.loads((fleet["out"] / "pipeline-costs.json").read_text())
    with Workspace.open(fleet["ws"]) as ws:
        rows, _ = breakdown(ws.con, "pipeline")
    engine = {(r["pipeline"], r["currency"]): r["total"] for r in rows if r["class"] == "pipeline"}
    for currency, tables in data["by_currency"].items():
        report = {(r["pipeline"], currency): Decimal(r["cost"]) for r in tables["pipelines"]["rows"]}
        assert report == {k: v for k, v in engine.items() if k[1] == currency}
        for row in tables["pipelines"]["rows"]:
            parts = sum(Decimal(row[k]) for k in ("direct", "idle_share", "overhead_share", "shared"))
            assert parts == Decimal(row["cost"]) and Decimal(row["waste"]) <= Decimal(row["cost"])


def test_audit_report_lists_the_audits_findings(fleet):
    data = json.loads((fleet["out"] / "lineage-audit.json").read_text())
    findings = next(t for t in data["tables"] if t["id"] == "findings")["rows"]
    with Workspace.open(fleet["ws"]) as ws:
        from aipipe_ops.lineage.audit.finding import AuditContext
        from aipipe_ops.lineage.audit.registry import run_audit, snapshot_time
        audit = run_audit(AuditContext(con=ws.con, as_of=snapshot_time(ws.con)))
    assert sorted((f["rule"], f["subject"]) for f in findings) == sorted((f.rule, f.subject) for f in audit)


@pytest.mark.browser
@pytest.mark.parametrize("name", ["pipeline-costs", "lineage-audit"])
def test_sample_reports_render_in_chromium(fleet, name):
    page = check_page(fleet["out"] / f"{name}.html", screenshot=False)
    assert page.errors == [] and page.external_requests == [] and page.overflowing == []
    assert page.chart_count >= 2 and all(page.marks_per_chart)


def _bill(data, currency):
    return {r["part"]: Decimal(r["cost"]) for r in data["by_currency"][currency]["bill"]["rows"]}


CENT = Decimal("0.01")


def _policy_key(parameters: dict) -> str:
    from aipipe_ops.sample.ground_truth_allocation import policy_key

    return policy_key(parameters["idle"], parameters["shared"], parameters["commitments"])


def test_the_whole_bill_against_the_ground_truth(fleet):
    """The first screen's parts, each against the fleet's truth (sums of its own rows' buckets), and together the
    export's total to the cent."""
    truth = json.loads((fleet["sample"] / "ground_truth.json").read_text())
    data = json.loads((fleet["out"] / "pipeline-costs.json").read_text())
    allocation = truth["allocation"]["policies"][_policy_key(data["parameters"])]
    for currency, total in truth["export_total"].items():
        bill, buckets = _bill(data, currency), {k: Decimal(v) for k, v in truth["buckets"][currency].items()}
        assert sum(bill.values()) == Decimal(total) == Decimal(data["by_currency"][currency]["summary"]["rows"][0][
            "export_total"])
        assert bill["tax"] == buckets["tax"]
        # --idle separate --shared separate (the default the fleet's report asks): idle and overhead stay whole
        # (idle at its net cost only when commitments are not amortised onto it).
        if data["parameters"]["commitments"] == "separate":
            assert bill["idle"] == buckets["idle"] == sum(Decimal(p[currency])
                                                          for p in truth["idle_by_node_pool"].values())
            assert bill["overhead"] == buckets["overhead"] + buckets["cluster_fee"]
        else:
            assert abs(bill["overhead"] - Decimal(allocation["buckets"]["overhead"])) < CENT
        if data["parameters"]["commitments"] == "amortize":
            # Effective costs: the truth's own allocation under the report's policy (ground_truth_allocation.py).
            assert abs(bill["pipelines"] - sum(Decimal(v) for v in allocation["pipelines"].values())) < CENT
            assert abs(bill["idle"] - Decimal(allocation["buckets"]["idle"])) < CENT
            assert abs(bill["unused_commitment"] - Decimal(allocation["unused_commitment"])) < CENT
        else:
            runs = sum(Decimal(r["net_cost"].get(currency, "0")) + Decimal(r.get("adjustments", {}).get(currency, "0"))
                       for r in truth["runs"].values())
            assert bill["pipelines"] == runs
            # Notebooks, model servers and the shared namespaces' pods, and what is on no workload at all.
            assert (bill["other_workloads"] + bill["cluster_unattributed"] + bill["other_services"]
                    + bill["unused_commitment"]) == (buckets["other_workloads"] + buckets["shared_namespaces"]
                                                     + buckets["unattributed"])
        namespaces = data["by_currency"][currency]["namespaces"]["rows"]
        assert sum(Decimal(r["total"]) for r in namespaces) == bill["pipelines"] + bill["other_workloads"]
        for row in namespaces:
            assert Decimal(row["pipelines"]) + Decimal(row["other_workloads"]) + Decimal(row["shares"]) == \
                Decimal(row["total"])
        # The fleet covers 7 days (8 US/Pacific usage days): no week-over-week comparison.
        summary = data["by_currency"][currency]["summary"]["rows"][0]
        assert summary["period_days"] < 14 and summary["last_7_days"] is None and summary["change"] is None


def test_namespaces_against_the_ground_truth(fleet):
    """Per team namespace: its runs' cost (truth: runs by namespace) and its notebooks' and model servers' (truth:
    other workloads by namespace), when the engine names workloads."""
    truth = json.loads((fleet["sample"] / "ground_truth.json").read_text())
    data = json.loads((fleet["out"] / "pipeline-costs.json").read_text())
    if data["parameters"]["commitments"] == "amortize":
        # Effective costs (the report's policy keeps idle and overhead separate): each namespace's runs and other
        # workloads against the truth's own allocation (ground_truth_allocation.py).
        allocation = truth["allocation"]["policies"][_policy_key(data["parameters"])]
        assert (data["parameters"]["idle"], data["parameters"]["shared"]) == ("separate", "separate")
        for currency in truth["export_total"]:
            rows = {r["namespace"]: r for r in data["by_currency"][currency]["namespaces"]["rows"]}
            runs: dict[str, Decimal] = {}
            for run in truth["runs"].values():
                runs[run["namespace"]] = runs.get(run["namespace"], Decimal(0)) + Decimal(
                    run["allocation"]["direct"]["amortize"])
            others: dict[str, Decimal] = {}
            for name, cost in allocation["workloads"].items():
                ns = name.split("/")[0]
                others[ns] = others.get(ns, Decimal(0)) + Decimal(cost)
            for ns in set(runs) | set(others):
                assert abs(Decimal(rows[ns]["pipelines"]) - runs.get(ns, 0)) < CENT, ns
                assert abs(Decimal(rows[ns]["other_workloads"]) - others.get(ns, 0)) < CENT, ns
        return
    with Workspace.open(fleet["ws"]) as ws:
        has_workloads = "workload" in {d[0] for d in ws.con.execute("SELECT * FROM attribution_lines LIMIT 0").description}
    for currency in truth["export_total"]:
        rows = {r["namespace"]: r for r in data["by_currency"][currency]["namespaces"]["rows"]}
        runs: dict[str, Decimal] = {}
        for run in truth["runs"].values():
            runs[run["namespace"]] = (runs.get(run["namespace"], Decimal(0)) + Decimal(run["net_cost"].get(currency, "0"))
                                      + Decimal(run.get("adjustments", {}).get(currency, "0")))
        assert {ns: Decimal(rows[ns]["pipelines"]) for ns in runs} == runs
        if has_workloads:
            others: dict[str, Decimal] = {}
            for w in truth["other_workloads"].values():
                others[w["namespace"]] = others.get(w["namespace"], Decimal(0)) + Decimal(w["net_cost"].get(currency, "0"))
            for ns, cost in others.items():
                assert Decimal(rows[ns]["other_workloads"]) == cost, ns


def test_the_whole_exports_buckets_add_up_to_the_export(fleet):
    """The buckets table's whole-export rows hold every bucket the reconciliation has (unused commitment
    included), so they add up to the export total."""
    data = json.loads((fleet["out"] / "pipeline-costs.json").read_text())
    for currency, block in data["by_currency"].items():
        whole = [r for r in block["buckets"]["rows"] if r["scope"] == "whole_export"]
        total = Decimal(block["summary"]["rows"][0]["export_total"])
        assert sum(Decimal(r["cost"]) for r in whole) == total, currency
        assert all(r["pipeline"] is None for r in whole)
        assert any(r["bucket"] == "unused_commitment" for r in whole)
