"""Machine-readable output is uniform (issue 14 item 5): in `aipipe costs --by X --format json|csv` and in the
reports' JSON and CSV, every row of a view or table has the same keys, every key is snake_case, and identifiers are
fields of their own (cluster, node_pool, namespace, workload, pipeline, run_id), never joined into a display
string. Walks every view the CLI offers (billing.breakdowns.VIEWS), so a new view is checked too. In the pipeline
cost report, the key fields of every table hold ids (bucket ids, resource kinds, waste categories, `scope`), and a
display label only ever sits in a `label` field of its own."""

import csv
import io
import json
import re

from decimal import Decimal as D

import pytest

from aipipe_ops.billing.attribution.steps import NO_STEPS
from aipipe_ops.billing.breakdowns import VIEWS
from aipipe_ops.billing.waste import CATEGORIES
from aipipe_ops.reports.ledger import BILL_PARTS
from aipipe_ops.reports.pipeline_costs import BUCKET_LABELS, KEPT_SEPARATE, RESOURCE_LABELS, WASTE_LABELS
from aipipe_ops.vocabulary import BUCKETS, RESOURCE_KINDS, RUN_STATES

from .conftest import COST_LINES, RUNS, STEPS

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

PIPELINES = {pipeline for _, pipeline, *_ in RUNS}
# What each key field of each table may hold on the tiny fleet: a closed vocabulary's ids or the fleet's own
# identifiers, never a display label; None where a row has no such key (the whole export has no pipeline). Every
# table of the report is listed, so a new table has to say what its keys are.
KEY_FIELDS = {
    "pipelines": {"pipeline": PIPELINES},
    "summary": {},
    "bill": {"part": {part for part, _, _ in BILL_PARTS}},
    "namespaces": {"namespace": {line[4] for line in COST_LINES} - {None}},
    "trend": {"pipeline": PIPELINES},
    "run_distribution": {"pipeline": PIPELINES},
    "top_runs": {"run_id": {run for run, *_ in RUNS}, "pipeline": PIPELINES, "state": set(RUN_STATES)},
    # NO_STEPS: the engine's step name for a run without steps in the lineage (step_costs, `costs --by step`).
    "steps": {"pipeline": PIPELINES, "step": {step for _, _, step, *_ in STEPS} | {NO_STEPS}},
    "resources": {"scope": {"pipeline", "whole_export"}, "pipeline": PIPELINES | {None},
                  "resource": set(RESOURCE_KINDS)},
    "buckets": {"scope": {"pipeline", "whole_export"}, "pipeline": PIPELINES | {None}, "bucket": set(BUCKETS)},
    "models": {"artifact_id": {4, 11}, "pipeline": PIPELINES, "run_id": {run for run, *_ in RUNS}},
    "waste": {"pipeline": PIPELINES, "category": set(CATEGORIES)},
    "idle_accelerators": {"node_pool": {line[3] for line in COST_LINES} - {None}, "accelerator": {"gpu", "tpu"}},
    "reconciliation": {"part": set(BUCKETS) | {"sum", "export_total", "difference"}},
}
# The label people read for each id, in the tables that carry one.
LABELS = {
    "resources": ("resource", RESOURCE_LABELS),
    "buckets": ("bucket", {**BUCKET_LABELS, **KEPT_SEPARATE}),
    "waste": ("category", WASTE_LABELS),
    "idle_accelerators": ("accelerator", RESOURCE_LABELS),
}


@pytest.fixture
def pipeline_costs(tiny_workspace, run_cli, tmp_path):
    """The tiny fleet's pipeline cost report as written: JSON tables and CSV rows by (currency, table id), and
    the Markdown and HTML."""
    out = tmp_path / "reports"
    code, _, err = run_cli("--workspace", tiny_workspace, "report", "--report", "pipeline-costs", "--out", out,
                           "--idle", "share")
    assert code == 0, err
    data = json.loads((out / "pipeline-costs.json").read_text())
    in_json = {(currency, table_id): table["rows"]
               for currency, block in data["by_currency"].items() for table_id, table in block.items()}
    in_csv: dict[tuple, list] = {}
    for path in (out / "pipeline-costs").glob("*.csv"):
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                in_csv.setdefault((row.pop("currency"), path.stem), []).append(row)
    return {"json": in_json, "csv": in_csv, "md": (out / "pipeline-costs.md").read_text(),
            "html": (out / "pipeline-costs.html").read_text()}


def _as_json(value: str, like):
    """A CSV cell as the JSON value it stands for: empty is null, an integer id is a number."""
    if value == "":
        return None
    return int(value) if isinstance(like, int) else value


def test_every_pipeline_costs_table_keys_its_rows_by_ids(pipeline_costs):
    tables = {table_id for _, table_id in pipeline_costs["json"]}
    assert tables == set(KEY_FIELDS), "a table was added or removed: say what its key fields hold"
    for (currency, table_id), rows in pipeline_costs["json"].items():
        csv_rows = pipeline_costs["csv"].get((currency, table_id), [])
        assert len(csv_rows) == len(rows), (currency, table_id)
        for row, csv_row in zip(rows, csv_rows):
            for key, allowed in KEY_FIELDS[table_id].items():
                where = f"{currency} {table_id}.{key}"
                assert row[key] in allowed, f"{where} = {row[key]!r} (json)"
                assert _as_json(csv_row[key], row[key]) == row[key], f"{where} = {csv_row[key]!r} (csv)"
            if "scope" in row:   # the whole export is a scope of its own, with no pipeline
                assert (row["scope"] == "whole_export") == (row["pipeline"] is None), (where, row)
            if table_id in LABELS:
                id_key, labels = LABELS[table_id]
                assert row["label"] == csv_row["label"] == labels[row[id_key]], (where, row)


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
