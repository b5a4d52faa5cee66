"""What a billing load covers: export batch cells (docs/billing.md "What a load covers").

Google appends export rows with a later `export_time` and never rewrites old ones, so a batch of rows is named by
the export itself: a *cell* is (billing account, invoice month, US/Pacific usage day, currency, export_time), and
every cost line belongs to exactly one. Each load stages, in one scan of the export, its cost lines and its cells'
control totals taken from the raw rows (rows, Σ cost, Σ credits) plus a content fingerprint, then compares the
incoming cells with the cells the workspace holds, whatever source they came through:

- same key and same totals and fingerprint: already held, its lines are not written again;
- same key and same totals, held from before the workspace's lines gained a column (no fingerprint: a migration
  dropped it): the same money, so its lines are rewritten from this load with every column (`refreshed`);
- same key, different totals: the load is refused (nothing written) unless --replace says to replace those cells;
- a new key (new days, late rows and corrections, which come with a later export_time): added.

The staged relation is a temp table `_stage` (normalise.COST_LINE_COLUMNS + STAGED_EXTRA_COLUMNS); the incoming
cells a temp table `_cells` with their status.
"""

from __future__ import annotations

from aipipe_ops.billing.normalise import CELL_GROUP_KEYS, CELL_KEYS
from aipipe_ops.sql import MONEY

STAGE = "_stage"
CELLS = "_cells"

# The content of a line the fingerprint hashes: its keys, details and sums, in a text form that depends only on the
# values (timestamps as epoch microseconds, money at the workspace's 9 places), so the Parquet file, its NDJSON twin
# and the BigQuery table the lines came from give the same fingerprint. The dimensions (every key but the usage hour
# and export_time, and the details) enter as the md5 of their text: the DuckDB load computes it once per distinct
# combination (line_dimensions.py, the staged column `dimension_digest`), any other route per line.
_FINGERPRINTED = ("billing_account", "invoice_month", "project", "service_id", "service", "sku_id", "sku", "cluster",
                  "node_pool", "namespace", "run_label", "workflow", "vertex_run", "currency", "cost_type",
                  "step_label", "workload_label", "region", "kept_labels")
# export_cells.fingerprint_version of the fingerprints computed so (NULL: version 1 hashed the dimensions' text in
# every line; `upgrade_fingerprints` recomputes those from the held lines).
FINGERPRINT_VERSION = 2


def dimension_digest_sql() -> str:
    """The md5 (hex) of a line's dimensions as text, over a relation with the _FINGERPRINTED columns."""
    return f"md5(concat_ws(chr(31), {', '.join(f'coalesce(CAST({c} AS VARCHAR), chr(30))' for c in _FINGERPRINTED)}))"


def _line_fingerprint_sql(digest_column: str | None = "dimension_digest") -> str:
    """A line's 64-bit fingerprint; `digest_column` holds its dimension digest where computed already (NULL
    elsewhere), None computes it here."""
    digest = dimension_digest_sql()
    if digest_column:
        digest = f"coalesce({digest_column}, {digest})"
    parts = [digest, "coalesce(CAST(epoch_us(usage_start) AS VARCHAR), chr(30))",
             "coalesce(CAST(epoch_us(export_time) AS VARCHAR), chr(30))",
             f"CAST(CAST(cost AS {MONEY}) AS VARCHAR)", f"CAST(CAST(credits AS {MONEY}) AS VARCHAR)",
             "CAST(export_rows AS VARCHAR)"]
    # md5_number_lower, computed arithmetically: DuckDB's macro reaches the same 64 bits through a bit string and
    # text, which costs as much as the md5 itself.
    return f"CAST(md5_number(concat_ws(chr(31), {', '.join(parts)})) >> 64 AS UBIGINT)"


def upgrade_fingerprints(con) -> int:
    """Recompute, from the lines the workspace holds, the fingerprints of cells fingerprinted by an older form (a
    workspace from before FINGERPRINT_VERSION): the same lines give the same fingerprint as a load of their source
    would now, so a reload still finds them held. Returns the number of cells upgraded."""
    keys = ("load_id",) + CELL_KEYS
    pending = f"(SELECT {', '.join(keys)} FROM export_cells WHERE fingerprint IS NOT NULL AND fingerprint_version IS NULL)"
    n = con.execute(f"SELECT count(*) FROM {pending}").fetchone()[0]
    if n:
        con.execute(f"""
            UPDATE export_cells e SET fingerprint = f.fingerprint, fingerprint_version = {FINGERPRINT_VERSION}
            FROM (SELECT {', '.join(f'l.{k}' for k in keys)}, sum({_line_fingerprint_sql(None)}) AS fingerprint
                  FROM cost_lines l SEMI JOIN {pending} p ON {same(keys, 'l', 'p')}
                  GROUP BY {', '.join(f'l.{k}' for k in keys)}) f
            WHERE {same(keys, 'e', 'f')} AND e.fingerprint IS NOT NULL AND e.fingerprint_version IS NULL
        """)
    return int(n)


def same(keys, a: str, b: str) -> str:
    """NULL-safe equality of `keys` between aliases a and b (a billing account or export_time may be NULL)."""
    return " AND ".join(f"{a}.{k} IS NOT DISTINCT FROM {b}.{k}" for k in keys)


def file_twins(con) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Files of this load whose rows another file of the load holds too: ({twin: the file kept}, [(file, file)
    pairs that share some but not all of their batch cells])."""
    keys = CELL_GROUP_KEYS
    rows = con.execute(f"""
        WITH fc AS (SELECT file, {', '.join(keys)}, export_rows, cost, credits, row_hash
                    FROM {STAGE} WHERE is_cell = 1),
             sizes AS (SELECT file, count(*) AS n FROM fc GROUP BY file),
             pairs AS (SELECT a.file AS twin, b.file AS kept, count(*) AS n FROM fc a JOIN fc b
                       ON a.file > b.file AND {same(keys, 'a', 'b')} AND a.export_rows = b.export_rows
                      AND a.cost = b.cost AND a.credits = b.credits AND a.row_hash = b.row_hash
                       GROUP BY a.file, b.file)
        SELECT p.twin, p.kept, p.n = s.n AS whole FROM pairs p JOIN sizes s ON s.file = p.twin ORDER BY 1, 2
    """).fetchall()
    twins: dict[str, str] = {}
    partial = []
    for twin, kept, whole in rows:
        if whole:
            twins.setdefault(twin, kept)
        else:
            partial.append((twin, kept))
    return twins, [p for p in partial if p[0] not in twins]


def build_cells(con, replace: bool) -> None:
    """`_cells`: the incoming cells (control totals from the cell rows of `_stage`, fingerprint from its lines), each
    with its status against the held cells: new | held | conflict (| replaced under --replace) and the source(s)
    holding a conflicting cell."""
    keys = ", ".join(CELL_KEYS)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {CELLS} AS
        WITH c AS (SELECT {keys}, sum(export_rows) AS rows, sum(cost) AS cost, sum(credits) AS credits
                   FROM {STAGE} WHERE is_cell = 1 GROUP BY ALL),
             f AS (SELECT {keys}, sum({_line_fingerprint_sql()}) AS fingerprint
                   FROM {STAGE} WHERE is_cell = 0 GROUP BY ALL),
             h AS (SELECT {keys}, sum(rows) AS rows, sum(cost) AS cost, sum(credits) AS credits,
                          sum(fingerprint) AS fingerprint, string_agg(DISTINCT source, ', ') AS sources
                   FROM export_cells GROUP BY ALL)
        SELECT {', '.join(f'c.{k}' for k in CELL_KEYS)}, c.rows, c.cost, c.credits, c.cost + c.credits AS net_cost,
               f.fingerprint,
               CASE WHEN h.rows IS NULL THEN 'new'
                    WHEN h.rows = c.rows AND h.cost = c.cost AND h.credits = c.credits
                         AND h.fingerprint IS NULL THEN 'refreshed'
                    WHEN h.rows = c.rows AND h.cost = c.cost AND h.credits = c.credits
                         AND h.fingerprint = f.fingerprint THEN 'held'
                    WHEN {'true' if replace else 'false'} THEN 'replaced'
                    ELSE 'conflict' END AS status,
               h.sources AS held_by, h.rows AS held_rows, h.cost + h.credits AS held_net
        FROM c LEFT JOIN f ON {same(CELL_KEYS, 'c', 'f')} LEFT JOIN h ON {same(CELL_KEYS, 'c', 'h')}
    """)



def conflict_message(con, source: str) -> str | None:
    """None when no incoming cell conflicts with a held one, else what overlaps and how to replace it."""
    rows = con.execute(f"""
        SELECT held_by, currency, min(usage_day), max(usage_day), min(export_time), max(export_time), count(*),
               sum(rows), sum(held_rows), sum(net_cost), sum(held_net)
        FROM {CELLS} WHERE status = 'conflict' GROUP BY held_by, currency ORDER BY 1, 2
    """).fetchall()
    if not rows:
        return None
    parts = [f"{n} export batch(es) of usage days {d0} to {d1} ({cur}), export_time {t0} to {t1}, held from {by} "
             f"with {held_rows} rows and net {held_net}, arrive with {new_rows} rows and net {new_net}"
             for by, cur, d0, d1, t0, t1, n, new_rows, held_rows, new_net, held_net in rows]
    return (f"--billing {source}: refused, nothing was loaded: it holds the same export batches as rows already "
            f"loaded but with different content: {'; '.join(parts)}. A load that holds only part of a batch is "
            f"refused rather than deleting the rest: load every file of an extract together (a directory or a glob). "
            f"To replace those batches on purpose, load again with --replace; `aipipe billing sources` lists what "
            f"the workspace holds")


def remove_replaced(con) -> list[int]:
    """Delete the held lines and cells that `replaced` and `refreshed` cells replace (whatever source holds them);
    returns the load ids whose totals changed."""
    keys = ", ".join(CELL_KEYS)
    gone = f"(SELECT {keys} FROM {CELLS} WHERE status IN ('replaced', 'refreshed'))"
    load_ids = [r[0] for r in con.execute(
        f"SELECT DISTINCT e.load_id FROM export_cells e SEMI JOIN {gone} g ON {same(CELL_KEYS, 'e', 'g')}").fetchall()]
    con.execute(f"DELETE FROM cost_lines e WHERE EXISTS (SELECT 1 FROM {gone} g WHERE {same(CELL_KEYS, 'e', 'g')})")
    con.execute(f"DELETE FROM export_cells e WHERE EXISTS (SELECT 1 FROM {gone} g WHERE {same(CELL_KEYS, 'e', 'g')})")
    return load_ids


def refresh_totals(con, load_ids) -> None:
    """billing_export_totals of these loads, again from their cells (reconcile.py reads that table)."""
    ids = [int(i) for i in load_ids if i is not None]
    if not ids:
        return
    in_list = ", ".join(str(i) for i in ids)
    con.execute(f"DELETE FROM billing_export_totals WHERE load_id IN ({in_list})")
    con.execute(f"""
        INSERT INTO billing_export_totals (load_id, source, usage_day, invoice_month, currency, cost, credits,
                                           net_cost, export_rows)
        SELECT load_id, source, usage_day, invoice_month, currency, sum(cost), sum(credits), sum(net_cost), sum(rows)
        FROM export_cells WHERE load_id IN ({in_list})
        GROUP BY load_id, source, usage_day, invoice_month, currency
    """)
