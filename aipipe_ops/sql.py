"""SQL text for aipipe's two engines: literals, the money type, and the few spellings in which DuckDB and
BigQuery differ, so that every query is written once. This module imports nothing of aipipe's: every layer
(the workspace, lineage, billing, reports) builds its SQL with it.

Each method returns SQL text. DuckDB reads repeated records with list functions (list_transform,
list_position), which ENVIRONMENT.md measured 40x faster than UNNEST there; BigQuery reads them with correlated
UNNEST subqueries, Google's own pattern (reference/billing.md §4: one subquery per row, never a join that fans
out). Both mean the same thing: a label's value is the value of the first element of `labels` with that key
(NULL when there is none), and a row's credits are the sum of its own credits, each cast to money first.

How an engine finds the labels: `label_columns(keys)` returns the extra per-row columns it needs for all the
wanted keys, computed once per row beside the export's own columns (none in BigQuery), as a list of projections
each reading the one before, and `label(key, keys)` the expression that reads one label with them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

# Exact money: 38 digits, 9 places (BigQuery's NUMERIC), in every table and every sum.
MONEY = "DECIMAL(38, 9)"
PACIFIC = "America/Los_Angeles"  # Google's billing day (US/Pacific)


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class DuckDBSql:
    name = "duckdb"
    money_type = MONEY
    timestamp_type = "TIMESTAMPTZ"
    string_type = "VARCHAR"

    def quote(self, text: str) -> str:
        if "\x00" in text:  # SQL text cannot hold NUL: the string is spelled as a concatenation around chr(0)
            return "(" + " || chr(0) || ".join(self.quote(part) for part in text.split("\x00")) + ")"
        return "'" + text.replace("'", "''") + "'"

    def literal(self, value) -> str:
        """A Python value as a DuckDB SQL literal. The billing statements inline their few values instead of
        binding parameters: the first bound parameter makes DuckDB's Python client import pandas (0.3-0.6 s
        here), a cost every `billing load` and `costs` would pay for nothing."""
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, Decimal):
            return f"CAST({self.quote(str(value))} AS {self.money_type})"
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                raise ValueError(f"naive datetime {value!r}: aipipe stores instants")
            return self.timestamp(value)
        if isinstance(value, dt.date):
            return f"DATE '{value.isoformat()}'"
        if isinstance(value, str):
            return self.quote(value)
        if isinstance(value, (list, tuple)):
            return "[" + ", ".join(self.literal(v) for v in value) + "]"
        raise TypeError(f"no SQL literal for {type(value).__name__}")

    def inline(self, sql: str, args) -> str:
        """`sql` with each ? placeholder (outside quoted text) replaced by the literal of the next of `args`: a
        parameterised statement run without binding (see literal)."""
        out, values, quote = [], list(args), None
        for ch in sql:
            if quote:
                quote = None if ch == quote else quote
            elif ch in "'\"":
                quote = ch
            elif ch == "?":
                if not values:
                    raise ValueError(f"more ? placeholders than the {len(args)} value(s) given")
                ch = self.literal(values.pop(0))
            out.append(ch)
        if values:
            raise ValueError(f"{len(values)} value(s) left over: fewer ? placeholders than values")
        return "".join(out)

    def col(self, path: str) -> str:
        return ".".join(f'"{p}"' for p in path.split("."))

    # One pass over each row's labels for all the keys, instead of one list_filter per key (each costs about as
    # much as reading the labels): the lambda gives every element the number of its key among the wanted ones
    # (0 for any other key), list_position finds the first element with that number, natively, and the value is
    # read there through a cast that keeps only the struct's `value` field (no copy of the keys). A label is
    # looked up only in rows that carry its key: the row's bit mask of the numbers present (list_bit_or) says
    # which (a row carries 4-6 of the 14 keys; most carry no run or step label). The positions are those of the
    # exact key strings, so the value is list_filter(labels, l.key = key)[1].value, duplicates and NULL elements
    # included. docs/billing.md "Performance" has the measurements.
    LABEL_CODES = "_label_codes"
    LABEL_VALUES = "_label_values"
    LABEL_MASK = "_label_mask"

    def label_columns(self, keys: tuple[str, ...]) -> list[list[str]]:
        if len(keys) > 62:
            raise ValueError("at most 62 label keys fit the BIGINT bit mask")
        case = " ".join(f"WHEN {self.quote(k)} THEN {i}" for i, k in enumerate(keys, 1))
        return [[f"list_transform(labels, lambda l: CASE l.key {case} ELSE 0 END) AS {self.LABEL_CODES}",
                 f'CAST(labels AS STRUCT("value" VARCHAR)[]) AS {self.LABEL_VALUES}'],
                [f"list_bit_or(list_transform({self.LABEL_CODES}, lambda c: CAST(1 AS BIGINT) << c)) "
                 f"AS {self.LABEL_MASK}"]]

    def kept_labels(self, drop_keys: tuple[str, ...], drop_prefixes: tuple[str, ...]) -> str:
        """The row's other labels as one text, `key<RS>value` sorted and joined by <US> (NULL when none): the same
        text the BigQuery spelling gives."""
        keep = " AND ".join([f"l.key NOT IN ({', '.join(self.quote(k) for k in drop_keys)})",
                             *(f"NOT starts_with(l.key, {self.quote(p)})" for p in drop_prefixes)])
        return (f"nullif(array_to_string(list_sort(list_transform(list_filter(labels, lambda l: {keep}), "
                f"lambda l: l.key || chr(30) || l.value)), chr(31)), '')")

    def label(self, key: str, keys: tuple[str, ...]) -> str:
        code = keys.index(key) + 1
        return (f"CASE WHEN ({self.LABEL_MASK} & {1 << code}) <> 0 "
                f"THEN {self.LABEL_VALUES}[list_position({self.LABEL_CODES}, {code})].value END")

    def credit_sum(self, types: tuple[str, ...] = ()) -> str:
        """Σ of a row's credits (of `types` only, when given: credits.type)."""
        # Most rows carry no credit: list_sum (an aggregate per row) runs only for those that do.
        credits = "credits"
        if types:
            credits = f"list_filter(credits, lambda c: c.type IN ({', '.join(self.quote(t) for t in types)}))"
        return (f"CASE WHEN len(credits) = 0 THEN CAST(0 AS {self.money_type}) ELSE "
                f"coalesce(list_sum(list_transform({credits}, lambda c: CAST(c.amount AS {self.money_type}))), "
                f"CAST(0 AS {self.money_type})) END")

    def money(self, expr: str) -> str:
        return f"CAST({expr} AS {self.money_type})"

    def ts(self, expr: str) -> str:
        return f"CAST({expr} AS TIMESTAMPTZ)"

    def pacific_day(self, ts_expr: str) -> str:
        return f"CAST(timezone('{PACIFIC}', {ts_expr}) AS DATE)"

    def timestamp(self, value: dt.datetime) -> str:
        return f"TIMESTAMPTZ '{value.astimezone(dt.timezone.utc).isoformat(sep=' ')}'"

    def null(self, type_name: str) -> str:
        return f"CAST(NULL AS {type_name})"


class BigQuerySql:
    name = "bigquery"
    # NUMERIC is (38, 9) in BigQuery; spelled out because the parameterised form also pins engines that
    # emulate BigQuery on other decimal defaults (bqemulator's bare NUMERIC keeps 3 places).
    money_type = "NUMERIC(38, 9)"
    timestamp_type = "TIMESTAMP"
    string_type = "STRING"

    def quote(self, text: str) -> str:
        return _quote(text)

    def col(self, path: str) -> str:
        return ".".join(f"`{p}`" for p in path.split("."))

    def label_columns(self, keys: tuple[str, ...]) -> list[list[str]]:
        return []

    def label(self, key: str, keys: tuple[str, ...]) -> str:
        return f"(SELECT l.value FROM UNNEST(labels) AS l WHERE l.key = {self.quote(key)} LIMIT 1)"

    def kept_labels(self, drop_keys: tuple[str, ...], drop_prefixes: tuple[str, ...]) -> str:
        """As DuckDbSql.kept_labels, in BigQuery's spelling."""
        keep = " AND ".join([f"l.key NOT IN ({', '.join(self.quote(k) for k in drop_keys)})",
                             *(f"NOT STARTS_WITH(l.key, {self.quote(p)})" for p in drop_prefixes)])
        return (f"NULLIF(ARRAY_TO_STRING(ARRAY(SELECT CONCAT(l.key, CODE_POINTS_TO_STRING([30]), l.value) AS kv "
                f"FROM UNNEST(labels) AS l WHERE {keep} ORDER BY kv), CODE_POINTS_TO_STRING([31])), '')")

    def credit_sum(self, types: tuple[str, ...] = ()) -> str:
        """Σ of a row's credits (of `types` only, when given: credits.type)."""
        where = f" WHERE c.type IN ({', '.join(self.quote(t) for t in types)})" if types else ""
        return f"IFNULL((SELECT SUM(CAST(c.amount AS {self.money_type})) FROM UNNEST(credits) AS c{where}), 0)"

    def money(self, expr: str) -> str:
        return f"CAST({expr} AS {self.money_type})"

    def ts(self, expr: str) -> str:
        return expr

    def pacific_day(self, ts_expr: str) -> str:
        return f"DATE({ts_expr}, '{PACIFIC}')"

    def timestamp(self, value: dt.datetime) -> str:
        return f"TIMESTAMP '{value.astimezone(dt.timezone.utc).strftime('%Y-%m-%d %H:%M:%S+00')}'"

    def null(self, type_name: str) -> str:
        return f"CAST(NULL AS {type_name})"


DUCKDB = DuckDBSql()
BIGQUERY = BigQuerySql()


def usage_days(since: dt.date | None, until: dt.date | None, column: str = "usage_day") -> str:
    """The condition selecting US/Pacific usage days in [since, until] (either open when None), values inlined."""
    conditions = ["true"]
    if since:
        conditions.append(f"{column} >= {DUCKDB.literal(since)}")
    if until:
        conditions.append(f"{column} <= {DUCKDB.literal(until)}")
    return " AND ".join(conditions)


def bucket_pivot(buckets, amount: str = "cost", bucket: str = "bucket") -> str:
    """One summed column per bucket (0 when the bucket has no line), for a GROUP BY over lines with a bucket."""
    return ", ".join(f"coalesce(sum({amount}) FILTER (WHERE {bucket} = '{b}'), 0) AS {b}" for b in buckets)


def sql_list(values) -> str:
    """Values as the items of an SQL IN (...) list, each a DuckDB literal."""
    return ", ".join(DUCKDB.literal(v) for v in values)
