"""RowBatch -> newline-delimited JSON, as a BigQuery extract job (destinationFormat NEWLINE_DELIMITED_JSON) writes.

Conventions followed (sources in docs/sample-fleet.md):
- NULL fields are left out of the object (BigQuery's JSON export does not write nulls);
- TIMESTAMP as "YYYY-MM-DD HH:MM:SS[.ffffff] UTC", fraction only when non-zero, trailing zeros trimmed;
- FLOAT as a JSON number, an integral value without a decimal point (3600, not 3600.0);
- NUMERIC as a JSON string with its decimal digits (an assumption: the docs only state INT64 -> string);
- REPEATED fields as arrays ([] when empty); fields in table-schema order;
- '<', '>' and '&' in strings escaped as \\u003c, \\u003e, \\u0026 (documented for JSON exports).
Fragments that repeat (SKU, labels, project...) are rendered once per chunk; per row only numbers and times are
formatted, so a million rows take seconds.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

from aipipe_ops.sample import cluster as C
from aipipe_ops.sample.billing_rows import COST_TYPES, CREDIT_KINDS, SKU_LIST, ExportTables, RowBatch
from aipipe_ops.sample.billing_schema import CONSUMPTION_MODEL, PROJECT, TAGS, price_record
from aipipe_ops.sample.skus import BASE_FACTOR, PRICING_UNIT, USAGE_UNIT


def _escape(text: str) -> str:
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return json.dumps(decimal_text(v))
    if isinstance(v, float):
        return number(v)
    if isinstance(v, str):
        return _escape(json.dumps(v, ensure_ascii=False))
    if isinstance(v, dict):
        return "{" + ",".join(f'"{k}":{_value(x)}' for k, x in v.items() if x is not None) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_value(x) for x in v) + "]"
    return json.dumps(v)


def decimal_text(d: Decimal) -> str:
    text = format(d.normalize(), "f")
    return text if text != "-0" else "0"


def number(x: float) -> str:
    if x == int(x) and abs(x) < 1e16:
        return str(int(x))
    return repr(x)


def timestamp(us: int) -> str:
    seconds, micros = divmod(int(us), 1_000_000)
    text = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))
    if micros:
        text += "." + f"{micros:06d}".rstrip("0")
    return text + " UTC"


def to_json_lines(b: RowBatch, t: ExportTables) -> list[str]:
    head = '{"billing_account_id":' + _value(C.BILLING_ACCOUNT)
    sku_part = [',"service":' + _value({"id": s.service[0], "description": s.service[1]})
                + ',"sku":' + _value({"id": s.sku_id, "description": s.description}) for s in SKU_LIST]
    project = ',"project":' + _value(PROJECT)
    labels = [',"labels":' + _value([{"key": k, "value": v} for k, v in ls]) for ls in t.labelsets]
    machines = [',"system_labels":' + _value([{"key": k, "value": v} for k, v in m]) for m in t.machines]
    locations = [',"location":' + _value({"location": a, "country": c, "region": r, "zone": z})
                 for a, c, r, z in t.locations]
    resources = [',"resource":' + _value({"name": n, "global_name": g}) for n, g in t.resources]
    tags = ',"tags":' + _value(TAGS)
    prices = [(',"price":' + _value(price_record(s))) if price_record(s) else "" for s in SKU_LIST]
    subscriptions = [',"subscription":' + _value({"instance_id": s}) for s in t.subscriptions]
    units = [(USAGE_UNIT.get(s.resource), PRICING_UNIT.get(s.resource), BASE_FACTOR[s.resource], float(s.divisor))
             for s in SKU_LIST]
    credit_heads = [('{"name":' + _value(name), (',"full_name":' + _value(full)) if full else "",
                     ',"id":' + _value(cid) + ',"type":' + _value(ctype) + "}")
                    for name, full, cid, ctype in CREDIT_KINDS]
    invoices = [',"invoice":' + _value({"month": m, "publisher_type": "GOOGLE"}) for m in t.months]
    cost_types = [',"cost_type":' + _value(c) for c in COST_TYPES]
    adjustments = [',"adjustment_info":' + _value({"id": a, "description": d, "mode": m, "type": ty})
                   for a, d, m, ty in t.adjustments]
    model = ',"consumption_model":' + _value({"id": CONSUMPTION_MODEL[0], "description": CONSUMPTION_MODEL[1]})
    currency = ',"currency":' + _value(C.CURRENCY) + ',"currency_conversion_rate":1'
    lines = []
    cols = (b.start.tolist(), b.end.tolist(), b.sku.tolist(), b.labelset.tolist(), b.machine.tolist(),
            b.location.tolist(), b.resource.tolist(), b.subscription.tolist(), b.cost_type.tolist(),
            b.export_us.tolist(), b.cost.tolist(), b.usage.tolist(), b.has_usage.tolist(), b.credit_kind.tolist(),
            b.credit.tolist(), b.invoice.tolist(), b.adjustment.tolist())
    stamp_cache: dict[int, str] = {}
    for (start, end, sku, ls, machine, loc, res, sub, ctype, export, cost, usage, has_usage, ck, credit, inv,
         adj) in zip(*cols):
        s0 = stamp_cache.get(start) or stamp_cache.setdefault(start, timestamp(start * 1_000_000))
        s1 = stamp_cache.get(end) or stamp_cache.setdefault(end, timestamp(end * 1_000_000))
        c = number(cost / 1e6)
        parts = [head, sku_part[sku], ',"usage_start_time":"', s0, '","usage_end_time":"', s1, '"', project,
                 labels[ls] if ls >= 0 else ',"labels":[]', machines[machine]]
        if loc >= 0:
            parts.append(locations[loc])
        if res >= 0:
            parts.append(resources[res])
        parts.append(tags)
        if has_usage:
            parts.append(prices[sku])
        if sub >= 0:
            parts.append(subscriptions[sub])
        if ctype != 1:
            parts.append(',"transaction_type":"GOOGLE"')
        parts += [',"export_time":"', timestamp(export), '","cost":', c, currency]
        if has_usage:
            unit, punit, factor, div = units[sku]
            parts += [',"usage":{"amount":', number(usage * factor), ',"unit":"', unit,
                      '","amount_in_pricing_units":', number(usage / div), ',"pricing_unit":"', punit, '"}']
        if ck >= 0:
            h, full, tail = credit_heads[ck]
            parts += [',"credits":[', h, ',"amount":', number(credit / 1e6), full, tail, "]"]
        else:
            parts.append(',"credits":[]')
        parts += [invoices[inv], cost_types[ctype]]
        if adj >= 0:
            parts.append(adjustments[adj])
        parts += [',"cost_at_list":', c]
        if has_usage:
            parts.append(model)
        parts += [',"cost_at_effective_price_default":', c, ',"cost_at_list_consumption_model":', c, "}"]
        lines.append("".join(parts))
    return lines
