"""Inline SVG charts: one mark per data element, exact values in tooltips, text escaped, titles for readers."""

import re
from decimal import Decimal as D
from xml.etree import ElementTree

from hypothesis import given, strategies as st

from aipipe_ops.reports import charts

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg):
    return ElementTree.fromstring(str(svg))


def _marks(root):
    return [e for e in root.iter() if "mark" in (e.get("class") or "").split()]


def fmt(v):
    return f"${v}"


def test_stacked_columns_draw_one_mark_per_non_zero_value():
    svg = charts.stacked_columns(
        ["Nov 01", "Nov 02", "Nov 03"],
        [charts.Series("taxi", [D("1.50"), D(0), D("2")], "#000000"), charts.Series("llm", [D("10"), D("3"), D(0)], "#111111")],
        title="Trend", desc="d", fmt=fmt, axis_fmt=fmt)
    root = _parse(svg)
    assert root.find(f"{SVG}title").text == "Trend" and root.get("role") == "img"
    marks = _marks(root)
    assert len(marks) == 4
    assert {m.find(f"{SVG}title").text for m in marks} >= {"Nov 01 · taxi: $1.50", "Nov 01 · llm: $10"}
    heights = {m.find(f"{SVG}title").text: float(m.get("height")) for m in marks}
    assert heights["Nov 01 · llm: $10"] > heights["Nov 02 · llm: $3"] > heights["Nov 01 · taxi: $1.50"]


def test_labels_are_escaped():
    svg = charts.horizontal_bars([("<script>alert(1)</script>", D(1))], title="a & b", desc="d", fmt=fmt)
    assert "<script>" not in str(svg)
    assert _parse(svg).find(f"{SVG}title").text == "a & b"


def test_share_bars_split_each_row_to_its_width():
    svg = charts.share_bars([("taxi", [("GPU", D(3)), ("CPU", D(1))])], colors={"GPU": "#D55E00", "CPU": "#0072B2"},
                            title="t", desc="d", fmt=fmt, width=500)
    gpu, cpu = _marks(_parse(svg))
    assert abs(float(gpu.get("width")) / float(cpu.get("width")) - 3) < 0.01
    assert "75.0%" in gpu.find(f"{SVG}title").text


def test_range_plot_switches_to_log_scale_for_wide_spreads():
    narrow = charts.range_plot([("a", {"min": D(1), "p25": D(2), "median": D(3), "p75": D(4), "max": D(5)})],
                               title="t", desc="d", fmt=fmt, axis_fmt=fmt)
    wide = charts.range_plot([("a", {"min": D("0.5"), "p25": D(2), "median": D(3), "p75": D(4), "max": D(900)})],
                             title="t", desc="d", fmt=fmt, axis_fmt=fmt)
    assert "log scale" not in str(narrow) and "log scale" in str(wide)
    assert len(_marks(_parse(wide))) == 1


@given(st.floats(min_value=1e-6, max_value=1e12, allow_nan=False))
def test_nice_ticks_cover_the_maximum_with_round_steps(maximum):
    ticks = charts.nice_ticks(maximum)
    assert ticks[0] == 0 and ticks[-1] >= maximum * (1 - 1e-9)
    step = ticks[1] - ticks[0]
    mantissa = step / 10 ** __import__("math").floor(__import__("math").log10(step))
    assert any(abs(mantissa - m) < 1e-6 for m in (1, 2, 2.5, 5, 10))
    assert len(ticks) <= 6


def test_every_chart_has_an_accessible_name():
    svg = str(charts.horizontal_bars([("x", D(1))], title="Cost", desc="Longer", fmt=fmt))
    ids = re.search(r'aria-labelledby="([^"]+)"', svg).group(1).split()
    assert all(f'id="{i}"' in svg for i in ids)
