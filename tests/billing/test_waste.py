"""docs/cost-model.md §10 (waste), reproduced exactly: the test reads the example's steps from the page, builds the
export and the lineage they describe, attributes them, and checks the waste the page states."""

from __future__ import annotations

import datetime as dt
import json

from aipipe_ops.billing.attribution.attribute import attribute
from aipipe_ops.billing.attribution.policies import Policy
from aipipe_ops.billing.load import load_billing
from aipipe_ops.billing.waste import create_delivery_tables, waste
from aipipe_ops.lineage.graph import refresh_index
from conftest import insert_runs, insert_steps, utc
from export_rows import gke_labels, row, write_parquet
from test_cost_model_example import doc_table, money

START = utc(2026, 3, 2, 10)


def build_example(ws, tmp_path) -> None:
    steps = doc_table("Waste example: steps")
    runs = {r["run"]: r for r in steps}
    insert_runs(ws, [{"run_id": r, "pipeline": s["pipeline"], "state": s["state"]} for r, s in runs.items()])
    rows, step_rows = [], []
    for number, s in enumerate(steps, 1):
        hour = START + dt.timedelta(hours=number)   # each step alone in its hour: its cost is that hour's
        step_rows.append({"execution_id": number, "run_id": s["run"], "step": s["step"], "created_at": hour,
                          "updated_at": hour + dt.timedelta(hours=1)})
        kind = "pushed_model" if s["feeds a pushed model"] == "yes" else "dataset"
        ws.con.execute(f"INSERT INTO artifacts (artifact_id, kind, uri, created_at, properties) VALUES "
                       f"({number}, '{kind}', 'gs://b/{number}', TIMESTAMPTZ '{hour.isoformat()}', "
                       f"'{json.dumps({'pushed': 1} if kind == 'pushed_model' else {})}')")
        ws.con.execute(f"INSERT INTO events (execution_id, artifact_id, direction) "
                       f"VALUES ({number}, {number}, 'output')")
        rows.append(row(start=hour, sku="N2 Instance Core running in Americas", cost=float(s["cost"]),
                        labels=gke_labels("prod", pool="cpu-pool", namespace="team", run=s["run"])))
    insert_steps(ws, step_rows)
    refresh_index(ws.con)
    load_billing(ws, str(write_parquet(rows, tmp_path / "export.parquet")))
    attribute(ws, Policy())


def test_waste_matches_the_page(workspace, tmp_path):
    build_example(workspace, tmp_path)
    create_delivery_tables(workspace.con)
    got = {(r["pipeline"], r["category"]): (r["items"], r["cost"]) for r in waste(workspace.con, "USD")}
    want = {(r["pipeline"], r["category"]): (int(r["items"]), money(r["cost"]))
            for r in doc_table("Waste example: result")}
    assert got == want


def test_verdicts_match_the_page(workspace, tmp_path):
    """The page's verdict table, run by run: running and not-judged runs are no waste."""
    build_example(workspace, tmp_path)
    create_delivery_tables(workspace.con)
    verdicts = dict(workspace.con.execute("SELECT run_id, verdict FROM run_verdicts").fetchall())
    assert verdicts == {"run-1": "delivered", "run-2": "failed", "run-3": "pushed_nothing", "run-4": "running",
                        "run-5": "not_judged", "run-6": "failed"}
    assert [r["verdict"] for r in doc_table_verdicts()] == ["failed", "running", "not_judged", "delivered",
                                                            "pushed_nothing"]


def doc_table_verdicts() -> list[dict]:
    """The verdict table of §10 (under the section heading, not a ### example heading)."""
    from test_cost_model_example import DOC

    lines = DOC.read_text().splitlines()
    start = lines.index("## 10. Waste")
    table = [line for line in lines[start:] if line.startswith("| ")]
    header = [c.strip() for c in table[0].strip("|").split("|")]
    assert header == ["verdict", "rule"]
    out = []
    for line in table[1:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == "run":   # the next table begins
            break
        out.append(dict(zip(header, cells)))
    return out
