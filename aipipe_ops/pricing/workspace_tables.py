"""The pricing data contracts in the workspace: `prices` (the price book, one row per SKU and region) and
`estimate_lines` (the last saved estimate). Each load replaces the table's rows in one transaction."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from aipipe_ops.pricing.estimate import Estimate
from aipipe_ops.pricing.price_book import PriceBook
from aipipe_ops.workspace import Workspace

if TYPE_CHECKING:
    from aipipe_ops.pricing.actuals import Planned

PRICE_COLUMNS = ("sku_id", "service", "description", "region", "resource_kind", "family", "usage_type", "unit",
                 "unit_price", "currency", "effective_time", "source")
ESTIMATE_COLUMNS = ("resource", "component", "quantity", "unit", "hourly_min", "hourly_max", "monthly_min",
                    "monthly_max", "sku_id")


def load_prices_table(workspace: Workspace, book: PriceBook) -> int:
    rows = [tuple(row[c] if c != "effective_time" else (row[c] or None) for c in PRICE_COLUMNS)
            for row in book.rows()]
    placeholders = ", ".join("?" for _ in PRICE_COLUMNS)
    with workspace.transaction() as con:
        con.execute("DELETE FROM prices")
        if rows:
            con.executemany(f"INSERT INTO prices ({', '.join(PRICE_COLUMNS)}) VALUES ({placeholders})", rows)
        con.execute("INSERT INTO loads SELECT coalesce(max(load_id), 0) + 1, 'prices', ?, current_timestamp, ?, ? "
                    "FROM loads", [str(book.path), len(rows), book.header.get("fetchedAt") or book.header.get("date")])
    return len(rows)


def _money(value: Decimal | None) -> Decimal | None:
    # The columns are DECIMAL(38, 12); a disk's hourly cost (monthly / 730) does not terminate.
    return None if value is None else value.quantize(Decimal("0.000000000001"))


def save_estimate_lines(workspace: Workspace, estimate: Estimate, planned: "Planned | None" = None) -> int:
    """Quantity is the maximum (what runs at the autoscaling maximum); an unpriced line has NULL amounts.

    With `planned` (actuals.py), a `loads` row of kind 'estimate' records the stack and where each line sits in
    the bill (cluster, node pool, kind), which the pipeline cost report's estimate-vs-actual section reads."""
    rows = [(line.resource, line.component, float(line.quantity_max), line.unit, _money(line.hourly_min),
             _money(line.hourly_max), _money(line.monthly_min), _money(line.monthly_max),
             line.price.sku_id if line.price else None)
            for line in estimate.lines]
    placeholders = ", ".join("?" for _ in ESTIMATE_COLUMNS)
    with workspace.transaction() as con:
        con.execute("DELETE FROM estimate_lines")
        if rows:
            con.executemany(f"INSERT INTO estimate_lines ({', '.join(ESTIMATE_COLUMNS)}) VALUES ({placeholders})",
                            rows)
        if planned is not None:
            from aipipe_ops.pricing.actuals import SAVED_KIND, saved_record

            con.execute("INSERT INTO loads SELECT coalesce(max(load_id), 0) + 1, ?, ?, current_timestamp, ?, ? "
                        "FROM loads", [SAVED_KIND, estimate.plan_source, len(rows), saved_record(planned)])
    return len(rows)
