"""The billing files carry every column of the detailed export schema, in Parquet and in BigQuery's NDJSON."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq

# The detailed usage cost export as BigQuery lists it (a real gcp_billing_export_resource_v1_* table;
# billing.md §1.2-1.3). (name, BigQuery type, mode, subfields)
KV = [("key", "STRING", "NULLABLE", None), ("value", "STRING", "NULLABLE", None)]
EXPORT_SCHEMA = [
    ("billing_account_id", "STRING", "NULLABLE", None),
    ("service", "RECORD", "NULLABLE", [("id", "STRING", "NULLABLE", None),
                                       ("description", "STRING", "NULLABLE", None)]),
    ("sku", "RECORD", "NULLABLE", [("id", "STRING", "NULLABLE", None),
                                   ("description", "STRING", "NULLABLE", None)]),
    ("usage_start_time", "TIMESTAMP", "NULLABLE", None),
    ("usage_end_time", "TIMESTAMP", "NULLABLE", None),
    ("project", "RECORD", "NULLABLE", [
        ("id", "STRING", "NULLABLE", None), ("number", "STRING", "NULLABLE", None),
        ("name", "STRING", "NULLABLE", None), ("labels", "RECORD", "REPEATED", KV),
        ("ancestry_numbers", "STRING", "NULLABLE", None),
        ("ancestors", "RECORD", "REPEATED", [("resource_name", "STRING", "NULLABLE", None),
                                             ("display_name", "STRING", "NULLABLE", None)])]),
    ("labels", "RECORD", "REPEATED", KV),
    ("system_labels", "RECORD", "REPEATED", KV),
    ("location", "RECORD", "NULLABLE", [("location", "STRING", "NULLABLE", None),
                                        ("country", "STRING", "NULLABLE", None),
                                        ("region", "STRING", "NULLABLE", None), ("zone", "STRING", "NULLABLE", None)]),
    ("resource", "RECORD", "NULLABLE", [("name", "STRING", "NULLABLE", None),
                                        ("global_name", "STRING", "NULLABLE", None)]),
    ("tags", "RECORD", "REPEATED", [("key", "STRING", "NULLABLE", None), ("value", "STRING", "NULLABLE", None),
                                    ("inherited", "BOOLEAN", "NULLABLE", None),
                                    ("namespace", "STRING", "NULLABLE", None)]),
    ("price", "RECORD", "NULLABLE", [
        ("effective_price", "NUMERIC", "NULLABLE", None), ("tier_start_amount", "NUMERIC", "NULLABLE", None),
        ("unit", "STRING", "NULLABLE", None), ("pricing_unit_quantity", "NUMERIC", "NULLABLE", None),
        ("list_price", "NUMERIC", "NULLABLE", None), ("effective_price_default", "NUMERIC", "NULLABLE", None),
        ("list_price_consumption_model", "NUMERIC", "NULLABLE", None)]),
    ("subscription", "RECORD", "NULLABLE", [("instance_id", "STRING", "NULLABLE", None)]),
    ("transaction_type", "STRING", "NULLABLE", None),
    ("seller_name", "STRING", "NULLABLE", None),
    ("export_time", "TIMESTAMP", "NULLABLE", None),
    ("cost", "FLOAT", "NULLABLE", None),
    ("currency", "STRING", "NULLABLE", None),
    ("currency_conversion_rate", "FLOAT", "NULLABLE", None),
    ("usage", "RECORD", "NULLABLE", [("amount", "FLOAT", "NULLABLE", None), ("unit", "STRING", "NULLABLE", None),
                                     ("amount_in_pricing_units", "FLOAT", "NULLABLE", None),
                                     ("pricing_unit", "STRING", "NULLABLE", None)]),
    ("credits", "RECORD", "REPEATED", [("name", "STRING", "NULLABLE", None), ("amount", "FLOAT", "NULLABLE", None),
                                       ("full_name", "STRING", "NULLABLE", None), ("id", "STRING", "NULLABLE", None),
                                       ("type", "STRING", "NULLABLE", None)]),
    ("invoice", "RECORD", "NULLABLE", [("month", "STRING", "NULLABLE", None),
                                       ("publisher_type", "STRING", "NULLABLE", None)]),
    ("cost_type", "STRING", "NULLABLE", None),
    ("adjustment_info", "RECORD", "NULLABLE", [("id", "STRING", "NULLABLE", None),
                                               ("description", "STRING", "NULLABLE", None),
                                               ("mode", "STRING", "NULLABLE", None),
                                               ("type", "STRING", "NULLABLE", None)]),
    ("cost_at_list", "FLOAT", "NULLABLE", None),
    ("consumption_model", "RECORD", "NULLABLE", [("id", "STRING", "NULLABLE", None),
                                                 ("description", "STRING", "NULLABLE", None),
                                                 ("applied_subscription_instance_id", "STRING", "NULLABLE", None)]),
    ("cost_at_effective_price_default", "FLOAT", "NULLABLE", None),
    ("cost_at_list_consumption_model", "FLOAT", "NULLABLE", None),
]
# How a BigQuery Parquet extract types them.
PARQUET_TYPES = {"STRING": pa.string(), "FLOAT": pa.float64(), "NUMERIC": pa.decimal128(38, 9),
                 "TIMESTAMP": pa.timestamp("us", tz="UTC"), "BOOLEAN": pa.bool_()}
TIMESTAMP_TEXT = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{0,5}[1-9])? UTC$")


def _arrow_type(bq_type, mode, fields):
    if bq_type == "RECORD":
        t = pa.struct([pa.field(n, _arrow_type(bt, m, f)) for n, bt, m, f in fields])
    else:
        t = PARQUET_TYPES[bq_type]
    return pa.list_(t) if mode == "REPEATED" else t


EXPECTED = pa.schema([pa.field(n, _arrow_type(t, m, f)) for n, t, m, f in EXPORT_SCHEMA])


def _parts(sample_dir, suffix):
    return sorted((sample_dir / "billing").glob(f"part-*.{suffix}"))


def test_parquet_carries_every_column_with_bigquery_extract_types(sample_dir, summary):
    parts = _parts(sample_dir, "parquet")
    assert len(parts) >= 2
    rows = 0
    for part in parts:
        meta = pq.ParquetFile(part).metadata
        assert meta.num_row_groups >= 2  # a row group per day, several days per file
        schema = pq.read_schema(part)
        assert schema.names == EXPECTED.names
        for field in EXPECTED:
            assert schema.field(field.name).type.equals(field.type), field.name
        rows += meta.num_rows
    assert rows == summary["billing"]["rows"] == summary["counts"]["billing_rows"]


def _from_json(value, arrow_type):
    """Read a BigQuery-NDJSON value back into what pyarrow's to_pylist gives for the Parquet value."""
    if value is None:
        return None
    if pa.types.is_struct(arrow_type):
        return {f.name: _from_json(value.get(f.name), f.type) for f in arrow_type}
    if pa.types.is_list(arrow_type):
        return [_from_json(v, arrow_type.value_type) for v in value]
    if pa.types.is_timestamp(arrow_type):
        assert TIMESTAMP_TEXT.match(value), value
        text = value[:-4]
        fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
        return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
    if pa.types.is_decimal(arrow_type):
        assert isinstance(value, str), value  # NUMERIC is written as a JSON string
        return Decimal(value)
    if pa.types.is_floating(arrow_type):
        assert isinstance(value, (int, float)) and not isinstance(value, bool)
        return float(value)
    return value


def _normalise(row):
    out = dict(row)
    for key in ("usage_start_time", "usage_end_time", "export_time"):
        out[key] = out[key].astimezone(timezone.utc).replace(tzinfo=timezone.utc)
    return out


def test_ndjson_holds_the_same_rows_as_parquet(sample_dir):
    pq_parts = _parts(sample_dir, "parquet")
    js_parts = _parts(sample_dir, "jsonl")
    assert [p.stem for p in pq_parts] == [p.stem for p in js_parts]
    for pq_part, js_part in zip(pq_parts, js_parts):
        table = pq.read_table(pq_part)
        lines = js_part.read_text().splitlines()
        assert len(lines) == table.num_rows
        expected = [_normalise(r) for r in table.to_pylist()]
        for line, want in zip(lines, expected):
            got = json.loads(line)
            assert list(got) == [n for n in EXPECTED.names if want[n] is not None]  # schema order, nulls left out
            assert {n: _from_json(got.get(n), EXPECTED.field(n).type) for n in EXPECTED.names} == want


def test_ndjson_follows_bigquery_json_conventions(sample_dir):
    lines = _parts(sample_dir, "jsonl")[0].read_text().splitlines()
    assert not any(":null" in line for line in lines)
    fee = next(json.loads(line) for line in lines if '"Regional Kubernetes Clusters"' in line)
    assert fee["usage"]["amount"] == 3600 and '"amount":3600,' in next(
        line for line in lines if '"Regional Kubernetes Clusters"' in line)  # integral FLOAT without ".0"
    assert fee["price"]["effective_price"] == "0.1"
    assert fee["usage_start_time"].endswith(":00:00 UTC")
    assert json.loads(lines[0])["cost_type"] == "regular"
