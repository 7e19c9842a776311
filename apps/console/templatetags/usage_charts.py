"""Server-rendered SVG bar charts (no JS library): `{% bar_chart rows "flows" title unit %}`."""

from decimal import Decimal

from django import template

register = template.Library()

BAR_HEIGHT = 18
GAP = 6
LABEL_WIDTH = 170
BAR_SPACE = 220  # px of the 400-wide view box the longest bar takes
COLUMN_WIDTH = 16
COLUMN_HEIGHT = 120
MIN_COLUMNS = 31


def _scale(value, maximum, length) -> str:
    """Bar length in view-box units (display only), one decimal."""
    if not maximum:
        return "0"
    return str((Decimal(value) / Decimal(maximum) * length).quantize(Decimal("0.1")))


@register.inclusion_tag("console/usage/_bar_chart.html")
def bar_chart(rows, attribute: str, title: str, unit: str = "flows", columns: bool = False):
    """Horizontal bars (one per row, labelled) or, with columns=True, vertical columns (e.g. days)."""
    values = [getattr(row, attribute) for row in rows]
    maximum = max(values, default=0)
    bars = []
    for index, (row, value) in enumerate(zip(rows, values, strict=True)):
        if columns:
            height = _scale(value, maximum, COLUMN_HEIGHT)
            bars.append(
                {
                    "label": row.label,
                    "value": value,
                    "x": index * (COLUMN_WIDTH + 4),
                    "height": height,
                    "y": str(Decimal(COLUMN_HEIGHT) - Decimal(height)),
                }
            )
        else:
            bars.append(
                {
                    "label": row.label,
                    "value": value,
                    "y": index * (BAR_HEIGHT + GAP),
                    "width": _scale(value, maximum, BAR_SPACE),
                    "text_y": index * (BAR_HEIGHT + GAP) + 13,
                }
            )
    if columns:
        # At least MIN_COLUMNS slots wide, so one or two days do not stretch into a wall of colour.
        width, height = max(len(bars), MIN_COLUMNS) * (COLUMN_WIDTH + 4), COLUMN_HEIGHT
    else:
        width, height = LABEL_WIDTH + BAR_SPACE + 90, max(len(bars), 1) * (BAR_HEIGHT + GAP)
    return {
        "bars": bars,
        "title": title,
        "unit": unit,
        "columns": columns,
        "width": width,
        "height": height,
        "bar_height": BAR_HEIGHT,
        "column_width": COLUMN_WIDTH,
        "label_width": LABEL_WIDTH,
        "value_x": LABEL_WIDTH + BAR_SPACE + 4,
    }


@register.filter
def percent(fraction) -> str:
    """A 0–1 fraction as a percentage for people: 0.4250 → "42.5%"."""
    if fraction is None or fraction == "":
        return "—"
    value = (Decimal(fraction) * 100).quantize(Decimal("0.1"))
    text = f"{value.normalize():f}"
    return f"{text}%"
