import csv
import io
import json
from decimal import Decimal

import pytest

from aipipe_ops.output import render

ROWS = [{"pipeline": "taxi", "cost": Decimal("12.345678901"), "runs": 3},
        {"pipeline": "llm", "cost": Decimal("0.000000001"), "runs": 1}]


def test_json_keeps_every_digit_of_money():
    data = json.loads(render(ROWS, fmt="json"))
    assert data[0]["cost"] == "12.345678901" and data[1]["cost"] == "0.000000001"
    assert data[0]["runs"] == 3


def test_csv_header_and_values():
    rows = list(csv.reader(io.StringIO(render(ROWS, ["pipeline", "cost"], fmt="csv"))))
    assert rows == [["pipeline", "cost"], ["taxi", "12.345678901"], ["llm", "0.000000001"]]


def test_table_shows_columns_and_values():
    text = render(ROWS, fmt="table")
    assert "pipeline" in text and "12.345678901" in text and "llm" in text


def test_empty_table_says_so():
    assert "(no rows)" in render([], ["a"], fmt="table")


def test_unknown_format():
    with pytest.raises(ValueError, match="xml"):
        render(ROWS, fmt="xml")
