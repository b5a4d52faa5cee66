"""DuckDB's two-scan route to cost lines (line_dimensions.py: each distinct combination of a line's dimensions read
once, rows grouped by its hash) gives exactly the lines and control totals of the one-scan route that reads every
row's labels (normalise.cost_lines_query) -- on random exports whose label lists differ in kept and unkept labels,
hold NULL and empty lists, duplicate keys, NULL values, and on the sample fleet's export."""

from __future__ import annotations

import datetime as dt

import duckdb
from hypothesis import HealthCheck, given, settings, strategies as st

from aipipe_ops.billing import line_dimensions
from aipipe_ops.billing.cells import dimension_digest_sql
from aipipe_ops.billing.load import prepare_connection
from aipipe_ops.billing.normalise import COST_LINE_COLUMNS, UsageWindow, cost_lines_query, window_filter
from aipipe_ops.billing.sources.files import FILE_COLUMN, FileSource
from aipipe_ops.billing.sources import SourceOptions
from aipipe_ops.sql import DUCKDB
from conftest import write_sample
from export_rows import gke_labels, row, write_parquet

# Everything the staged relation holds except row_hash, which each route computes over its own keys (it is only
# ever compared inside one load).
COMPARED = COST_LINE_COLUMNS + ("is_cell", "file")
CELL_UNREAD = ("service", "service_id", "sku", "resource_kind")


def _both_routes(spec: str, window: UsageWindow = UsageWindow()) -> tuple[list, list, bool]:
    con = duckdb.connect()
    prepare_connection(con)
    source = FileSource(spec, SourceOptions())
    present = source.describe(con)
    relation = source.relation_sql(present)
    conditions = window_filter(DUCKDB, window)
    collapse = line_dimensions.create_dimensions(con, "dims", relation, present, conditions)
    two_scans = line_dimensions.lines_query(relation, present, conditions, FILE_COLUMN, "dims", collapse)
    one_scan = cost_lines_query(DUCKDB, relation, present, conditions, FILE_COLUMN)
    # A cell's details (a SKU's description on the control-total row) mean nothing and are read by nothing.
    cols = ", ".join(f"CASE WHEN is_cell = 0 THEN {c} END AS {c}" if c in CELL_UNREAD else c for c in COMPARED)
    got = con.execute(f"SELECT {cols} FROM ({two_scans}) ORDER BY ALL").fetchall()
    want = con.execute(f"SELECT {cols} FROM ({one_scan}) ORDER BY ALL").fetchall()
    # The digest each line's fingerprint hashes, computed once per combination, is the one of the line's own values.
    assert con.execute(f"SELECT count(*) FROM ({two_scans}) WHERE is_cell = 0 AND dimension_digest IS DISTINCT FROM "
                       f"{dimension_digest_sql()}").fetchone()[0] == 0
    return got, want, collapse


LABEL_CHOICES = [
    None, {}, gke_labels(pool="cpu", namespace="ns", run="r1"),
    gke_labels(pool="cpu", namespace="ns", run="r1", **{"k8s-label/pod-template-hash": "abc"}),
    gke_labels(pool="cpu", namespace="ns", run="r1", **{"k8s-label/pod-template-hash": "def"}),
    gke_labels(pool="gpu", namespace="serving", **{"k8s-label/app": "api", "team": "ml"}),
    gke_labels(pool="gpu", namespace="serving", **{"k8s-label/app": "api", "team": None}),
    {"aipipe-run": "r2", "aipipe-step": "train", "team": "ml"},
]
SKUS = [("N1 Predefined Instance Core running in Americas", "cpu-sku"), ("Nvidia L4 GPU running in Americas", "gpu-sku")]


@st.composite
def exports(draw) -> list[dict]:
    out = []
    for _ in range(draw(st.integers(1, 30))):
        start = dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc) + dt.timedelta(hours=draw(st.integers(0, 50)))
        sku, sku_id = draw(st.sampled_from(SKUS))
        r = row(start=start, sku=sku, sku_id=sku_id, cost=draw(st.integers(-300, 5000)) / 100,
                credits=draw(st.sampled_from([(), (-0.01,), (-0.125, -0.5)])),
                currency=draw(st.sampled_from(["USD", "EUR"])), project=draw(st.sampled_from(["p1", "p2"])),
                export_time=start + dt.timedelta(hours=draw(st.integers(1, 30))),
                labels=draw(st.sampled_from([c for c in LABEL_CHOICES if c is not None])))
        choice = draw(st.sampled_from(LABEL_CHOICES))
        if choice is None:
            r["labels"] = None
        elif draw(st.booleans()):  # a duplicate key: the first value counts
            r["labels"] = r["labels"] + [{"key": "k8s-namespace", "value": "late"}]
        out.append(r)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=exports(), files=st.integers(1, 3))
def test_two_scans_equal_one_scan(tmp_path_factory, rows, files):
    folder = tmp_path_factory.mktemp("export")
    for i in range(files):
        write_parquet(rows[i::files] or rows[:1], folder / f"part-{i}.parquet")
    got, want, _ = _both_routes(str(folder / "*.parquet"))
    assert got == want


def test_lists_that_differ_in_unkept_labels_make_one_line(tmp_path):
    start = dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc)
    rows = [row(start=start, sku="N1 Core", cost=1, labels=gke_labels(pool="cpu", namespace="ns", run="r1", **{
        "k8s-label/pod-template-hash": h})) for h in ("a", "b", "c")]
    got, want, collapse = _both_routes(str(write_parquet(rows, tmp_path / "x.parquet")))
    assert collapse
    lines = [g for g in got if g[COMPARED.index("is_cell")] == 0]
    assert len(lines) == 1 and lines[0][COMPARED.index("export_rows")] == 3
    assert got == want


def test_sample_fleet_export_and_a_window(tmp_path_factory):
    out, _ = write_sample(tmp_path_factory, runs=20, days=3, seed=3)
    spec = str(out / "billing" / "*.parquet")
    got, want, _ = _both_routes(spec)
    assert len(got) > 100 and got == want
    days = sorted({g[COMPARED.index("usage_day")] for g in got})
    got, want, _ = _both_routes(spec, UsageWindow(since=days[1], until=days[1]))
    assert got and {g[COMPARED.index("usage_day")] for g in got} == {days[1]} and got == want
