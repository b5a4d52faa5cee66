"""The allocation of one attribution being built: the two relations every step after classification writes its money
into, named together so that a policy's signature says where its money goes.

- `lines` (LINE_COLUMNS): every cent of the window exactly once, by bucket; a run's lines carry its run and
  pipeline, another workload's its workload (docs/cost-model.md §2). The reconciliation adds these up; attribution_lines stores them.
- `detail` (bucket, DETAIL, cost): the money that was shared among runs again, by day and SKU and without runs (the
  shares in `lines` carry their scope only), for `costs --by day|sku|kind`; attribution_share_detail stores it.

Both are session temp tables shaped like their stored tables without the attribution id.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

LINE_COLUMNS = ("bucket", "run_id", "pipeline", "workload", "project", "cluster", "node_pool", "namespace", "service",
                "sku_id", "sku", "resource_kind", "usage_day", "currency", "kept_labels", "cost")
# What a classified line says about where its money came from (all of LINE_COLUMNS but bucket, run, workload and
# money).
DETAIL = ("project", "cluster", "node_pool", "namespace", "service", "sku_id", "sku", "resource_kind", "usage_day",
          "currency", "kept_labels")
# Who receives money: a pipeline run (run_id, with its pipeline) or another workload (workload), never both.
RECIPIENT = ("run_id", "pipeline", "workload")


@dataclass(frozen=True)
class Allocation:
    lines: str
    detail: str


def new_allocation(con: duckdb.DuckDBPyConnection, lines: str = "att_lines", detail: str = "att_detail") -> Allocation:
    """Reads nothing; writes `lines` and `detail`, empty, shaped as attribution_lines and attribution_share_detail
    without attribution_id."""
    for table, stored in ((lines, "attribution_lines"), (detail, "attribution_share_detail")):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {stored} WHERE false")
        con.execute(f"ALTER TABLE {table} DROP COLUMN attribution_id")
    return Allocation(lines, detail)
