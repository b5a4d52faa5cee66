"""The detailed usage cost export's columns, as a BigQuery Parquet extract types them, and RowBatch -> Arrow.

Column order and types are those of a real `gcp_billing_export_resource_v1_<ACCOUNT>` table (billing.md §1.2,
§1.3; Recidiviz/pulse-data's exported schema): RECORD -> struct, REPEATED RECORD -> list<struct>,
TIMESTAMP -> timestamp[us, tz=UTC], FLOAT -> double, NUMERIC -> decimal128(38, 9), BOOLEAN -> bool.
`cost_at_effective_price_default` and `cost_at_list_consumption_model` are FLOAT, as in that real table (the
documentation page says NUMERIC).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aipipe_ops.sample import cluster as C
from aipipe_ops.sample.billing_rows import COST_TYPES, CREDIT_KINDS, SKU_LIST, ExportTables, RowBatch
from aipipe_ops.sample.skus import BASE_FACTOR, PRICING_UNIT, USAGE_UNIT

S = pa.string()
NUMERIC = pa.decimal128(38, 9)
TS = pa.timestamp("us", tz="UTC")
KV = pa.struct([("key", S), ("value", S)])
CONSUMPTION_MODEL = ("7754-699E-0EBF", "Default")  # the default consumption model id (billing export docs)

SCHEMA = pa.schema([
    ("billing_account_id", S),
    ("service", pa.struct([("id", S), ("description", S)])),
    ("sku", pa.struct([("id", S), ("description", S)])),
    ("usage_start_time", TS),
    ("usage_end_time", TS),
    ("project", pa.struct([("id", S), ("number", S), ("name", S), ("labels", pa.list_(KV)),
                           ("ancestry_numbers", S),
                           ("ancestors", pa.list_(pa.struct([("resource_name", S), ("display_name", S)])))])),
    ("labels", pa.list_(KV)),
    ("system_labels", pa.list_(KV)),
    ("location", pa.struct([("location", S), ("country", S), ("region", S), ("zone", S)])),
    ("resource", pa.struct([("name", S), ("global_name", S)])),
    ("tags", pa.list_(pa.struct([("key", S), ("value", S), ("inherited", pa.bool_()), ("namespace", S)]))),
    ("price", pa.struct([("effective_price", NUMERIC), ("tier_start_amount", NUMERIC), ("unit", S),
                         ("pricing_unit_quantity", NUMERIC), ("list_price", NUMERIC),
                         ("effective_price_default", NUMERIC), ("list_price_consumption_model", NUMERIC)])),
    ("subscription", pa.struct([("instance_id", S)])),
    ("transaction_type", S),
    ("seller_name", S),
    ("export_time", TS),
    ("cost", pa.float64()),
    ("currency", S),
    ("currency_conversion_rate", pa.float64()),
    ("usage", pa.struct([("amount", pa.float64()), ("unit", S), ("amount_in_pricing_units", pa.float64()),
                         ("pricing_unit", S)])),
    ("credits", pa.list_(pa.struct([("name", S), ("amount", pa.float64()), ("full_name", S), ("id", S),
                                    ("type", S)]))),
    ("invoice", pa.struct([("month", S), ("publisher_type", S)])),
    ("cost_type", S),
    ("adjustment_info", pa.struct([("id", S), ("description", S), ("mode", S), ("type", S)])),
    ("cost_at_list", pa.float64()),
    ("consumption_model", pa.struct([("id", S), ("description", S), ("applied_subscription_instance_id", S)])),
    ("cost_at_effective_price_default", pa.float64()),
    ("cost_at_list_consumption_model", pa.float64()),
])

PROJECT = {
    "id": C.PROJECT_ID, "number": C.PROJECT_NUMBER, "name": C.PROJECT_ID,
    "labels": [{"key": k, "value": v} for k, v in C.PROJECT_LABELS],
    "ancestry_numbers": C.PROJECT_ANCESTRY,
    "ancestors": [{"resource_name": f"projects/{C.PROJECT_NUMBER}", "display_name": C.PROJECT_ID},
                  {"resource_name": C.FOLDER[0], "display_name": C.FOLDER[1]},
                  {"resource_name": C.ORGANIZATION[0], "display_name": C.ORGANIZATION[1]}],
}
TAGS = [{"key": k, "value": v, "inherited": i, "namespace": ns} for k, v, i, ns in C.PROJECT_TAGS]


def price_record(sku) -> dict | None:
    if sku.resource == "tax":
        return None
    price = Decimal(sku.price_nanos).scaleb(-9)
    return {"effective_price": price, "tier_start_amount": Decimal(0), "unit": PRICING_UNIT[sku.resource],
            "pricing_unit_quantity": Decimal(1), "list_price": price, "effective_price_default": price,
            "list_price_consumption_model": price}


def _field_type(name: str) -> pa.DataType:
    return SCHEMA.field(name).type


def _take(values: list, idx: np.ndarray, name: str) -> pa.Array:
    """Rows pick entries of a small table; index -1 gives NULL."""
    table = pa.array(values, type=_field_type(name))
    indices = pa.array(idx, type=pa.int32(), mask=idx < 0)
    return pc.take(table, indices)


def to_arrow(b: RowBatch, t: ExportTables) -> pa.Table:
    n = len(b)
    zeros = np.zeros(n, dtype=np.int64)
    resource_kind = [s.resource for s in SKU_LIST]
    cost = b.cost / 1e6
    base = np.array([BASE_FACTOR[r] for r in resource_kind])[b.sku]
    div = np.array([float(s.divisor) for s in SKU_LIST])[b.sku]
    amount = b.usage * base
    usage = pa.StructArray.from_arrays(
        [pa.array(amount),
         pc.take(pa.array([USAGE_UNIT.get(r) for r in resource_kind], S), pa.array(b.sku)),
         pa.array(b.usage / div),
         pc.take(pa.array([PRICING_UNIT.get(r) for r in resource_kind], S), pa.array(b.sku))],
        fields=list(_field_type("usage")), mask=pa.array(~b.has_usage))
    has_credit = b.credit_kind >= 0
    offsets = np.concatenate([[0], np.cumsum(has_credit)]).astype(np.int32)
    kinds = b.credit_kind[has_credit]
    credit_struct = _field_type("credits").value_type
    credit_values = pa.StructArray.from_arrays(
        [pc.take(pa.array([k[0] for k in CREDIT_KINDS], S), pa.array(kinds)),
         pa.array(b.credit[has_credit] / 1e6),
         pc.take(pa.array([k[1] for k in CREDIT_KINDS], S), pa.array(kinds)),
         pc.take(pa.array([k[2] for k in CREDIT_KINDS], S), pa.array(kinds)),
         pc.take(pa.array([k[3] for k in CREDIT_KINDS], S), pa.array(kinds))],
        fields=list(credit_struct))
    credits = pa.ListArray.from_arrays(pa.array(offsets), credit_values, type=_field_type("credits"))
    columns = {
        "billing_account_id": pa.array(np.full(n, C.BILLING_ACCOUNT, dtype=object), S),
        "service": _take([{"id": s.service[0], "description": s.service[1]} for s in SKU_LIST], b.sku, "service"),
        "sku": _take([{"id": s.sku_id, "description": s.description} for s in SKU_LIST], b.sku, "sku"),
        "usage_start_time": pa.array(b.start * 1_000_000, TS),
        "usage_end_time": pa.array(b.end * 1_000_000, TS),
        "project": _take([PROJECT], zeros, "project"),
        "labels": _take([[{"key": k, "value": v} for k, v in ls] for ls in t.labelsets], b.labelset, "labels"),
        "system_labels": _take([[{"key": k, "value": v} for k, v in m] for m in t.machines], b.machine,
                               "system_labels"),
        "location": _take([{"location": a, "country": c, "region": r, "zone": z} for a, c, r, z in t.locations],
                          b.location, "location"),
        "resource": _take([{"name": nm, "global_name": g} for nm, g in t.resources], b.resource, "resource"),
        "tags": _take([TAGS], zeros, "tags"),
        "price": _take([price_record(s) for s in SKU_LIST], np.where(b.has_usage, b.sku, -1), "price"),
        "subscription": _take([{"instance_id": s} for s in t.subscriptions], b.subscription, "subscription"),
        "transaction_type": _take(["GOOGLE"], np.where(b.cost_type != 1, 0, -1), "transaction_type"),
        "seller_name": pa.nulls(n, S),
        "export_time": pa.array(b.export_us, TS),
        "cost": pa.array(cost),
        "currency": pa.array(np.full(n, C.CURRENCY, dtype=object), S),
        "currency_conversion_rate": pa.array(np.ones(n)),
        "usage": usage,
        "credits": credits,
        "invoice": _take([{"month": m, "publisher_type": "GOOGLE"} for m in t.months], b.invoice, "invoice"),
        "cost_type": _take(list(COST_TYPES), b.cost_type, "cost_type"),
        "adjustment_info": _take([{"id": a, "description": d, "mode": m, "type": ty} for a, d, m, ty in t.adjustments],
                                 b.adjustment, "adjustment_info"),
        "cost_at_list": pa.array(cost),
        "consumption_model": _take([{"id": CONSUMPTION_MODEL[0], "description": CONSUMPTION_MODEL[1],
                                     "applied_subscription_instance_id": None}],
                                   np.where(b.has_usage, 0, -1), "consumption_model"),
        "cost_at_effective_price_default": pa.array(cost),
        "cost_at_list_consumption_model": pa.array(cost),
    }
    return pa.Table.from_arrays([columns[f.name] for f in SCHEMA], schema=SCHEMA)
