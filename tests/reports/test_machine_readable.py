"""Machine-readable output is uniform (issue 14 item 5): in `aipipe costs --by X --format json|csv` and in the
reports' JSON and CSV, every row of a view or table has the same keys, every key is snake_case, and identifiers are
fields of their own (cluster, node_pool, namespace, workload, pipeline, run_id), never joined into a display
string. Walks every view the CLI offers (billing.breakdowns.VIEWS), so a new view is checked too."""

import csv
import io
import json
import re

import pytest

from aipipe_ops.billing.breakdowns import VIEWS

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
