"""Property: one random export loaded as k chunks -- by file, by day, by export_time batch, in any order, with
repeats and twin formats (Parquet + NDJSON) -- gives exactly the single load's cost lines, export cells and
attribution, per currency, to the cent."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings, strategies as st

from aipipe_ops.billing.attribution.attribute import attribute
from aipipe_ops.billing.attribution.policies import Policy
from aipipe_ops.billing.load import load_billing
from aipipe_ops.billing.normalise import CELL_KEYS, COST_LINE_COLUMNS
from aipipe_ops.workspace import Workspace
from conftest import insert_runs, utc
from export_rows import gke_labels, row, write_jsonl, write_parquet

SKUS = ("N2 Instance Core running in Americas", "N2 Instance Ram running in Americas",
        "Nvidia L4 GPU running in Americas")
_counter = itertools.count()


@st.composite
def exports(draw) -> list[dict]:
    n = draw(st.integers(1, 24))
    out = []
    for _ in range(n):
        day, hour = draw(st.integers(0, 3)), draw(st.integers(0, 23))
        start = utc(2026, 10, 1, 8) + dt.timedelta(days=day, hours=hour)
        batch = draw(st.integers(0, 2))  # late rows and corrections come in later batches
        cents = draw(st.integers(-500, 5000))
        credit = draw(st.sampled_from([(), (-0.01,), (-0.125, -0.5)]))
        labels = draw(st.sampled_from([gke_labels(pool="cpu", namespace="ns", run="r1"),
                                       gke_labels(pool="cpu", namespace="kube:unallocated"),
                                       gke_labels(pool="gpu", namespace="ns", run="r2"), {}]))
        out.append(row(start=start, sku=draw(st.sampled_from(SKUS)), cost=cents / 100, credits=credit,
                       currency=draw(st.sampled_from(["USD", "EUR"])), labels=labels,
                       export_time=start + dt.timedelta(hours=4, days=batch)))
    return out


def cell_of(r: dict) -> tuple:
    pacific = r["usage_start_time"].astimezone(dt.timezone(dt.timedelta(hours=-7)))  # PDT all October
    return (r["invoice"]["month"], pacific.date(), r["currency"], r["export_time"])


def state(ws) -> dict:
    cols = ", ".join(c for c in COST_LINE_COLUMNS)
    attribute(ws, Policy(idle="share", shared="weighted"))
    return {
        "lines": ws.con.execute(f"SELECT {cols}, run_id FROM cost_lines ORDER BY ALL").fetchall(),
        "cells": ws.con.execute(f"SELECT {', '.join(CELL_KEYS)}, rows, cost, credits, net_cost, fingerprint "
                                f"FROM export_cells ORDER BY ALL").fetchall(),
        "totals": ws.con.execute("SELECT usage_day, currency, sum(net_cost), sum(export_rows) "
                                 "FROM billing_export_totals GROUP BY ALL ORDER BY ALL").fetchall(),
        "runs": ws.con.execute("SELECT run_id, bucket, currency, sum(cost) FROM run_costs GROUP BY ALL "
                               "ORDER BY ALL").fetchall(),
        "reconciliation": ws.con.execute("SELECT currency, export_net_total, buckets_total, status "
                                         "FROM reconciliations ORDER BY ALL").fetchall(),
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=exports(), how=st.sampled_from(["day", "batch", "file"]), data=st.data())
def test_chunked_loads_equal_one_load(tmp_path, rows, how, data):
    run = tmp_path / f"run{next(_counter)}"
    run.mkdir()
    runs = [{"run_id": "r1", "pipeline": "p1"}, {"run_id": "r2", "pipeline": "p2"}]
    with Workspace.open(run / "one.duckdb") as ws:
        insert_runs(ws, runs)
        load_billing(ws, str(write_parquet(rows, run / "all.parquet")))
        expected = state(ws)

    # chunks hold whole cells (what a file of an extract by day or by batch holds); a file extract splitting one
    # batch across files is loaded together (a glob or a directory), see test_load_identity.py
    cells = sorted({cell_of(r) for r in rows}, key=repr)
    if how == "day":
        key = {c: c[1] for c in cells}
    elif how == "batch":
        key = {c: c[3] for c in cells}
    else:
        key = {c: data.draw(st.integers(0, 3), label=f"file of {c}") for c in cells}
    groups = sorted({v for v in key.values()}, key=repr)
    chunks = [[r for r in rows if key[cell_of(r)] == g] for g in groups]
    order = data.draw(st.permutations(range(len(chunks))), label="order")
    repeats = data.draw(st.lists(st.integers(0, len(chunks) - 1), max_size=3), label="repeats")
    with Workspace.open(run / "chunks.duckdb") as ws:
        insert_runs(ws, runs)
        for n, i in enumerate(list(order) + repeats):
            fmt = data.draw(st.sampled_from(["parquet", "jsonl"]), label=f"format of load {n}")
            writer = write_parquet if fmt == "parquet" else write_jsonl
            # a repeat is another file (another path, maybe the other format) holding the same rows
            load_billing(ws, str(writer(chunks[i], run / f"chunk-{n}.{fmt}")))
        got = state(ws)
    assert got == expected
