"""How values look to a reader (HTML and Markdown). CSV and JSON keep the exact values instead.

Money is rounded half-up to the currency's minor unit for display only; a reader who checks a number finds the
exact value in the HTML's data-value attribute, the CSV and the JSON.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

# Currencies whose invoices have no minor unit (ISO 4217 exponent 0) among those Cloud Billing uses.
_ZERO_DECIMAL = {"JPY", "KRW", "IDR", "VND", "CLP", "HUF", "TWD"}
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "AUD": "A$", "CAD": "C$", "BRL": "R$"}


def minor_unit(currency: str | None) -> Decimal:
    return Decimal(1) if (currency or "").upper() in _ZERO_DECIMAL else Decimal("0.01")


def round_money(value: Any, currency: str | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(value).quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def money(value: Any, currency: str | None, *, symbol: bool = True) -> str:
    """12345.678 USD -> "$12,345.68"; currencies without a symbol here get the code: "1,234.50 CHF"."""
    rounded = round_money(value, currency)
    if rounded is None:
        return "–"
    digits = f"{abs(rounded):,}"
    sign = "-" if rounded < 0 else ""
    code = (currency or "").upper()
    if symbol and code in _SYMBOLS:
        return f"{sign}{_SYMBOLS[code]}{digits}"
    return f"{sign}{digits} {code}".rstrip()


def money_short(value: Any, currency: str | None) -> str:
    """Axis labels: $1.2k, $3.4M; small amounts keep cents."""
    value = Decimal(value or 0)
    code = (currency or "").upper()
    prefix = _SYMBOLS.get(code, "")
    suffix = "" if prefix else f" {code}"
    magnitude = abs(value)
    for limit, letter in ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(1000), "k")):
        if magnitude >= limit:
            scaled = value / limit
            text = f"{scaled:.1f}".rstrip("0").rstrip(".")
            return f"{prefix}{text}{letter}{suffix}"
    if magnitude >= 100 or value == value.to_integral_value():
        return f"{prefix}{value:,.0f}{suffix}"
    return f"{prefix}{value:,.2f}{suffix}"


def percent(value: Any, digits: int = 1) -> str:
    """A fraction (0.1234) as "12.3%"; None as a dash."""
    if value is None:
        return "–"
    quantum = Decimal(1).scaleb(-digits)
    return f"{(Decimal(value) * 100).quantize(quantum, rounding=ROUND_HALF_UP)}%"


def percent_short(value: Any) -> str:
    """Whole percents for matrix cells; a small non-zero share shows as "<1%", not as a misleading "0%"."""
    if value is None:
        return "–"
    value = Decimal(value)
    if 0 < value < Decimal("0.005"):
        return "<1%"
    return percent(value, 0)


def hours(value: Any) -> str:
    if value is None:
        return "–"
    return f"{Decimal(value).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):,} h"


def count(value: Any) -> str:
    return "–" if value is None else f"{int(value):,}"


def date(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def cell(value: Any, kind: str, currency: str | None) -> str:
    """A table cell as text, by column kind (see document.COLUMN_KINDS)."""
    if kind == "money":
        return money(value, currency)
    if kind == "share":
        return percent(value)
    if kind == "hours":
        return hours(value)
    if kind == "count":
        return count(value)
    if kind in ("date", "datetime"):
        return date(value)
    if kind == "list":
        return ", ".join(str(v) for v in value) if value else "–"
    if kind == "bool" and isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "":
        return "–"
    return str(value)


def exact(value: Any) -> str:
    """The exact value as CSV and JSON carry it (Decimal without exponent, ISO dates)."""
    if value is None:
        return ""
    if isinstance(value, bool):   # as JSON writes it
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "; ".join(exact(v) for v in value)
    return str(value)
