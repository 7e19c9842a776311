"""Server-rendered SVG bar charts (no JS library): `{% bar_chart rows "flows" title unit %}`."""

from decimal import Decimal

from django import template

register = template.Library()

BAR_HEIGHT = 18
GAP = 6
LABEL_WIDTH = 150
# The view box is about as wide as a phone's column, so its 12-unit text reads as 12 px there.
BAR_SPACE = 150  # view-box units the axis (and so the longest bar at most) takes
BAR_VALUE_SPACE = 66  # room right of the axis for the value printed after the longest bar
AXIS_SPACE = 20  # the tick labels under the bars
MIN_COLUMNS = 31


def _scale(value, maximum, length) -> str:
    """Bar length in view-box units (display only), one decimal."""
    if not maximum:
        return "0"
    return str((Decimal(value) / Decimal(maximum) * length).quantize(Decimal("0.1")))


@register.inclusion_tag("console/usage/_bar_chart.html")
def bar_chart(rows, attribute: str, title: str, unit: str = "flows", columns: bool = False):
    """Horizontal bars (one per row: its label, its bar, its value) on a value axis with round ticks and
    grid lines, or, with columns=True, vertical columns (e.g. days)."""
    values = [Decimal(getattr(row, attribute)) for row in rows]
    maximum = max(values, default=Decimal(0))
    if columns:
        return _column_chart(rows, values, maximum, title=title, unit=unit)
    # The axis runs to a round top (1, 2 or 5 × 10^k steps), so bars and ticks share one scale.
    step = _nice_step(maximum) if maximum > 0 else Decimal(1)
    top = step * (maximum / step).to_integral_value(rounding="ROUND_CEILING") if maximum > 0 else step
    scale = Decimal(BAR_SPACE) / top
    plot_bottom = max(len(values), 1) * (BAR_HEIGHT + GAP)
    bars = [
        {
            "label": row.label,
            # A model's slug without its provider ("anthropic/claude-opus-4.1" → "claude-opus-4.1"): the names
            # differ at the end. The tooltip and the table below keep the full label.
            "short_label": row.label.rsplit("/", 1)[-1],
            "value": value,
            "y": index * (BAR_HEIGHT + GAP),
            "width": _view(value * scale),
            "text_y": index * (BAR_HEIGHT + GAP) + 13,
            "value_x": _view(LABEL_WIDTH + value * scale + 4),
        }
        for index, (row, value) in enumerate(zip(rows, values, strict=True))
    ]
    ticks = []
    tick = Decimal(0)
    while tick <= top:
        ticks.append({"value": tick, "x": _view(LABEL_WIDTH + tick * scale)})
        tick += step
    return {
        "bars": bars,
        "ticks": ticks,
        "title": title,
        "unit": unit,
        "columns": False,
        "width": LABEL_WIDTH + BAR_SPACE + BAR_VALUE_SPACE,
        "height": plot_bottom + AXIS_SPACE,
        "bar_height": BAR_HEIGHT,
        "label_width": LABEL_WIDTH,
        "plot_right": LABEL_WIDTH + BAR_SPACE,
        "plot_bottom": plot_bottom,
        "tick_label_y": plot_bottom + 14,
    }


@register.filter
def percent(fraction) -> str:
    """A 0–1 fraction as a percentage for people: 0.4250 → "42.5%"."""
    if fraction is None or fraction == "":
        return "—"
    value = (Decimal(fraction) * 100).quantize(Decimal("0.1"))
    text = f"{value.normalize():f}"
    return f"{text}%"


# --- Stacked daily chart with axes (server-drawn SVG) -------------------------------------------------------
# Why SVG from the server and not a JS chart library: the console's CSP allows no inline script, pages must
# work without JavaScript, numbers must read exactly as on the rest of the page (the same filters), and the
# table under each chart stays the accessible alternative. A vendored library (Chart.js ≈ 200 KB) would add
# a second number/date formatter to keep in step with Django's.
STACK_WIDTH, STACK_HEIGHT = 640, 230
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 60, 8, 10, 30
MAX_X_LABELS = 8
STACK_SERIES = (
    ("subscription_usd", "subscription"),
    ("payg_usd", "payg"),
    ("extra_usd", "extra"),
)


def _nice_step(maximum: Decimal, ticks: int = 4) -> Decimal:
    """A round axis step (1, 2 or 5 × 10^k) so that `ticks` steps cover `maximum`."""
    raw = maximum / ticks
    exponent = Decimal(10) ** (raw.adjusted())
    for factor in (1, 2, 5, 10):
        step = exponent * factor
        if step >= raw:
            return step
    return exponent * 10  # pragma: no cover - factor 10 always covers raw


def _view(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.1")))


def _column_chart(rows, values: list[Decimal], maximum: Decimal, *, title: str, unit: str) -> dict:
    """One column per day on the stacked chart's frame: a value axis with round ticks and grid lines, date
    labels under every few columns (the page's date format), a tooltip per column."""
    context = {"title": title, "unit": unit, "columns": True, "width": STACK_WIDTH, "height": STACK_HEIGHT}
    if maximum <= 0:
        return context | {"bars": []}
    plot_width = STACK_WIDTH - PLOT_LEFT - PLOT_RIGHT
    plot_height = STACK_HEIGHT - PLOT_TOP - PLOT_BOTTOM
    step = _nice_step(maximum)
    top = step * (maximum / step).to_integral_value(rounding="ROUND_CEILING")
    scale = Decimal(plot_height) / top
    baseline = Decimal(PLOT_TOP + plot_height)
    ticks = []
    tick = Decimal(0)
    while tick <= top:
        ticks.append({"value": tick, "y": _view(baseline - tick * scale)})
        tick += step
    # At least MIN_COLUMNS slots, so one or two days do not stretch into a wall of colour.
    slot = Decimal(plot_width) / max(len(rows), MIN_COLUMNS)
    width = slot * Decimal("0.7")
    every = -(-len(rows) // MAX_X_LABELS)  # ceil
    bars = []
    for index, (row, value) in enumerate(zip(rows, values, strict=True)):
        x = Decimal(PLOT_LEFT) + slot * index + (slot - width) / 2
        bars.append(
            {
                "label": row.label,
                "day": row.group,
                "value": value,
                "x": _view(x),
                "y": _view(baseline - value * scale),
                "height": _view(value * scale),
                "center": _view(x + width / 2),
                "labelled": index % every == 0,
            }
        )
    return context | {
        "bars": bars,
        "ticks": ticks,
        "column_width": _view(width),
        "plot_left": PLOT_LEFT,
        "plot_right": STACK_WIDTH - PLOT_RIGHT,
        "baseline": _view(baseline),
        "label_y": _view(baseline + 18),
    }


@register.inclusion_tag("console/usage/_stacked_chart.html")
def stacked_day_chart(rows, title: str):
    """Columns per day, stacked subscription (list cost) + pay-as-you-go + Extra Usage, in USD, with a value
    axis, date labels, a legend and a tooltip (<title>) per column and per segment."""
    totals = [sum((Decimal(getattr(row, name)) for name, _ in STACK_SERIES), Decimal(0)) for row in rows]
    maximum = max(totals, default=Decimal(0))
    plot_width = STACK_WIDTH - PLOT_LEFT - PLOT_RIGHT
    plot_height = STACK_HEIGHT - PLOT_TOP - PLOT_BOTTOM
    context = {"title": title, "empty": maximum <= 0, "width": STACK_WIDTH, "height": STACK_HEIGHT}
    if context["empty"]:
        return context
    step = _nice_step(maximum)
    top = step * ((maximum / step).to_integral_value(rounding="ROUND_CEILING"))
    scale = Decimal(plot_height) / top
    baseline = Decimal(PLOT_TOP + plot_height)
    ticks = []
    value = Decimal(0)
    while value <= top:
        ticks.append({"value": value, "y": _view(baseline - value * scale)})
        value += step
    slot = Decimal(plot_width) / max(len(rows), 1)
    bar = slot * Decimal("0.7")
    every = -(-len(rows) // MAX_X_LABELS)  # ceil
    columns = []
    for index, (row, total) in enumerate(zip(rows, totals, strict=True)):
        x = Decimal(PLOT_LEFT) + slot * index + (slot - bar) / 2
        y = baseline
        segments = []
        for name, series in STACK_SERIES:
            amount = Decimal(getattr(row, name))
            height = amount * scale
            if amount > 0:
                y -= height
                segments.append({"series": series, "value": amount, "y": _view(y), "height": _view(height)})
        columns.append(
            {
                "row": row,
                "total": total,
                "x": _view(x),
                "width": _view(bar),
                "center": _view(x + bar / 2),
                "segments": segments,
                "label": index % every == 0,
            }
        )
    context |= {
        "ticks": ticks,
        "columns": columns,
        "plot_left": PLOT_LEFT,
        "plot_top": PLOT_TOP,
        "plot_height": plot_height,
        "plot_right": STACK_WIDTH - PLOT_RIGHT,
        "baseline": _view(baseline),
        "label_y": _view(baseline + 18),
        "total": sum(totals, Decimal(0)),
    }
    return context
