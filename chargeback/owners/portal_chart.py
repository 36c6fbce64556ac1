"""The portal's cost chart: inline SVG bars, one per month, each with a <title> a screen reader announces.

Geometry is worked out in Decimal like every figure here; the SVG takes the numbers as text.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from html import escape

from chargeback.months import MONTH_NAMES

WIDTH, HEIGHT = 760, 280
LEFT, RIGHT, TOP, BOTTOM = 84, 16, 36, 48
TICKS = 4


@dataclass(frozen=True)
class MonthBar:
    month: str                  # YYYY-MM
    total: Decimal | None       # None: no invoice that month
    label: str                  # what the bar's <title> says, e.g. "2026-10: 304.75 USD (Marketing 103.52 …)"


def axis_top(largest: Decimal) -> Decimal:
    """A round axis maximum at or above ``largest`` that splits into TICKS round steps (1, 2 or 5 x 10^n)."""
    if largest <= 0:
        return Decimal(TICKS)
    base = Decimal(1).scaleb((largest / TICKS).adjusted())
    for factor in (1, 2, 5, 10):
        if base * factor * TICKS >= largest:
            return base * factor * TICKS
    return base * 10 * TICKS


def _n(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.1")))


def _tick_label(value: Decimal) -> str:
    return f"{value.normalize():,f}" if value == value.to_integral() else f"{value.normalize():,}"


def bar_value(total: Decimal) -> str:
    """The figure printed above a bar: whole units from 1,000 up so it fits (exact figures are in the titles)."""
    if total >= 1000:
        return f"{total.quantize(Decimal(1), rounding=ROUND_HALF_UP):,}"
    return f"{total:,}"


def cost_chart(bars: list[MonthBar], title: str, currency: str) -> str:
    """An accessible SVG bar chart: role=img, a <title> and <desc>, and a <title> per bar."""
    top = axis_top(max((b.total for b in bars if b.total is not None), default=Decimal(0)))
    plot_w, plot_h = Decimal(WIDTH - LEFT - RIGHT), Decimal(HEIGHT - TOP - BOTTOM)
    slot = plot_w / max(len(bars), 1)
    base_y = Decimal(TOP) + plot_h
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">',
             f'<title id="chart-title">{escape(title)}</title>',
             f'<desc id="chart-desc">{escape("; ".join(b.label for b in bars))}</desc>']
    for i in range(TICKS + 1):
        value = top * i / TICKS
        y = base_y - plot_h * i / TICKS
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_n(y)}" y2="{_n(y)}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 8}" y="{_n(y + 4)}" text-anchor="end">'
                     f'{escape(_tick_label(value))}</text>')
    parts.append(f'<text class="unit" x="{LEFT - 8}" y="14" text-anchor="end">{escape(currency)}</text>')
    for i, bar in enumerate(bars):
        x = Decimal(LEFT) + slot * i + slot * Decimal("0.18")
        width = slot * Decimal("0.64")
        height = plot_h * (bar.total or 0) / top
        latest = " latest" if i == len(bars) - 1 else ""
        parts.append(f'<g class="bar{latest}"><title>{escape(bar.label)}</title>'
                     f'<rect x="{_n(x)}" y="{_n(base_y - height)}" width="{_n(width)}" height="{_n(height)}" '
                     f'rx="3"/></g>')
        centre = _n(Decimal(LEFT) + slot * i + slot / 2)
        if bar.total is not None:
            parts.append(f'<text class="value" x="{centre}" y="{_n(base_y - height - 6)}" text-anchor="middle" '
                         f'aria-hidden="true">{escape(bar_value(bar.total))}</text>')
        year, number = bar.month.split("-")
        parts.append(f'<text class="month" x="{centre}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">'
                     f'{MONTH_NAMES[int(number) - 1][:3]}</text>')
        if i == 0 or number == "01":
            parts.append(f'<text class="year" x="{centre}" y="{HEIGHT - BOTTOM + 34}" '
                         f'text-anchor="middle">{year}</text>')
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_n(base_y)}" y2="{_n(base_y)}"/>')
    parts.append("</svg>")
    return "".join(parts)
