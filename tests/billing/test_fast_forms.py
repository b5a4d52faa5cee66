"""The fast SQL forms mean exactly what the plain ones do (docs/billing.md "Performance").

- DuckDB's labels: one lambda giving each element its key's number, list_position, a value-only cast, and a
  lookup skipped where the row's largest number is too small -- against list_filter(labels, key)[1].value, on
  label lists with duplicates, NULL elements, NULL keys and values, keys in any order.
- DuckDB's credits: the sum skipped for rows without credits -- against the plain list_sum.
- Splits: DOUBLE estimates checked with HUGEINT multiplications -- against the integer formulas computed in
  Python, including amounts and weights large enough that the estimates miss and the exact path runs.
"""

from __future__ import annotations

import json
import random
from decimal import Decimal, localcontext

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aipipe_ops.billing.attribution.split import money_nanos_sql, split
from aipipe_ops.sql import DUCKDB
from aipipe_ops.billing.normalise import LABEL_KEYS

OTHER_KEYS = ["goog-k8s-cluster-location", "k8s-label/app", "team", "k8s-label/statefulset"]


def _table_of_lists(column: str, element: str, rows: list) -> duckdb.DuckDBPyConnection:
    """Table t(id, column) holding `rows` (lists of dicts, or None), typed as the export's repeated record."""
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t (id INTEGER, {column} JSON)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [(i, json.dumps(r)) for i, r in enumerate(rows)])
    con.execute(f"CREATE TABLE t2 AS SELECT id, from_json({column}, '[{element}]') AS {column} FROM t")
    con.execute("DROP TABLE t")
    con.execute("ALTER TABLE t2 RENAME TO t")
    return con


def _reference_label(key: str) -> str:
    return f"list_filter(labels, lambda l: l.key = {DUCKDB.quote(key)})[1].value"


def _fast_labels_sql(source: str) -> str:
    for stage in DUCKDB.label_columns(LABEL_KEYS):
        source = f"(SELECT *, {', '.join(stage)} FROM {source})"
    fast = ", ".join(f"{DUCKDB.label(k, LABEL_KEYS)} AS f{i}" for i, k in enumerate(LABEL_KEYS))
    ref = ", ".join(f"{_reference_label(k)} AS r{i}" for i, k in enumerate(LABEL_KEYS))
    return f"SELECT id, {fast}, {ref} FROM {source}"


label_element = st.one_of(
    st.none(),
    st.fixed_dictionaries({"key": st.one_of(st.none(), st.sampled_from(list(LABEL_KEYS) + OTHER_KEYS)),
                           "value": st.one_of(st.none(), st.text(max_size=6))}),
)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.one_of(st.none(), st.lists(label_element, max_size=9)), min_size=1, max_size=40))
def test_duckdb_labels_are_list_filter(rows):
    con = _table_of_lists("labels", '{"key": "VARCHAR", "value": "VARCHAR"}', rows)
    for row in con.execute(_fast_labels_sql("t")).fetchall():
        n = len(LABEL_KEYS)
        assert row[1:1 + n] == row[1 + n:], (rows[row[0]], row)


def test_duckdb_labels_first_of_duplicates_and_late_keys():
    run, ns = "k8s-label/pipeline/runid", "k8s-namespace"
    con = _table_of_lists("labels", '{"key": "VARCHAR", "value": "VARCHAR"}', [
        [{"key": run, "value": "first"}, {"key": ns, "value": "a"}, {"key": run, "value": "second"}],
        [{"key": "x", "value": "y"}],  # none of the keys: every lookup is skipped
        [None, {"key": ns, "value": None}, {"key": ns, "value": "later"}],  # NULL element, NULL value first
    ])
    got = {r[0]: r[1:1 + len(LABEL_KEYS)] for r in con.execute(_fast_labels_sql("t")).fetchall()}
    i_run, i_ns = LABEL_KEYS.index(run), LABEL_KEYS.index(ns)
    assert (got[0][i_run], got[0][i_ns]) == ("first", "a")
    assert got[1] == (None,) * len(LABEL_KEYS)
    assert got[2][i_ns] is None


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.one_of(st.none(), st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6)), max_size=4)),
                     min_size=1, max_size=30))
def test_duckdb_credit_sum_is_the_plain_sum(rows):
    con = _table_of_lists("credits", '{"name": "VARCHAR", "amount": "DOUBLE"}',
                          [None if r is None else [None if a is None else {"name": "c", "amount": a} for a in r]
                           for r in rows])
    money = DUCKDB.money_type
    plain = (f"coalesce(list_sum(list_transform(credits, lambda c: CAST(c.amount AS {money}))), "
             f"CAST(0 AS {money}))")
    for fast, ref in con.execute(f"SELECT {DUCKDB.credit_sum()}, {plain} FROM t").fetchall():
        assert fast == ref


# -- exact splitting ------------------------------------------------------------------------------------------
NANO = 10 ** 9


def _python_split(amount: Decimal, weights: dict[str, int]) -> dict[str, Decimal]:
    """split.py's docstring, in Python integers: weights already in nano-units."""
    n = int(amount * NANO)
    total, sign = abs(n), (n > 0) - (n < 0)
    ws = {r: max(w, 0) for r, w in weights.items()}
    tw = sum(ws.values())
    if tw == 0:
        ws, tw = {r: 1 for r in ws}, len(ws)
    base = {r: total * w // tw for r, w in ws.items()}
    rem = {r: total * w % tw for r, w in ws.items()}
    left = total - sum(base.values())
    order = sorted(ws, key=lambda r: (-rem[r], r))
    extra = {r: 1 if i < left else 0 for i, r in enumerate(order)}
    return {r: Decimal(sign * (base[r] + extra[r])) / NANO for r in ws}


def _split_in_duckdb(groups: list[tuple[Decimal, dict[str, Decimal]]], money_weights: bool) -> dict:
    con = duckdb.connect()
    con.execute("CREATE TABLE a (group_id INTEGER, amount DECIMAL(38, 9))")
    wtype = "DECIMAL(38, 9)" if money_weights else "DOUBLE"
    con.execute(f"CREATE TABLE w (group_id INTEGER, recipient VARCHAR, weight {wtype})")
    for g, (amount, weights) in enumerate(groups):
        con.execute("INSERT INTO a VALUES (?, ?)", [g, amount])
        for r, w in weights.items():
            con.execute("INSERT INTO w VALUES (?, ?, ?)", [g, r, w if money_weights else float(w)])
    out: dict = {}
    for g, r, amount in split(con, "a", "w", money_weights=money_weights):
        out.setdefault(g, {})[r] = amount
    return out


amounts = st.one_of(
    st.decimals(min_value=Decimal("-1000"), max_value=Decimal("1000"), places=9),
    st.decimals(min_value=Decimal("-9e9"), max_value=Decimal("9e9"), places=9),  # past 2^53 nano-units
    st.sampled_from([Decimal(0), Decimal("0.000000001"), Decimal("-0.000000001"), Decimal("123456789.987654321")]),
)
money_weights_st = st.dictionaries(st.sampled_from(["a", "b", "c", "d", "e"]),
                                   st.one_of(st.decimals(min_value=Decimal("-5"), max_value=Decimal("1e6"),
                                                         places=9),
                                             st.sampled_from([Decimal(0), Decimal("3.000000001")])),
                                   min_size=1, max_size=5)


@settings(max_examples=150, deadline=None)
@given(groups=st.lists(st.tuples(amounts, money_weights_st), min_size=1, max_size=6))
def test_split_with_money_weights_is_exact(groups):
    got = _split_in_duckdb(groups, money_weights=True)
    for g, (amount, weights) in enumerate(groups):
        expected = _python_split(amount, {r: int(w * NANO) for r, w in weights.items()})
        assert got[g] == expected
        assert sum(got[g].values()) == amount


@settings(max_examples=100, deadline=None)
@given(groups=st.lists(st.tuples(amounts, st.dictionaries(st.sampled_from(["s1", "s2", "s3", "s4"]),
                                                           st.integers(0, 360_000), min_size=1, max_size=4)),
                       min_size=1, max_size=6))
def test_split_with_number_weights_is_exact(groups):
    got = _split_in_duckdb([(a, {r: Decimal(w) for r, w in ws.items()}) for a, ws in groups], money_weights=False)
    for g, (amount, weights) in enumerate(groups):
        assert got[g] == _python_split(amount, {r: w * NANO for r, w in weights.items()})


def test_split_estimates_that_miss_take_the_exact_path():
    """Quotients near 10^18 nano-units: the DOUBLE estimate is off by more than one, the division runs."""
    rng = random.Random(7)
    groups = [(Decimal(rng.randrange(10 ** 17, 10 ** 19)) / NANO * (1 if i % 2 else -1),
               {r: Decimal(rng.randrange(1, 10 ** 15)) / NANO for r in "abcdefg"}) for i in range(40)]
    got = _split_in_duckdb(groups, money_weights=True)
    for g, (amount, weights) in enumerate(groups):
        assert got[g] == _python_split(amount, {r: int(w * NANO) for r, w in weights.items()})


@pytest.mark.parametrize("value", ["0", "0.000000001", "-0.000000001", "1.5", "-2.999999999", "9007199.254740993",
                                   "-9007199.254740993", "123456789012.123456789", "99999999999999999999.999999999",
                                   "-12345678901234567890.123456789"])
def test_money_to_nano_units_is_exact(value):
    con = duckdb.connect()
    got = con.execute(f"SELECT {money_nanos_sql(f'CAST({DUCKDB.quote(value)} AS DECIMAL(38, 9))')}").fetchone()[0]
    with localcontext() as ctx:
        ctx.prec = 60
        assert got == int(Decimal(value) * NANO)
