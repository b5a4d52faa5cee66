"""The few SQL spellings in which DuckDB and BigQuery differ, so normalise.py can say everything once.

Each method returns SQL text. DuckDB reads repeated records with list functions (list_filter, list_transform),
which ENVIRONMENT.md measured 40x faster than UNNEST there; BigQuery reads them with correlated UNNEST
subqueries, Google's own pattern (reference/billing.md §4: one subquery per row, never a join that fans out).
"""

from __future__ import annotations

import datetime as dt

PACIFIC = "America/Los_Angeles"  # Google's billing day (US/Pacific)


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class DuckDBDialect:
    name = "duckdb"
    money_type = "DECIMAL(38, 9)"
    string_type = "VARCHAR"

    def quote(self, text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    def col(self, path: str) -> str:
        return ".".join(f'"{p}"' for p in path.split("."))

    def label(self, key: str) -> str:
        return f"list_filter(labels, lambda l: l.key = {self.quote(key)})[1].value"

    def credit_sum(self) -> str:
        return (f"coalesce(list_sum(list_transform(credits, lambda c: CAST(c.amount AS {self.money_type}))), "
                f"CAST(0 AS {self.money_type}))")

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


class BigQueryDialect:
    name = "bigquery"
    # NUMERIC is (38, 9) in BigQuery; spelled out because the parameterised form also pins engines that
    # emulate BigQuery on other decimal defaults (bqemulator's bare NUMERIC keeps 3 places).
    money_type = "NUMERIC(38, 9)"
    string_type = "STRING"

    def quote(self, text: str) -> str:
        return _quote(text)

    def col(self, path: str) -> str:
        return ".".join(f"`{p}`" for p in path.split("."))

    def label(self, key: str) -> str:
        return f"(SELECT l.value FROM UNNEST(labels) AS l WHERE l.key = {self.quote(key)} LIMIT 1)"

    def credit_sum(self) -> str:
        return f"IFNULL((SELECT SUM(CAST(c.amount AS {self.money_type})) FROM UNNEST(credits) AS c), 0)"

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


DUCKDB = DuckDBDialect()
BIGQUERY = BigQueryDialect()
