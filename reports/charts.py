"""Inline SVG charts, generated in Python: no script and no font is fetched when a report is opened.

Every chart is drawn from a report table (the same rows the page shows beside it), carries a <title> and a
<desc> for screen readers, and marks every data element with class "mark" and a tooltip holding the exact
value. Geometry uses floats; the numbers shown come from the exact Decimals.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, Sequence

from markupsafe import Markup, escape

# Okabe-Ito: distinguishable with the common colour-vision deficiencies, and in greyscale print.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#8C6D31", "#999999", "#F0E442"]
GRID = "#e3e6ea"
AXIS_TEXT = "#4a5360"
FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif\""

_ids = itertools.count(1)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[Decimal]
    color: str


def colors_for(names: Sequence[str]) -> dict[str, str]:
    """Stable colours: the palette in order (repeating after its last colour)."""
    palette = itertools.cycle(PALETTE)
    return {name: next(palette) for name in names}


def _f(value) -> float:
    return float(value or 0)


def _text_width(text: str, size: float = 12) -> float:
    return len(text) * size * 0.56


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def nice_ticks(maximum: float, count: int = 4) -> list[float]:
    """0 and round steps (1, 2, 2.5, 5 x 10^n) up to at least `maximum`."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    steps = math.ceil(maximum / step - 1e-9)
    return [i * step for i in range(steps + 1)]


def _svg(width: float, height: float, title: str, desc: str, body: list[str], css_class: str) -> Markup:
    chart_id = f"chart-{next(_ids)}"
    return Markup(
        # Drawn at its natural size (text stays 12px); it only shrinks, with the page, on narrow screens.
        f'<svg class="chart {css_class}" role="img" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg" {FONT} font-size="12">'
        f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def legend(colors: dict[str, str]) -> Markup:
    """An HTML legend (wraps on narrow screens, prints in colour with print-color-adjust)."""
    items = "".join(
        f'<li><span class="swatch" style="background:{c}"></span>{escape(name)}</li>' for name, c in colors.items()
    )
    return Markup(f'<ul class="legend">{items}</ul>')


def stacked_columns(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    desc: str,
    fmt: Callable[[Decimal], str],
    axis_fmt: Callable[[Decimal], str],
    width: int = 760,
    height: int = 260,
) -> Markup:
    """Vertical stacked columns over time (the trend chart): one column per category, one segment per series."""
    left, right, top, bottom = 58, 10, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum((_f(s.values[i]) for s in series), 0.0) for i in range(len(categories))]
    ticks = nice_ticks(max(totals, default=0.0))
    top_value = ticks[-1]
    body = []
    for tick in ticks:
        y = top + plot_h - plot_h * tick / top_value
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{AXIS_TEXT}">'
            f"{escape(axis_fmt(Decimal(str(tick))))}</text>"
        )
    n = max(len(categories), 1)
    band = plot_w / n
    bar_w = max(band * 0.72, 1.0)
    label_every = max(1, math.ceil(_text_width(max(categories, key=len, default="")) / (band * 0.9)))
    for i, category in enumerate(categories):
        x = left + band * i + (band - bar_w) / 2
        y_base = top + plot_h
        for s in series:
            value = s.values[i]
            if not value:
                continue
            h = plot_h * _f(value) / top_value
            y_base -= h
            body.append(
                f'<rect class="mark" x="{x:.1f}" y="{y_base:.1f}" width="{bar_w:.1f}" height="{max(h, 0.5):.1f}" '
                f'fill="{s.color}"><title>{escape(category)} · {escape(s.name)}: {escape(fmt(value))}</title></rect>'
            )
        if i % label_every == 0:
            body.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                f'fill="{AXIS_TEXT}">{escape(category)}</text>'
            )
    body.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="{AXIS_TEXT}"/>'
    )
    return _svg(width, height, title, desc, body, "columns")


def horizontal_bars(
    items: Sequence[tuple[str, Decimal]],
    *,
    title: str,
    desc: str,
    fmt: Callable[[Decimal], str],
    colors: Sequence[str] | str = PALETTE[0],
    width: int = 760,
    label_chars: int = 34,
) -> Markup:
    """Ranked horizontal bars with the label on the left and the value at the bar's end."""
    row_h, gap, top = 22, 6, 4
    labels = [_clip(label, label_chars) for label, _ in items]
    left = min(max((_text_width(label) for label in labels), default=40) + 12, width * 0.45)
    value_room = 86
    plot_w = width - left - value_room
    maximum = max((_f(v) for _, v in items), default=0.0) or 1.0
    height = top * 2 + len(items) * (row_h + gap)
    body = []
    for i, ((label, value), short) in enumerate(zip(items, labels)):
        y = top + i * (row_h + gap)
        w = max(plot_w * _f(value) / maximum, 1.0 if value else 0.0)
        color = colors if isinstance(colors, str) else colors[i % len(colors)]
        body.append(
            f'<text x="{left - 8:.1f}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end" fill="#1f2933">'
            f"<title>{escape(label)}</title>{escape(short)}</text>"
        )
        body.append(
            f'<rect class="mark" x="{left:.1f}" y="{y}" width="{w:.1f}" height="{row_h}" rx="2" fill="{color}">'
            f"<title>{escape(label)}: {escape(fmt(value))}</title></rect>"
        )
        body.append(
            f'<text x="{left + w + 6:.1f}" y="{y + row_h / 2 + 4:.1f}" fill="#1f2933">{escape(fmt(value))}</text>'
        )
    return _svg(width, max(height, 30), title, desc, body, "bars")


def share_bars(
    rows: Sequence[tuple[str, Sequence[tuple[str, Decimal]]]],
    *,
    colors: dict[str, str],
    title: str,
    desc: str,
    fmt: Callable[[Decimal], str],
    width: int = 760,
    label_chars: int = 26,
) -> Markup:
    """100% stacked horizontal bars: the make-up of each row (resource kinds, buckets, waste)."""
    row_h, gap, top = 24, 8, 4
    labels = [_clip(label, label_chars) for label, _ in rows]
    left = min(max((_text_width(label) for label in labels), default=40) + 12, width * 0.4)
    plot_w = width - left - 8
    height = top * 2 + len(rows) * (row_h + gap)
    body = []
    for i, ((label, segments), short) in enumerate(zip(rows, labels)):
        y = top + i * (row_h + gap)
        total = sum((_f(v) for _, v in segments if v and v > 0), 0.0)
        body.append(
            f'<text x="{left - 8:.1f}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end" fill="#1f2933">'
            f"<title>{escape(label)}</title>{escape(short)}</text>"
        )
        x = left
        for name, value in segments:
            if not value or value <= 0 or total <= 0:
                continue
            w = plot_w * _f(value) / total
            fraction = _f(value) / total
            body.append(
                f'<rect class="mark" x="{x:.1f}" y="{y}" width="{max(w, 0.5):.1f}" height="{row_h}" '
                f'fill="{colors.get(name, PALETTE[-2])}"><title>{escape(label)} · {escape(name)}: '
                f"{escape(fmt(value))} ({fraction:.1%})</title></rect>"
            )
            text = f"{fraction:.0%}"
            if w > _text_width(text) + 8:
                body.append(
                    f'<text x="{x + w / 2:.1f}" y="{y + row_h / 2 + 4:.1f}" text-anchor="middle" '
                    f'fill="{_ink_on(colors.get(name, PALETTE[-2]))}">{text}</text>'
                )
            x += w
    return _svg(width, max(height, 30), title, desc, body, "shares")


def range_plot(
    rows: Sequence[tuple[str, dict[str, Decimal]]],
    *,
    title: str,
    desc: str,
    fmt: Callable[[Decimal], str],
    axis_fmt: Callable[[Decimal], str],
    color: str = PALETTE[0],
    width: int = 760,
    label_chars: int = 26,
) -> Markup:
    """Distribution per row as a box plot: whiskers min..max, box p25..p75, a bar at the median.

    A log axis is used when values span more than two orders of magnitude (a $2 run and a $900 run in one
    chart), so the cheap pipelines do not collapse into a line.
    """
    row_h, gap, top, bottom = 22, 10, 4, 40
    labels = [_clip(label, label_chars) for label, _ in rows]
    left = min(max((_text_width(label) for label in labels), default=40) + 12, width * 0.4)
    plot_w = width - left - 16
    positives = [_f(q[k]) for _, q in rows for k in ("min", "max") if q.get(k) and q[k] > 0]
    low, high = (min(positives), max(positives)) if positives else (0.0, 1.0)
    use_log = low > 0 and high / low > 100
    if use_log:
        lo_exp, hi_exp = math.floor(math.log10(low)), math.ceil(math.log10(high))
        ticks = [10.0**e for e in range(lo_exp, hi_exp + 1)]

        def scale(v: float) -> float:
            v = max(v, 10.0**lo_exp)
            return left + plot_w * (math.log10(v) - lo_exp) / max(hi_exp - lo_exp, 1)
    else:
        ticks = nice_ticks(high)

        def scale(v: float) -> float:
            return left + plot_w * v / (ticks[-1] or 1.0)

    height = top + len(rows) * (row_h + gap) + bottom
    plot_bottom = height - bottom
    body = []
    for tick in ticks:
        x = scale(tick)
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{plot_bottom}" stroke="{GRID}"/>')
        body.append(
            f'<text x="{x:.1f}" y="{plot_bottom + 16}" text-anchor="middle" fill="{AXIS_TEXT}">'
            f"{escape(axis_fmt(Decimal(str(tick))))}</text>"
        )
    for i, ((label, q), short) in enumerate(zip(rows, labels)):
        y = top + i * (row_h + gap)
        mid = y + row_h / 2
        body.append(
            f'<text x="{left - 8:.1f}" y="{mid + 4:.1f}" text-anchor="end" fill="#1f2933">'
            f"<title>{escape(label)}</title>{escape(short)}</text>"
        )
        x_min, x_max = scale(_f(q["min"])), scale(_f(q["max"]))
        x25, x75, x50 = scale(_f(q["p25"])), scale(_f(q["p75"])), scale(_f(q["median"]))
        summary = (
            f"{label}: min {fmt(q['min'])}, 25% {fmt(q['p25'])}, median {fmt(q['median'])}, "
            f"75% {fmt(q['p75'])}, max {fmt(q['max'])}"
        )
        body.append(
            f'<g class="mark"><title>{escape(summary)}</title>'
            f'<line x1="{x_min:.1f}" x2="{x_max:.1f}" y1="{mid:.1f}" y2="{mid:.1f}" stroke="{AXIS_TEXT}"/>'
            f'<line x1="{x_min:.1f}" x2="{x_min:.1f}" y1="{y + 5}" y2="{y + row_h - 5}" stroke="{AXIS_TEXT}"/>'
            f'<line x1="{x_max:.1f}" x2="{x_max:.1f}" y1="{y + 5}" y2="{y + row_h - 5}" stroke="{AXIS_TEXT}"/>'
            f'<rect x="{x25:.1f}" y="{y}" width="{max(x75 - x25, 1.5):.1f}" height="{row_h}" fill="{color}" '
            f'fill-opacity="0.35" stroke="{color}"/>'
            f'<line x1="{x50:.1f}" x2="{x50:.1f}" y1="{y}" y2="{y + row_h}" stroke="{color}" stroke-width="3"/>'
            "</g>"
        )
    if use_log:
        body.append(
            f'<text x="{width - 4}" y="{plot_bottom + 34}" text-anchor="end" fill="{AXIS_TEXT}" '
            f'font-size="10">log scale: each step is ×10</text>'
        )
    return _svg(width, height, title, desc, body, "ranges")


def _ink_on(background: str) -> str:
    """Black or white text, whichever reads better on the fill colour."""
    r, g, b = (int(background[i : i + 2], 16) for i in (1, 3, 5))
    return "#111" if (0.299 * r + 0.587 * g + 0.114 * b) > 150 else "#fff"
