"""Billing export rows for tests, in the BigQuery export's shape, written as Parquet / JSONL / CSV files or
inserted into a BigQuery table: one description of the rows, every format and engine."""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

COMPUTE = ("6F81-5844-456A", "Compute Engine")
GKE = ("CCD8-9BF1-090E", "Kubernetes Engine")
INVOICE = ("2B81-9E56-4C89", "Invoice")

STRUCT_ID_DESC = pa.struct([("id", pa.string()), ("description", pa.string())])
LABELS = pa.list_(pa.struct([("key", pa.string()), ("value", pa.string())]))
CREDITS = pa.list_(pa.struct([("name", pa.string()), ("amount", pa.float64()), ("full_name", pa.string()),
                              ("id", pa.string()), ("type", pa.string())]))
TS = pa.timestamp("us", tz="UTC")
ARROW_SCHEMA = pa.schema([
    ("billing_account_id", pa.string()),
    ("service", STRUCT_ID_DESC),
    ("sku", STRUCT_ID_DESC),
    ("usage_start_time", TS),
    ("usage_end_time", TS),
    ("project", pa.struct([("id", pa.string()), ("number", pa.string()), ("name", pa.string())])),
    ("labels", LABELS),
    ("system_labels", LABELS),
    ("location", pa.struct([("location", pa.string()), ("country", pa.string()), ("region", pa.string()),
                            ("zone", pa.string())])),
    ("export_time", TS),
    ("cost", pa.float64()),
    ("currency", pa.string()),
    ("currency_conversion_rate", pa.float64()),
    ("usage", pa.struct([("amount", pa.float64()), ("unit", pa.string())])),
    ("credits", CREDITS),
    ("invoice", pa.struct([("month", pa.string())])),
    ("cost_type", pa.string()),
    ("resource", pa.struct([("name", pa.string()), ("global_name", pa.string())])),
])


def row(*, start: dt.datetime, sku: str, cost, service=COMPUTE, sku_id: str | None = None, labels=None,
        credits=(), currency="USD", cost_type="regular", project="proj-1", invoice_month=None,
        export_time: dt.datetime | None = None, credit_type: str = "DISCOUNT", usage_amount: float = 3600.0,
        region: str = "us-central1") -> dict:
    """One export row. labels: {key: value}; credits: amounts (negative), all of `credit_type`."""
    start = start.astimezone(dt.timezone.utc)
    return {
        "billing_account_id": "012345-6789AB-CDEF01",
        "service": {"id": service[0], "description": service[1]},
        "sku": {"id": sku_id or f"SKU-{abs(hash(sku)) % 10**8:08d}", "description": sku},
        "usage_start_time": start,
        "usage_end_time": start + dt.timedelta(hours=1),
        "project": {"id": project, "number": "1234", "name": project},
        "labels": [{"key": k, "value": v} for k, v in (labels or {}).items()],
        "system_labels": [],
        "location": {"location": region, "country": "US", "region": region, "zone": None},
        "export_time": export_time or start + dt.timedelta(hours=4),
        "cost": float(cost),
        "currency": currency,
        "currency_conversion_rate": 1.0,
        "usage": {"amount": float(usage_amount), "unit": "seconds"},
        "credits": [{"name": f"credit {i}", "amount": float(a), "full_name": None, "id": f"c{i}", "type": credit_type}
                    for i, a in enumerate(credits)],
        "invoice": {"month": invoice_month or start.strftime("%Y%m")},
        "cost_type": cost_type,
        "resource": {"name": None, "global_name": None},
    }


def gke_labels(cluster="prod", pool=None, namespace=None, run=None, workflow=None, **extra) -> dict:
    labels = {"goog-k8s-cluster-name": cluster, "goog-k8s-cluster-location": "us-central1"}
    if pool:
        labels["goog-k8s-node-pool-name"] = pool
    if namespace:
        labels["k8s-namespace"] = namespace
    if run:
        labels["k8s-label/pipeline/runid"] = run
    if workflow:
        labels["k8s-label/workflows.argoproj.io/workflow"] = workflow
    labels.update(extra)
    return labels


def net_by_currency(rows: list[dict]) -> dict[str, Decimal]:
    """The export's net total per currency, exactly as Google's invoice query defines it (float -> 9 dp)."""
    out: dict[str, Decimal] = {}
    q = Decimal("0.000000001")
    for r in rows:
        net = Decimal(repr(r["cost"])).quantize(q) + sum((Decimal(repr(c["amount"])).quantize(q)
                                                          for c in r["credits"]), Decimal(0))
        out[r["currency"]] = out.get(r["currency"], Decimal(0)) + net
    return out


def drop_columns(rows: list[dict], columns: tuple[str, ...]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in columns} for r in rows]


def write_parquet(rows: list[dict], path: Path, drop: tuple[str, ...] = ()) -> Path:
    schema = pa.schema([f for f in ARROW_SCHEMA if f.name not in drop])
    pq.write_table(pa.Table.from_pylist(drop_columns(rows, drop), schema=schema), path)
    return path


def _json_value(value):
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    return value


def write_jsonl(rows: list[dict], path: Path, drop: tuple[str, ...] = ()) -> Path:
    with open(path, "w") as fh:
        for r in drop_columns(rows, drop):
            fh.write(json.dumps(_json_value(r)) + "\n")
    return path


def write_csv(rows: list[dict], path: Path, drop: tuple[str, ...] = ()) -> Path:
    """Records as dotted columns, repeated records as JSON text (TO_JSON_STRING)."""
    flat = []
    for r in drop_columns(rows, drop):
        out = {}
        for k, v in r.items():
            if k in ("labels", "credits", "system_labels"):
                out[k] = json.dumps(_json_value(v))
            elif isinstance(v, dict):
                for fk, fv in v.items():
                    out[f"{k}.{fk}"] = _json_value(fv)
            else:
                out[k] = _json_value(v) if not isinstance(v, float) else repr(v)
        flat.append(out)
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(flat[0]))
        writer.writeheader()
        writer.writerows(flat)
    return path


WRITERS = {"parquet": write_parquet, "jsonl": write_jsonl, "csv": write_csv}


def bigquery_schema():
    from google.cloud import bigquery

    F = bigquery.SchemaField

    def rec(name, *fields, mode="NULLABLE"):
        return F(name, "RECORD", mode=mode, fields=list(fields))

    kv = (F("key", "STRING"), F("value", "STRING"))
    return [
        F("billing_account_id", "STRING"),
        rec("service", F("id", "STRING"), F("description", "STRING")),
        rec("sku", F("id", "STRING"), F("description", "STRING")),
        F("usage_start_time", "TIMESTAMP"), F("usage_end_time", "TIMESTAMP"),
        rec("project", F("id", "STRING"), F("number", "STRING"), F("name", "STRING")),
        rec("labels", *kv, mode="REPEATED"), rec("system_labels", *kv, mode="REPEATED"),
        rec("location", F("location", "STRING"), F("country", "STRING"), F("region", "STRING"), F("zone", "STRING")),
        F("export_time", "TIMESTAMP"), F("cost", "FLOAT"), F("currency", "STRING"),
        F("currency_conversion_rate", "FLOAT"),
        rec("usage", F("amount", "FLOAT"), F("unit", "STRING")),
        rec("credits", F("name", "STRING"), F("amount", "FLOAT"), F("full_name", "STRING"), F("id", "STRING"),
            F("type", "STRING"), mode="REPEATED"),
        rec("invoice", F("month", "STRING")), F("cost_type", "STRING"),
        rec("resource", F("name", "STRING"), F("global_name", "STRING")),
    ]


def bigquery_json(rows: list[dict]) -> list[dict]:
    def conv(v):
        if isinstance(v, dt.datetime):
            return v.isoformat()
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v
    return [conv(r) for r in rows]
