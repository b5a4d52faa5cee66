"""Machine-readable output is uniform (issue 14 item 5): in `aipipe costs --by X --format json|csv` and in the
reports' JSON and CSV, every row of a view or table has the same keys, every key is snake_case, and identifiers are
fields of their own (cluster, node_pool, namespace, workload, pipeline, run_id), never joined into a display
string. Walks every view the CLI offers (billing.breakdowns.VIEWS), so a new view is checked too. In the pipeline
cost report, the key fields of every table hold ids (bucket ids, resource kinds, waste categories, `scope`, the
estimate's verdicts) or null where the report has no value (no namespace, no step name), never a placeholder of the
report's own; a display label only ever sits in a `label` field of its own; whether a run reached a pushed model is
a boolean (null: not judged)."""

import csv
import io
import json
import re

from decimal import Decimal as D

import pytest

from aipipe_ops.billing.attribution.steps import NO_STEPS
from aipipe_ops.billing.breakdowns import VIEWS
from aipipe_ops.billing.waste import CATEGORIES
from aipipe_ops.pricing.actuals import (
    CLUSTER_FEE, NODE_POOL, NOT_PRICED, VERDICT_TEXT, compare_with_bill, saved_plan)
from aipipe_ops.pricing.actuals_formats import line_row
from aipipe_ops.reports.ledger import BILL_PARTS
from aipipe_ops.reports.pipeline_costs import BUCKET_LABELS, KEPT_SEPARATE, RESOURCE_LABELS, WASTE_LABELS
from aipipe_ops.vocabulary import BUCKETS, RESOURCE_KINDS, RUN_STATES
from aipipe_ops.workspace import Workspace

from .conftest import COST_LINES, EDGE_COST_LINES, EDGE_RUNS, RUNS, STEPS, TINY_ESTIMATE, save_estimate

SNAKE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
# "aipipe-prod / cpu-pool", "(no namespace) / Compute Engine": identifiers joined for display.
DISPLAY_JOIN = re.compile(r"\S / \S")


def _check_rows(rows: list[dict], where: str) -> None:
    assert rows, where
    keys = list(rows[0])
    for key in keys:
        assert SNAKE.fullmatch(key), f"{where}: key {key!r} is not snake_case"
    for row in rows:
        assert list(row) == keys, f"{where}: a row has keys {list(row)}, the first {keys}"
        for key, value in row.items():
            assert not (isinstance(value, str) and DISPLAY_JOIN.search(value)), f"{where}: {key} = {value!r}"


def _check_keys(value, where: str) -> None:
    """Every object key in a JSON document is snake_case (row values are data, not keys; the keys of
    `by_currency` are ISO 4217 codes)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if where.endswith(".by_currency"):
                assert re.fullmatch(r"[A-Z]{3}", key), f"{where}: key {key!r} is not a currency code"
            else:
                assert SNAKE.fullmatch(key), f"{where}: key {key!r} is not snake_case"
            _check_keys(inner, f"{where}.{key}")
    elif isinstance(value, list):
        for inner in value:
            _check_keys(inner, where)


@pytest.fixture
def attributed(tiny_workspace, run_cli):
    # The tiny fleet plus a run-less namespace line, so that the leftovers have an unattributed and an idle row.
    assert run_cli("--workspace", tiny_workspace, "costs", "--idle", "separate")[0] == 0
    return tiny_workspace


@pytest.mark.parametrize("by", VIEWS)
def test_every_costs_view_has_uniform_snake_case_rows(attributed, run_cli, by):
    code, out, err = run_cli("--workspace", attributed, "costs", "--by", by, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    _check_keys(data, f"costs --by {by}")
    _check_rows(data["rows"], f"costs --by {by} (json)")
    _check_rows(data["reconciliation"], f"costs --by {by} reconciliation")
    code, out, err = run_cli("--workspace", attributed, "costs", "--by", by, "--format", "csv")
    assert code == 0, err
    lines = list(csv.reader(io.StringIO(out)))
    header, body = lines[0], lines[1:]
    assert all(len(line) == len(header) for line in body), by
    assert header == list(data["rows"][0]), f"--by {by}: CSV columns are the JSON keys"
    _check_rows([dict(zip(header, line)) for line in body], f"costs --by {by} (csv)")


def test_leftovers_name_their_cluster_pool_and_namespace_as_fields(attributed, run_cli):
    code, out, _ = run_cli("--workspace", attributed, "costs", "--by", "run", "--format", "json")
    rows = json.loads(out)["rows"]
    idle = [r for r in rows if r["class"] == "idle"]
    assert idle and all(r["cluster"] and r["node_pool"] and r["run_id"] is None for r in idle)
    assert {(r["cluster"], r["node_pool"], r["total"]) for r in idle} == {("prod", "gpu-pool", "11.000000000")}
    unattributed = [r for r in rows if r["class"] == "unattributed"]
    assert {(r["namespace"], r["service"]) for r in unattributed} >= {("goog-k8s-unknown", "Compute Engine")}
    runs = [r for r in rows if r["class"] == "run"]
    assert {r["run_id"] for r in runs} == {"taxi-1", "taxi-2", "llm-1", "llm-2", "eu-1"}


def test_reports_json_and_csv_tables_are_tidy(tiny_workspace, run_cli, tmp_path):
    out = tmp_path / "reports"
    code, stdout, err = run_cli("--workspace", tiny_workspace, "report", "--out", out, "--idle", "share")
    assert code == 0, err
    for stem in ("pipeline-costs", "lineage-audit"):
        data = json.loads((out / f"{stem}.json").read_text())
        _check_keys(data, stem)
        tables = [*data["tables"], *(t for block in data["by_currency"].values() for t in block.values())]
        for table in tables:
            assert SNAKE.fullmatch(table["id"])
            if table["rows"]:
                _check_rows(table["rows"], f"{stem}.json {table['id']}")
        csv_files = sorted((out / stem).glob("*.csv"))
        assert {p.stem for p in csv_files} == {t["id"] for t in tables}
        for path in csv_files:
            assert str(path) in stdout.split()
            with open(path, newline="", encoding="utf-8") as handle:
                lines = list(csv.reader(handle))
            header = lines[0]
            assert header[0] == "aipipe_report" and len(set(header)) == len(header), path
            assert all(SNAKE.fullmatch(h) for h in header), path
            assert all(len(line) == len(header) for line in lines[1:]), path
            with open(path, newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
            in_json = [t for t in tables if t["id"] == path.stem]
            assert len(rows) == sum(len(t["rows"]) for t in in_json), path
            # Every column of the table, and no column of another table (not one sparse file).
            assert header[1:] == (["currency"] if in_json[0]["currency"] else []) + [c["key"] for c in in_json[0]["columns"]]


# -- the pipeline cost report: ids in key fields ------------------------------------------------------------------

# Names the billing engine gives what it cannot name otherwise: they are its values (in its tables and its own
# outputs), which the report passes on. Any other "(...)" in a key field would be a placeholder of the report's own: the
# report says null there (no namespace, no step name) and leaves the text to the pages.
ENGINE_NAMES = {
    "(unknown)",         # a run's pipeline no lineage or label names (aipipe_ops/billing/runs.py)
    NO_STEPS,            # the step of a run without steps in the lineage (step_costs, `costs --by step`)
    "(no node pool)",    # idle accelerators on no node pool (aipipe_ops/billing/idle_accelerators.py)
}
PLACEHOLDER = re.compile(r"\(.*\)")


def _key_fields(pipelines: set, runs: set, states: set, namespaces: set, steps: set, pools: set,
                estimate_lines: set) -> dict:
    """What each key field of each table may hold on a fleet: a closed vocabulary's ids or the fleet's own
    identifiers, never a display label; None where a row has no such key (the whole export has no pipeline, a line
    no namespace). Every table of the report is listed, so a new table has to say what its keys are."""
    return {
        "pipelines": {"pipeline": pipelines},
        "summary": {},
        "bill": {"part": {part for part, _, _ in BILL_PARTS}},
        "namespaces": {"namespace": namespaces},
        "trend": {"pipeline": pipelines},
        "run_distribution": {"pipeline": pipelines},
        # reached_push: a boolean, None when the run is not judged (running, pushes no models, not in the lineage).
        "top_runs": {"run_id": runs, "pipeline": pipelines, "state": states,
                     "reached_push": {True, False, None}},
        "steps": {"pipeline": pipelines, "step": steps},
        "resources": {"scope": {"pipeline", "whole_export"}, "pipeline": pipelines | {None},
                      "resource": set(RESOURCE_KINDS)},
        "buckets": {"scope": {"pipeline", "whole_export"}, "pipeline": pipelines | {None}, "bucket": set(BUCKETS)},
        "models": {"artifact_id": {4, 11}, "pipeline": pipelines, "run_id": runs},
        "waste": {"pipeline": pipelines, "category": set(CATEGORIES)},
        "idle_accelerators": {"node_pool": pools, "accelerator": {"gpu", "tpu"}},
        "reconciliation": {"part": set(BUCKETS) | {"sum", "export_total", "difference"}},
        # As `aipipe estimate --actual --format json`: the engine's verdict ids and parts, null for no node pool.
        "estimate_actuals": {"cluster": {"prod"}, "node_pool": {pool for *_, pool, _, _ in TINY_ESTIMATE},
                             "line": estimate_lines, "verdict": set(VERDICT_TEXT)},
    }


PIPELINES = {pipeline for _, pipeline, *_ in RUNS}
RUN_IDS = {run for run, *_ in RUNS}
KEY_FIELDS = _key_fields(
    PIPELINES, RUN_IDS, set(RUN_STATES), namespaces={line[4] for line in COST_LINES} - {None},
    # NO_STEPS: eu-1 has no steps in the lineage.
    steps={step for _, _, step, *_ in STEPS} | {NO_STEPS}, pools={line[3] for line in COST_LINES} - {None},
    estimate_lines={NODE_POOL, CLUSTER_FEE, "network"})
# The edge fleet (conftest.fill_edge_fleet): a run the lineage does not know, lines on no namespace and no node pool,
# a step with no name, a run still running. A run the lineage does not know has no state (the engine's null).
EDGE_KEY_FIELDS = _key_fields(
    PIPELINES | {"(unknown)"}, RUN_IDS | {run for run, *_ in EDGE_RUNS} | {"ghost-1"}, set(RUN_STATES) | {None},
    namespaces={line[4] for line in COST_LINES + EDGE_COST_LINES},   # None: ghost-1's line
    steps={step for _, _, step, *_ in STEPS} | {NO_STEPS, None},
    pools=({line[3] for line in COST_LINES} - {None}) | {"(no node pool)"},
    estimate_lines={NODE_POOL, CLUSTER_FEE, "network", "gpu"})
# The label people read for each id, in the tables that carry one.
LABELS = {
    "resources": ("resource", RESOURCE_LABELS),
    "buckets": ("bucket", {**BUCKET_LABELS, **KEPT_SEPARATE}),
    "waste": ("category", WASTE_LABELS),
    "idle_accelerators": ("accelerator", RESOURCE_LABELS),
    "estimate_actuals": ("verdict", VERDICT_TEXT),
}


def _write_pipeline_costs(workspace, run_cli, out) -> dict:
    """The fleet's pipeline cost report as written: JSON tables and CSV rows by (currency, table id), the JSON
    tables' columns, and the Markdown and HTML."""
    code, _, err = run_cli("--workspace", workspace, "report", "--report", "pipeline-costs", "--out", out,
                           "--idle", "share")
    assert code == 0, err
    data = json.loads((out / "pipeline-costs.json").read_text())
    in_json = {(currency, table_id): table["rows"]
               for currency, block in data["by_currency"].items() for table_id, table in block.items()}
    columns = {(currency, table_id): {c["key"]: c for c in table["columns"]}
               for currency, block in data["by_currency"].items() for table_id, table in block.items()}
    in_csv: dict[tuple, list] = {}
    for path in (out / "pipeline-costs").glob("*.csv"):
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                in_csv.setdefault((row.pop("currency"), path.stem), []).append(row)
    return {"json": in_json, "csv": in_csv, "columns": columns, "md": (out / "pipeline-costs.md").read_text(),
            "html": (out / "pipeline-costs.html").read_text()}


@pytest.fixture
def pipeline_costs(tiny_workspace, run_cli, tmp_path):
    """The tiny fleet's pipeline cost report, with the estimate TINY_ESTIMATE saved."""
    with Workspace.open(tiny_workspace) as ws:
        save_estimate(ws.con)
    return _write_pipeline_costs(tiny_workspace, run_cli, tmp_path / "reports")


@pytest.fixture
def edge_costs(edge_workspace, run_cli, tmp_path):
    """The edge fleet's pipeline cost report, with the estimate TINY_ESTIMATE saved."""
    with Workspace.open(edge_workspace) as ws:
        save_estimate(ws.con)
    return _write_pipeline_costs(edge_workspace, run_cli, tmp_path / "reports")


def _as_json(value: str, like):
    """A CSV cell as the JSON value it stands for: empty is null, true/false a boolean, an integer id a number."""
    if value == "":
        return None
    if isinstance(like, bool):
        assert value in ("true", "false"), value
        return value == "true"
    return int(value) if isinstance(like, int) else value


@pytest.mark.parametrize("fleet", ["tiny", "edge"])
def test_every_pipeline_costs_table_keys_its_rows_by_ids(fleet, request):
    written = request.getfixturevalue("pipeline_costs" if fleet == "tiny" else "edge_costs")
    key_fields = KEY_FIELDS if fleet == "tiny" else EDGE_KEY_FIELDS
    tables = {table_id for _, table_id in written["json"]}
    assert tables == set(key_fields), "a table was added or removed: say what its key fields hold"
    for (currency, table_id), rows in written["json"].items():
        csv_rows = written["csv"].get((currency, table_id), [])
        assert len(csv_rows) == len(rows), (currency, table_id)
        for row, csv_row in zip(rows, csv_rows):
            for key, allowed in key_fields[table_id].items():
                where = f"{fleet} {currency} {table_id}.{key}"
                value = row[key]
                assert value in allowed and type(value) in {type(a) for a in allowed}, f"{where} = {value!r} (json)"
                assert not (isinstance(value, str) and PLACEHOLDER.fullmatch(value)) or value in ENGINE_NAMES, \
                    f"{where} = {value!r}: a placeholder the report made up (say null, the pages show the text)"
                assert _as_json(csv_row[key], value) == value, f"{where} = {csv_row[key]!r} (csv)"
            if "scope" in row:   # the whole export is a scope of its own, with no pipeline
                assert (row["scope"] == "whole_export") == (row["pipeline"] is None), (where, row)
            if table_id in LABELS:
                id_key, labels = LABELS[table_id]
                assert row["label"] == csv_row["label"] == labels[row[id_key]], (where, row)
    # Each fleet shows what it is there for: the edge fleet has every null a key field may hold.
    nulls = {(table_id, key) for (_, table_id), rows in written["json"].items() for row in rows
             for key in key_fields[table_id] if row[key] is None}
    assert nulls == {(t, k) for t, keys in key_fields.items() for k, allowed in keys.items() if None in allowed}


def _figures(rows, keys, figures=("cost",)):
    """{key tuple: figures} of a table's rows, each figure exact (a JSON string or a CSV cell) as a Decimal."""
    return {tuple(r[k] or None for k in keys): tuple(D(r[f]) for f in figures) for r in rows}


def test_pipeline_costs_figures_by_id_are_the_hand_worked_ones(pipeline_costs):
    """The tiny fleet by hand (conftest), under --idle share: the same figures as before the key fields became
    ids, in JSON and CSV alike."""
    expected = {
        ("USD", "resources"): {
            ("pipeline", "llm-tune", "gpu"): (D("111.00"),), ("pipeline", "llm-tune", "cpu"): (D("10.00"),),
            ("pipeline", "taxi", "cpu"): (D("13.00"),), ("pipeline", "taxi", "ram"): (D("2.00"),),
            ("pipeline", "taxi", "disk"): (D("1.00"),),
            # The whole export: GPU 100.00 + 11.00 idle; CPU 23.00 of runs + 0.30 system overhead; 144.70 in all.
            ("whole_export", None, "gpu"): (D("111.00"),), ("whole_export", None, "cpu"): (D("23.30"),),
            ("whole_export", None, "ram"): (D("2.00"),), ("whole_export", None, "disk"): (D("1.00"),),
            ("whole_export", None, "network"): (D("5.00"),), ("whole_export", None, "cluster_fee"): (D("2.40"),)},
        ("EUR", "resources"): {("pipeline", "eu-scoring", "cpu"): (D("9.00"),),
                               ("whole_export", None, "cpu"): (D("9.00"),), ("whole_export", None, "disk"): (D("1.00"),)},
        ("USD", "buckets"): {
            ("pipeline", "llm-tune", "direct"): (D("110.00"),), ("pipeline", "llm-tune", "idle_share"): (D("11.00"),),
            ("pipeline", "llm-tune", "overhead_share"): (0,), ("pipeline", "llm-tune", "shared"): (0,),
            ("pipeline", "taxi", "direct"): (D("16.00"),), ("pipeline", "taxi", "idle_share"): (0,),
            ("pipeline", "taxi", "overhead_share"): (0,), ("pipeline", "taxi", "shared"): (0,),
            ("whole_export", None, "direct"): (D("126.00"),), ("whole_export", None, "idle_share"): (D("11.00"),),
            ("whole_export", None, "overhead_share"): (0,), ("whole_export", None, "shared"): (0,),
            ("whole_export", None, "overhead"): (D("2.70"),), ("whole_export", None, "unattributed"): (D("5.00"),)},
        ("USD", "waste"): {("llm-tune", "dead_end_steps"): (2, D("44.00")), ("taxi", "failed_runs"): (1, D("3.00")),
                           ("taxi", "dead_end_steps"): (1, D("0.50"))},
        ("USD", "models"): {(11,): (D("77.00"),), (4,): (D("12.50"),)},
        ("USD", "idle_accelerators"): {("gpu-pool", "gpu"): (D("111.00"), D("11.00"), D("4.000"))},
    }
    keys = {"resources": (("scope", "pipeline", "resource"), ("cost",)),
            "buckets": (("scope", "pipeline", "bucket"), ("cost",)),
            "waste": (("pipeline", "category"), ("items", "cost")),
            "models": (("artifact_id",), ("cost",)),
            "idle_accelerators": (("node_pool", "accelerator"), ("accelerator_cost", "idle_cost", "idle_hours"))}
    for (currency, table_id), figures in expected.items():
        key, values = keys[table_id]
        assert _figures(pipeline_costs["json"][currency, table_id], key, values) == figures, (currency, table_id)
        in_csv = [{**r, "artifact_id": int(r["artifact_id"])} if table_id == "models" else r
                  for r in pipeline_costs["csv"][currency, table_id]]
        assert _figures(in_csv, key, values) == figures, (currency, table_id)
    whole = [r for r in pipeline_costs["json"]["USD", "buckets"] if r["scope"] == "whole_export"]
    assert sum(D(r["cost"]) for r in whole) == D("144.70")


def test_people_still_read_labels_not_ids(pipeline_costs):
    """The ids are for machines: the Markdown and HTML show the labels they always showed."""
    md, html = pipeline_costs["md"], pipeline_costs["html"]
    assert "| Pipeline | GPU | CPU | Memory | Storage | Network | Cluster fee | Total |" in md
    assert "| Pipeline | Direct | Idle share | Overhead share | Shared | Overhead (kept separate) | Unattributed " \
           "| Total |" in md
    assert md.count("| Whole export |") == 4   # resources and buckets, in USD and EUR
    assert "| Pipeline | Category | Runs or steps | Cost | Share of pipeline |" in md
    assert "| taxi | Failed runs | 1 | $3.00 |" in md and "| gpu-pool | GPU | $111.00 |" in md
    assert "| llm-tune #11 (Nov 15) | llm-2 |" in md
    assert html.count("<td>Whole export</td>") == 4 and "<td>Steps that fed no pushed model</td>" in html
    for ids in ("whole_export", "dead_end_steps", "| failed_runs |", "cluster_fee", "| gpu |"):
        assert ids not in md, ids


# -- data in JSON and CSV, words on the pages: verdict ids, booleans, nulls --------------------------------------

# The tiny estimate with the network planned but not priced: not priced instead of not estimated.
UNPRICED_NETWORK = [*TINY_ESTIMATE, ("prod", "egress", "network", "prod", None, None, None)]
# (node pool or line): (verdict, estimate min, max, billed net, the pages' billed / month), by hand from conftest.
ESTIMATE_LINES = {
    "big-pool": ("not_billed", "10", "20", None, "–"),
    "cpu-pool": ("within", "1", "100000", "16.30", "$35.31"),
    "gpu-pool": ("above_maximum", "1", "2", "121.00", "$262.11"),
    "cluster fee": ("below_minimum", "1000", "2000", "2.40", "$5.20"),
    "network": ("not_estimated", None, None, "5.00", "$10.83"),
}


def _decimal(value):
    return None if value in (None, "") else D(value)


@pytest.mark.parametrize("plan", [TINY_ESTIMATE, UNPRICED_NETWORK], ids=["tiny", "unpriced_network"])
def test_estimate_actuals_carry_the_engines_verdict_ids_and_the_same_figures(tiny_workspace, run_cli, tmp_path,
                                                                              plan):
    """As `aipipe estimate --actual --format json` (actuals_formats.line_row): the verdict's id, the engine's part,
    null for a line on no node pool; the words people read are `label`, and the pages show them as before. The
    figures are the engine's comparison's, exact in JSON and CSV alike."""
    with Workspace.open(tiny_workspace) as ws:
        save_estimate(ws.con, plan)
    written = _write_pipeline_costs(tiny_workspace, run_cli, tmp_path / "reports")
    with Workspace.open(tiny_workspace) as ws:
        comparison = compare_with_bill(ws.con, saved_plan(ws.con))
    expected = dict(ESTIMATE_LINES)
    if plan is UNPRICED_NETWORK:
        expected["network"] = (NOT_PRICED, *expected["network"][1:])
    rows, csv_rows = written["json"]["USD", "estimate_actuals"], written["csv"]["USD", "estimate_actuals"]
    assert len(rows) == len(csv_rows) == len(comparison.lines) == len(expected)
    for row, csv_row, line in zip(rows, csv_rows, comparison.lines):
        cli = line_row(line)
        key = line.node_pool or line.part
        assert (row["cluster"], row["node_pool"], row["line"], row["verdict"]) == \
               (cli["cluster"], cli["node_pool"], cli["part"], cli["verdict"]), key
        assert row["label"] == csv_row["label"] == VERDICT_TEXT[line.verdict], key
        for column in ("cluster", "node_pool", "line", "verdict"):
            assert _as_json(csv_row[column], row[column]) == row[column], (key, column)
        verdict, low, high, billed, _ = expected[key]
        figures = (_decimal(low), _decimal(high), _decimal(billed), line.billed_monthly)
        assert row["verdict"] == verdict, key
        assert tuple(_decimal(row[c]) for c in ("estimate_min", "estimate_max", "billed", "billed_monthly")) \
               == figures, key
        assert tuple(_decimal(csv_row[c]) for c in ("estimate_min", "estimate_max", "billed", "billed_monthly")) \
               == figures, key
    assert written["columns"]["USD", "estimate_actuals"]["verdict"]["label"] == "Verdict id"
    md, html = written["md"], written["html"]
    assert "| Cluster | Node pool | Line | Estimate min / month | Estimate max / month | Billed (net) " \
           "| Billed / month | Verdict | Detail |" in md
    for key, (verdict, *_, monthly) in expected.items():
        pool, part = (key, "node pool") if key.endswith("-pool") else ("–", key)
        assert f"| prod | {pool} | {part} |" in md and f"| {monthly} | {VERDICT_TEXT[verdict]} |" in md, key
        assert f"<td>{VERDICT_TEXT[verdict]}</td>" in html, key
        assert verdict == "within" or verdict not in md and verdict not in html, verdict   # the id is no word
    assert "Verdict id" not in md and "Verdict id" not in html


# The edge fleet's most expensive runs: (reached a pushed model, what the pages say, cost).
EDGE_TOP_RUNS = {
    "llm-2": (True, "yes", "72.60"), "ghost-1": (None, "unknown (no lineage)", "50.00"),
    "llm-1": (True, "yes", "48.40"), "llm-3": (None, "still running", "23.00"),
    "taxi-1": (None, "n/a (pushes no models)", "13.00"), "taxi-2": (False, "no", "3.00"),
    "eu-1": (None, "n/a (pushes no models)", "9.00"),
}


def test_reached_push_is_a_boolean_or_null_and_the_pages_keep_their_words(edge_costs):
    """true or false when the run is judged; null when it is not (still running, its pipeline pushes no models,
    the lineage does not know it). The words stay on the pages, never in JSON or CSV; the costs are unchanged."""
    rows = edge_costs["json"]["USD", "top_runs"] + edge_costs["json"]["EUR", "top_runs"]
    csv_rows = edge_costs["csv"]["USD", "top_runs"] + edge_costs["csv"]["EUR", "top_runs"]
    assert {r["run_id"]: (r["reached_push"], D(r["cost"])) for r in rows} == \
           {run: (reached, D(cost)) for run, (reached, _, cost) in EDGE_TOP_RUNS.items()}
    in_csv = {True: "true", False: "false", None: ""}
    assert {r["run_id"]: (r["reached_push"], D(r["cost"])) for r in csv_rows} == \
           {run: (in_csv[reached], D(cost)) for run, (reached, _, cost) in EDGE_TOP_RUNS.items()}
    assert edge_costs["columns"]["USD", "top_runs"]["reached_push"]["kind"] == "bool"
    assert all(set(r) == set(edge_costs["columns"]["USD", "top_runs"]) for r in rows)   # no page text
    md, html = edge_costs["md"], edge_costs["html"]
    for run, (_, words, cost) in EDGE_TOP_RUNS.items():
        line = next(line for line in md.splitlines() if line.startswith(f"| {run} |"))
        assert line.endswith(f"| {words} | ") and f"{cost} |" in line, line
        assert f"<td>{words}</td>" in html, words
    for data in ("| true |", "| false |", "| None |", "<td>True</td>", "<td>False</td>", "<td>None</td>"):
        assert data not in md and data not in html, data


def test_reconciled_is_a_boolean(edge_costs, pipeline_costs):
    """The summary says whether the report reconciles as true or false (the pages keep their words)."""
    for costs in (edge_costs, pipeline_costs):
        rows = [r for (currency, table), table_rows in costs["json"].items() if table == "summary" for r in table_rows]
        csv_rows = [r for (currency, table), table_rows in costs["csv"].items() if table == "summary"
                    for r in table_rows]
        assert rows and all(r["reconciled"] in (True, False) for r in rows)
        assert [r["reconciled"] for r in csv_rows] == [{True: "true", False: "false"}[r["reconciled"]] for r in rows]


def test_what_the_report_cannot_name_is_null_and_the_engines_names_stay(edge_costs):
    """Lines on no namespace and a step with no name: null in JSON, empty in CSV, "(no namespace)" and "(unnamed
    step)" on the pages as before, with the same figures. The engine's own names for what it cannot name (pipeline
    `(unknown)`, step `(no steps in lineage)`, `(no node pool)`) are its values and stay in every format."""
    namespaces = [("kubeflow", "146.00", "0", "14.00", "160.00"), (None, "50.00", "0", "0", "50.00")]
    figures = ("pipelines", "other_workloads", "shares", "total")
    for rows in (edge_costs["json"]["USD", "namespaces"], edge_costs["csv"]["USD", "namespaces"]):
        assert [(r["namespace"] or None, *(D(r[f]) for f in figures)) for r in rows] == \
               [(ns, *map(D, values)) for ns, *values in namespaces]
    assert edge_costs["csv"]["USD", "namespaces"][1]["namespace"] == ""
    steps = {("llm-tune", None): (1, "11.00"), ("llm-tune", NO_STEPS): (0, "23.00"),
             ("(unknown)", NO_STEPS): (0, "50.00"), ("llm-tune", "train"): (2, "99.00")}
    for rows in (edge_costs["json"]["USD", "steps"], edge_costs["csv"]["USD", "steps"]):
        got = {(r["pipeline"], r["step"] or None): (int(r["executions"]), D(r["cost"])) for r in rows}
        assert {k: got[k] for k in steps} == {k: (n, D(cost)) for k, (n, cost) in steps.items()}
    idle = {(r["node_pool"], r["accelerator"]): D(r["idle_cost"])
            for r in edge_costs["json"]["USD", "idle_accelerators"]}
    assert idle == {("gpu-pool", "gpu"): D("11.00"), ("(no node pool)", "gpu"): D("3.00")}
    assert {r["run_id"]: r["pipeline"] for r in edge_costs["json"]["USD", "top_runs"]}["ghost-1"] == "(unknown)"
    md, html = edge_costs["md"], edge_costs["html"]
    assert "| kubeflow | $146.00 | $0.00 | $14.00 | $160.00 | \n" \
           "| (no namespace) | $50.00 | $0.00 | $0.00 | $50.00 |" in md   # in the order it always had
    assert "| llm-tune | (unnamed step) | 1 | $11.00 | 7.6% |" in md
    assert "| (unknown) | (no steps in lineage) | 0 | $50.00 | 100.0% |" in md
    assert "| (no node pool) | GPU | $3.00 | $3.00 | 100.0% |" in md
    assert "<td>(no namespace)</td>" in html and "<td>(unnamed step)</td>" in html
    assert "<title>llm-tune / (unnamed step)</title>" in html   # the steps chart names it as the table does
    for data in ("| None |", "<td>None</td>", "/ None", 'class="num missing">(no'):
        assert data not in md and data not in html, data
