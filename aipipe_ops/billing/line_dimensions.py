"""DuckDB's path from export files to cost lines: each distinct combination of a line's dimensions read once.

A cost line is keyed by its usage hour, its export_time and its *dimensions*: billing account, invoice month,
project, SKU, region, currency, cost type and the label columns (normalise.KEYS). All of them are functions of a few
columns of the row and of its label list, and an export holds few distinct combinations of those (the 10.4 M-row
bench: 77 thousand). Reading a row's labels is the costly part of a row, so the load runs in two scans:

1. `dimensions_query`: one row per distinct combination of the raw values, keyed by DuckDB's 64-bit hash of them
   (DIMENSION_HASH), with every dimension column, the SKU's details, its resource kind and the digest the line
   fingerprints hash (cells.dimension_digest_sql) computed once;
2. `lines_query`: the export rows grouped by (usage hour, export_time, DIMENSION_HASH) -- fixed-width keys, the
   labels only hashed -- and, in the same scan, by export batch cell on the raw values (the control totals, which
   never see the dimension table); the dimensions are then joined to the lines on their unique key, which cannot
   drop or repeat a line.

Combinations that differ only in what a line does not keep (a pod's template hash) make one line: the lines are then
grouped again by the combination's representative (DIMENSION). Two different combinations with the same 64-bit hash
would share one combination's dimensions; docs/billing.md "Performance" gives the odds.
normalise.cost_lines_query, which reads every row's labels, is the same result by another route (BigQuery's, and
the reference the tests compare this one with).
"""

from __future__ import annotations

from aipipe_ops.billing import cells, normalise
from aipipe_ops.billing.normalise import (CELL_GROUP_KEYS, COST_LINE_COLUMNS, DETAILS, KEYS, LABEL_DERIVED_KEYS,
                                          LABEL_KEYS, STAGED_EXTRA_COLUMNS, Renderer, where_clause)
from aipipe_ops.billing.resource_kinds import kind_case_sql
from aipipe_ops.sql import DUCKDB

# The keys of a line that vary row by row; every other key is a dimension.
ROW_KEYS = ("usage_start", "export_time")
DIMENSION_KEYS = tuple(name for name, _ in KEYS if name not in ROW_KEYS)
# The dimensions read from the row's own columns: hashed as a line spells them (a key added to normalise.KEYS is
# hashed too; one read through the label lookups but not named in LABEL_DERIVED_KEYS fails loudly: the lookups'
# helper columns exist only in the first scan).
_LABEL_FREE = tuple(name for name in DIMENSION_KEYS if name not in LABEL_DERIVED_KEYS)
# The export's top-level columns the dimensions and details read.
_SOURCE_COLUMNS = ("billing_account_id", "invoice", "project", "sku", "service", "location", "currency", "cost_type",
                   "labels")
_EXPRESSIONS = dict(KEYS)  # key name -> its expression
DIMENSION_HASH = "_dimension_hash"
DIMENSION = "_dimension"  # the smallest DIMENSION_HASH of the combinations with the same DIMENSION_KEYS
SHARED = "_shared"  # does another combination have the same DIMENSION_KEYS?


def _hash_sql(r: Renderer) -> str:
    """The row's DIMENSION_HASH: its label-free dimensions as a line spells them, and its label list as exported."""
    return f"hash({', '.join(_EXPRESSIONS[n](r) for n in _LABEL_FREE)}, labels)"


def dimensions_query(source_sql: str, present: set[str], conditions: list[str]) -> str:
    """SELECT DIMENSION_HASH, DIMENSION_KEYS, the details and resource_kind: one row per distinct combination in the
    export rows `conditions` select."""
    r = Renderer(DUCKDB, present)
    columns = [c for c in _SOURCE_COLUMNS if c in {p.split(".", 1)[0] for p in present}]
    relation = (f"(SELECT {_hash_sql(r)} AS {DIMENSION_HASH}, "
                f"{', '.join(f'any_value({DUCKDB.col(c)}) AS {DUCKDB.col(c)}' for c in columns)} "
                f"FROM {source_sql} {where_clause(conditions)} GROUP BY 1)")
    for stage in DUCKDB.label_columns(LABEL_KEYS):
        relation = f"(SELECT *, {', '.join(stage)} FROM {relation})"
    derived = [f"{_EXPRESSIONS[n](r)} AS {n}" for n in DIMENSION_KEYS] + [f"{e(r)} AS {n}" for n, e in DETAILS]
    return (f"SELECT *, {kind_case_sql('service', 'sku')} AS resource_kind "
            f"FROM (SELECT {DIMENSION_HASH}, {', '.join(derived)} FROM {relation})")


def create_dimensions(con, table: str, source_sql: str, present: set[str], conditions: list[str]) -> bool:
    """Create the temp table `table` of `dimensions_query` plus each combination's DIMENSION; returns whether some
    combinations share their dimensions (so that lines need grouping again)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {dimensions_query(source_sql, present, conditions)}")
    # A window over the export scan itself would have DuckDB scan the files twice: it runs on the small table.
    same = f"OVER (PARTITION BY {', '.join(DIMENSION_KEYS)})"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT *, min({DIMENSION_HASH}) {same} AS {DIMENSION}, "
                f"count(*) {same} > 1 AS {SHARED}, {cells.dimension_digest_sql()} AS dimension_digest FROM {table}")
    return bool(con.execute(f"SELECT bool_or({SHARED}) FROM {table}").fetchone()[0])


def lines_query(source_sql: str, present: set[str], conditions: list[str], file_column: str, dimensions: str,
                collapse: bool) -> str:
    """normalise.cost_lines_query's relation (COST_LINE_COLUMNS + STAGED_EXTRA_COLUMNS) over the rows of
    `source_sql`, whose combinations `dimensions` (a table of `create_dimensions` over the same rows) holds;
    `collapse` when some of them share their dimensions."""
    r = Renderer(DUCKDB, present)
    cell_only = [n for n in CELL_GROUP_KEYS if n not in ROW_KEYS]  # billing account, invoice month, currency
    row_cols = ([f"{_EXPRESSIONS[n](r)} AS {n}" for n in ROW_KEYS + tuple(cell_only)]
                + [f"{_hash_sql(r)} AS {DIMENSION_HASH}", f"{DUCKDB.col(file_column)} AS file"]
                + normalise.money_columns(DUCKDB, present))
    line_keys = ", ".join(ROW_KEYS + (DIMENSION_HASH,))
    cell_keys = ", ".join(("file",) + CELL_GROUP_KEYS)
    # One hash over each row's values (only ever compared inside one load: file_twins).
    rows = (f"SELECT *, hash({line_keys}, cost, credits) AS row_hash "
            f"FROM (SELECT {', '.join(row_cols)} FROM {source_sql} {where_clause(conditions)})")
    grouped = (f"SELECT {line_keys}, {', '.join(cell_only)}, file, SUM(cost) AS cost, SUM(credits) AS credits, "
               f"SUM(cud_credits) AS cud_credits, SUM(usage_amount) AS usage_amount, COUNT(*) AS export_rows, "
               f"GROUPING({DIMENSION_HASH}) AS is_cell, SUM(row_hash) AS row_hash "
               f"FROM ({rows}) GROUP BY GROUPING SETS (({line_keys}), ({cell_keys}))")
    with_clause = ""
    if collapse:
        # The lines of shared combinations grouped again by their representative; the other lines and the cells as
        # they are (in a real export, the pods of Deployments and StatefulSets: a part of the lines).
        shared = f"(SELECT {DIMENSION_HASH} FROM {dimensions} WHERE {SHARED})"
        regrouped = (
            f"SELECT g.usage_start, g.export_time, d.{DIMENSION} AS {DIMENSION_HASH}, "
            f"{', '.join(f'NULL AS {n}' for n in cell_only)}, NULL AS file, SUM(g.cost) AS cost, "
            f"SUM(g.credits) AS credits, SUM(g.cud_credits) AS cud_credits, SUM(g.usage_amount) AS usage_amount, "
            f"SUM(g.export_rows) AS export_rows, 0 AS is_cell, SUM(g.row_hash) AS row_hash "
            f"FROM grouped g JOIN {dimensions} d ON d.{DIMENSION_HASH} = g.{DIMENSION_HASH} "
            f"WHERE g.is_cell = 0 AND d.{SHARED} GROUP BY g.usage_start, g.export_time, d.{DIMENSION}")
        kept = f"SELECT * FROM grouped WHERE is_cell = 1 OR {DIMENSION_HASH} NOT IN {shared}"
        with_clause = f"WITH grouped AS MATERIALIZED ({grouped}) "
        grouped = f"({regrouped}) UNION ALL BY NAME ({kept})"
    derived = {"usage_day": DUCKDB.pacific_day("l.usage_start"), "net_cost": "l.cost + l.credits"}
    # A cell's billing account, invoice month and currency are its own; a line's come with its dimensions.
    derived |= {n: f"CASE WHEN l.is_cell = 1 THEN l.{n} ELSE d.{n} END" for n in cell_only}
    from_dimension = set(DIMENSION_KEYS) | {n for n, _ in DETAILS} | {"resource_kind", "dimension_digest"}
    select = ", ".join(f"{derived[c]} AS {c}" if c in derived else f"d.{c}" if c in from_dimension else f"l.{c}"
                       for c in COST_LINE_COLUMNS + STAGED_EXTRA_COLUMNS)
    return (f"{with_clause}SELECT {select} FROM ({grouped}) AS l "
            f"LEFT JOIN {dimensions} AS d ON d.{DIMENSION_HASH} = l.{DIMENSION_HASH}")
