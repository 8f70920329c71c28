"""A small server-rendered bar chart: new articles per day, as inline SVG (no script)."""

from __future__ import annotations

from datetime import date, timedelta
from html import escape

WIDTH = 180
HEIGHT = 36


def day_series(counts: dict[date, int], last: date, days: int = 30) -> list[tuple[date, int]]:
    """``days`` days up to ``last``, zero where nothing was new."""
    first = last - timedelta(days=days - 1)
    return [
        (first + timedelta(days=i), counts.get(first + timedelta(days=i), 0)) for i in range(days)
    ]


def bars(series: list[tuple[date, int]], label: str = "new articles per day") -> str:
    """An SVG of one bar per day; each bar's tooltip says its day and count."""
    top = max((n for _, n in series), default=0)
    step = WIDTH / max(len(series), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{escape(label)}, last {len(series)} days, most {top}">',
        f'<line class="axis" x1="0" y1="{HEIGHT - 0.5}" x2="{WIDTH}" y2="{HEIGHT - 0.5}"/>',
    ]
    for i, (day, count) in enumerate(series):
        height = 0 if not top else max(1.5, (HEIGHT - 2) * count / top) if count else 0
        x = i * step + 0.5
        parts.append(
            f'<rect x="{x:.1f}" y="{HEIGHT - 1 - height:.1f}" width="{max(step - 1, 1):.1f}" '
            f'height="{height:.1f}"><title>{day.isoformat()}: {count}</title></rect>'
        )
    parts.append("</svg>")
    return "".join(parts)
