"""Values are inlined into DuckDB statements, never bound (DuckDBSql.literal, .inline): the first bound
parameter makes DuckDB's Python client import pandas, 0.3-0.6 s of every command that did it. The inlined
statement must mean exactly what the bound one does, whatever the value."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aipipe_ops.sql import DUCKDB

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-2**63, max_value=2**63 - 1),
    st.text(max_size=12),                      # quotes, backslashes, question marks, any unicode
    st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=9, allow_nan=False),
    st.dates(),
    st.datetimes(timezones=st.just(dt.timezone.utc)),
)


@settings(max_examples=300, deadline=None)
@given(value=values)
def test_inlined_value_equals_bound_value(value):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    inlined = con.execute(DUCKDB.inline("SELECT ?, '?' AS mark", [value])).fetchone()
    assert inlined[1] == "?"                   # a ? inside quotes is text, not a placeholder
    if isinstance(value, Decimal):
        assert inlined[0] == value
    else:
        assert inlined[0] == con.execute("SELECT ?", [value]).fetchone()[0]


def test_placeholders_must_match_values():
    assert DUCKDB.inline("SELECT ? + ?", [1, 2]) == "SELECT 1 + 2"
    assert DUCKDB.inline("SELECT 'it''s ?', ?", ["x"]) == "SELECT 'it''s ?', 'x'"
    with pytest.raises(ValueError, match="more \\? placeholders"):
        DUCKDB.inline("SELECT ?, ?", [1])
    with pytest.raises(ValueError, match="left over"):
        DUCKDB.inline("SELECT ?", [1, 2])


def test_attribution_and_report_do_not_import_pandas(project_dir, tmp_path):
    """`aipipe costs` (load + attribute) and `aipipe report` on a small sample fleet, in a fresh interpreter."""
    fleet, ws = tmp_path / "fleet", tmp_path / "ws.duckdb"
    for args in (["sample", "--runs", "15", "--days", "3", "--out", str(fleet)],
                 ["--workspace", str(ws), "lineage", "snapshot", "--mlmd", f"sqlite:///{fleet}/mlmd.sqlite"]):
        subprocess.run([sys.executable, "-m", "aipipe_ops", *args], check=True, capture_output=True, cwd=project_dir)
    script = f"""
import sys
from aipipe_ops.cli import main
ws, fleet = {str(ws)!r}, {str(fleet)!r}
assert main(["--workspace", ws, "costs", "--billing", fleet + "/billing/*.parquet", "--by", "model"]) == 0
assert main(["--workspace", ws, "report", "--out", {str(tmp_path / 'reports')!r}]) == 0
print("pandas" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=project_dir)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"
