"""Inline SVG charts for the health report's HTML page: plain strings, no library, no network.

Three shapes: columns stacked per day, horizontal bars (linear or log scale), and horizontal
bars split 100% by outcome. Every text goes through `html.escape`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

FONT = 'font-family="system-ui, sans-serif" font-size="11"'
GRID = "#e0e0e0"
TEXT = "#333"


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", fill: str = TEXT) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}" {FONT}>'
        f"{escape(text)}</text>"
    )


def _rect(x: float, y: float, width: float, height: float, fill: str, tip: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width, 0):.1f}" height="{height:.1f}" '
        f'fill="{fill}"><title>{escape(tip)}</title></rect>'
    )


def legend(series: Sequence[tuple[str, str]]) -> str:
    """A small HTML legend: (label, colour) pairs."""
    items = "".join(
        f'<span class="key"><span class="swatch" style="background:{colour}"></span>{escape(label)}</span>'
        for label, colour in series
    )
    return f'<div class="legend">{items}</div>'


def stacked_columns(
    labels: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float]]],
    title: str,
    width: int = 860,
    height: int = 220,
) -> str:
    """One column per label (a day), stacked by series (name, colour, values)."""
    left, right, top, bottom = 40, 10, 10, 40
    plot_width, plot_height = width - left - right, height - top - bottom
    totals = [sum(values[i] for _, _, values in series) for i in range(len(labels))]
    peak = max(totals, default=0) or 1
    step = _nice_step(peak)
    peak = math.ceil(peak / step) * step
    body = []
    for tick in range(0, int(peak) + 1, int(step) or 1):
        y = top + plot_height * (1 - tick / peak)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(_text(left - 4, y + 4, str(tick), "end"))
    slot = plot_width / max(len(labels), 1)
    bar = max(slot * 0.8, 1)
    every = max(1, math.ceil(len(labels) / 12))
    for i, label in enumerate(labels):
        x = left + i * slot + (slot - bar) / 2
        y = top + plot_height
        for name, colour, values in series:
            h = plot_height * values[i] / peak
            y -= h
            if values[i]:
                body.append(_rect(x, y, bar, h, colour, f"{label}: {values[i]:g} {name}"))
        if i % every == 0:
            body.append(_text(x + bar / 2, height - bottom + 14, label, "middle"))
    return _svg(width, height, body, title)


def horizontal_bars(
    rows: Sequence[tuple[str, Sequence[tuple[float | None, str]]]],
    title: str,
    fmt: Callable[[float], str],
    log: bool = False,
    width: int = 860,
    label_width: int = 260,
    log_ticks: Sequence[float] = (),
) -> str:
    """One line per row (label, [(value, colour), ...]): bars drawn over each other, the
    largest first, each with its value; `log` for values spread over orders of magnitude, with
    `log_ticks` the grid lines it may use (round values in the chart's unit)."""
    line, top = 22, 20
    height = top + line * len(rows) + 10
    plot = width - label_width - 90
    values = [v for _, bars in rows for v, _ in bars if v is not None and v > 0]
    high = max(values, default=1)
    low = min(values, default=1)
    if log:
        marks = sorted(log_ticks or [10.0**e for e in range(-3, 10)])
        lower = max([m for m in marks if m <= low] or [low])
        upper = min([m for m in marks if m >= high] or [high])
        if upper <= lower:
            upper = lower * 10
        span = math.log10(upper) - math.log10(lower)

        def scale(value: float) -> float:
            return plot * (math.log10(max(value, lower)) - math.log10(lower)) / span

        ticks = [m for m in marks if lower <= m <= upper]
    else:
        step = _nice_step(high)
        high = math.ceil(high / step) * step if high else 1

        def scale(value: float) -> float:
            return plot * value / high

        ticks = [step * i for i in range(int(high / step) + 1)] if step else [0]
    body = []
    for tick in ticks:
        x = label_width + scale(tick)
        body.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 8}" stroke="{GRID}"/>')
        body.append(_text(x, top - 8, fmt(tick), "middle", "#777"))
    for i, (label, bars) in enumerate(rows):
        y = top + i * line
        body.append(_text(label_width - 6, y + 15, label, "end"))
        shown = [(v, c) for v, c in bars if v is not None]
        for value, colour in sorted(shown, key=lambda vc: -vc[0]):
            body.append(_rect(label_width, y + 4, scale(value) if value > 0 else 0, 14, colour, f"{label}: {fmt(value)}"))
        if shown:
            body.append(_text(label_width + scale(max(v for v, _ in shown)) + 6 if max(v for v, _ in shown) > 0
                              else label_width + 6, y + 15, " / ".join(fmt(v) for v, _ in shown)))
        else:
            body.append(_text(label_width + 6, y + 15, "none", fill="#999"))
    return _svg(width, height, body, title)


def split_bars(
    rows: Sequence[tuple[str, Sequence[tuple[str, str, float]]]],
    title: str,
    width: int = 860,
    label_width: int = 260,
) -> str:
    """One line per row (label, [(name, colour, count), ...]) split 100% by count."""
    line, top = 22, 6
    height = top + line * len(rows) + 6
    plot = width - label_width - 90
    body = []
    for i, (label, parts) in enumerate(rows):
        y = top + i * line
        body.append(_text(label_width - 6, y + 15, label, "end"))
        total = sum(count for _, _, count in parts)
        x = float(label_width)
        for name, colour, count in parts:
            if total and count:
                w = plot * count / total
                body.append(_rect(x, y + 4, w, 14, colour, f"{label}: {count:g} {name} ({100 * count / total:.1f}%)"))
                x += w
        body.append(_text(label_width + plot + 6, y + 15, f"{total:g} ticks" if total else "no ticks", fill="#777"))
    return _svg(width, height, body, title)


def _nice_step(peak: float) -> float:
    """A round grid step giving about 4 lines up to `peak`."""
    if peak <= 0:
        return 1
    raw = peak / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return max(factor * magnitude, 1 if peak >= 4 else factor * magnitude)
    return 10 * magnitude
