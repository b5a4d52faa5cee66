from decimal import Decimal as D

from aipipe_ops.reports import formatting as f


def test_money_rounds_half_up_to_the_minor_unit():
    assert f.money(D("1234.565"), "USD") == "$1,234.57"
    assert f.money(D("-0.005"), "EUR") == "-€0.01"
    assert f.money(D("1234.5"), "JPY") == "¥1,235"
    assert f.money(D("12.3"), "CHF") == "12.30 CHF"
    assert f.money(None, "USD") == "–"


def test_short_money_for_axes():
    assert f.money_short(D("1260"), "USD") == "$1.3k"
    assert f.money_short(D("3400000"), "USD") == "$3.4M"
    assert f.money_short(D("7.5"), "USD") == "$7.50"
    assert f.money_short(D("20"), "USD") == "$20"


def test_percent_and_small_shares():
    assert f.percent(D("0.1234")) == "12.3%"
    assert f.percent_short(D("0.004")) == "<1%" and f.percent_short(D(0)) == "0%"


def test_exact_keeps_every_digit():
    assert f.exact(D("0.000000001")) == "0.000000001" and f.exact(D("1E+3")) == "1000"


def test_booleans_are_written_as_json_writes_them():
    """A bool column (top_runs.reached_push) is true/false in CSV, as in JSON; empty for no value."""
    assert f.exact(True) == "true" and f.exact(False) == "false" and f.exact(None) == ""
    assert f.cell(True, "bool", None) == "yes" and f.cell(False, "bool", None) == "no"
    assert f.cell(None, "bool", None) == "–"
