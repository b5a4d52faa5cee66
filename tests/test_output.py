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


def test_table_drops_only_trailing_zeros_a_decimal_column_does_not_need():
    rows = [{"name": "a", "cost": Decimal("1699.812507000")}, {"name": "b", "cost": Decimal("72.000000000")},
            {"name": "c", "cost": Decimal("0E-9")}, {"name": "d", "cost": None}]
    lines = render(rows, ["name", "cost"], "table").splitlines()
    cells = {line.split()[0]: line.split()[1] if len(line.split()) > 1 else "" for line in lines[1:]}
    # Every digit kept, each value at the places the column's most precise value needs.
    assert cells == {"a": "1699.812507", "b": "72.000000", "c": "0.000000", "d": ""}
    assert len({len(line.rstrip()) for line in lines[1:4]}) == 1  # right-aligned on one column edge
    # Round money keeps two places; JSON and CSV keep the exact stored text.
    assert "72.00" in render([{"cost": Decimal("72.000000000")}], ["cost"], "table")
    assert render(rows[:1], ["cost"], "csv").splitlines()[1] == "1699.812507000"


@pytest.mark.parametrize("count, expected", [(0, "0 GPUs"), (1, "1 GPU"), (2, "2 GPUs"), (-1, "-1 GPU"),
                                             (Decimal("1"), "1 GPU"), (Decimal("1.5"), "1.5 GPUs")])
def test_plural_agrees_with_the_count(count, expected):
    from aipipe_ops.output import plural

    assert plural(count, "GPU") == expected


def test_plural_takes_an_irregular_form():
    from aipipe_ops.output import noun, plural

    assert [plural(n, "policy", "policies") for n in (1, 3)] == ["1 policy", "3 policies"]
    assert noun(1, "info", "info") == noun(2, "info", "info") == "info"
