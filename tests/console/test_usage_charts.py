"""The daily usage chart: stacked subscription / pay-as-you-go / Extra Usage per day, with a value axis,
date labels, tooltips and an empty state; range presets (issue 19)."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.console.templatetags.usage_charts import _nice_step
from apps.usage.analytics import UsageRow
from tests.plans.factories import put_on_plan

pytestmark = pytest.mark.django_db


def row(day, subscription="0", payg="0", extra="0") -> UsageRow:
    return UsageRow(
        label=day.isoformat(), group=day, requests=1, input_tokens=0, output_tokens=0, flows=Decimal(0),
        subscription_requests=0, subscription_usd=Decimal(subscription), payg_usd=Decimal(payg),
        payg_requests=0, extra_usd=Decimal(extra), extra_requests=0,
    )  # fmt: skip


def render(rows, language="en") -> str:
    from django.template import Context, Template
    from django.utils import translation

    with translation.override(language):
        return Template('{% load usage_charts %}{% stacked_day_chart rows "Cost per day" %}').render(
            Context({"rows": rows})
        )


@pytest.mark.parametrize(
    ("maximum", "step"), [("0.37", "0.1"), ("3.2", "1"), ("7", "2"), ("180", "50"), ("0.004", "0.001")]
)
def test_axis_steps_are_round(maximum, step):
    assert _nice_step(Decimal(maximum)) == Decimal(step)


def test_columns_stack_the_three_kinds_with_an_axis_dates_and_tooltips():
    day = timezone.now().date()
    html = render([row(day - timedelta(days=1), subscription="1.00", payg="0.50", extra="0.50"), row(day)])
    axis = re.findall(r'text-anchor="end">([^<]+)<', html)
    assert axis == ["$0.00", "$0.50", "$1.00", "$1.50", "$2.00"]
    first = html.split('class="chart-column"')[1]
    assert [s for s in re.findall(r'class="usage-seg-(\w+)"', first)] == ["subscription", "payg", "extra"]
    heights = [Decimal(h) for h in re.findall(r'height="([\d.]+)" class="usage-seg', first)]
    assert heights[0] == heights[1] * 2 == heights[2] * 2  # $1.00 is twice $0.50
    assert "$2.00 (Subscription (list cost) $1.00 · Pay-as-you-go $0.50 · Extra Usage $0.50)" in first
    labels = re.findall(r'class="chart-x-label">([^<]+)<', html)
    assert labels == [f"{day - timedelta(days=1):%B} {(day - timedelta(days=1)).day}", f"{day:%B} {day.day}"]


def test_dates_follow_the_page_language():
    day = timezone.now().date()
    html = render([row(day, payg="1")], language="zh-hans")
    assert f">{day.month}月{day.day}日<" in html
    assert "按量付费" in html


def test_empty_state():
    html = render([row(timezone.now().date())])
    assert 'data-testid="chart-empty"' in html and "<svg" not in html


def test_range_presets_link_to_their_days(user_client, user):
    now = timezone.now()
    put_on_plan(user, "pro", start=now - timedelta(days=12), end=now + timedelta(days=18))
    html = user_client.get("/console/usage/").content.decode()
    today = now.date()
    expected = {
        "24h": (now - timedelta(hours=24)).date(),
        "7d": today - timedelta(days=6),
        "30d": today - timedelta(days=29),
        "cycle": (now - timedelta(days=12)).date(),
    }
    for key, start in expected.items():
        assert (
            f'href="?start={start:%Y-%m-%d}&amp;end={today:%Y-%m-%d}"'
            in html.split(f'data-testid="range-{key}"')[0].rsplit("<a", 1)[1]
        )
    assert 'aria-current="true"\n         data-testid="range-7d"' in html  # the default range


# --- By model and by key: horizontal bars on a value axis (issue 19 item 5) --------------------------------


def model_row(label, flows="0", cost="0") -> UsageRow:
    return UsageRow(
        label=label, group=label, requests=1, input_tokens=0, output_tokens=0, flows=Decimal(flows),
        subscription_requests=0, subscription_usd=Decimal(0), payg_usd=Decimal(cost),
        payg_requests=0, extra_usd=Decimal(0), extra_requests=0,
    )  # fmt: skip


def render_bars(rows, attribute, unit="flows", language="en") -> str:
    from django.template import Context, Template
    from django.utils import translation

    with translation.override(language):
        return Template(
            '{% load i18n usage_charts %}{% translate "Flows by model" as title %}'
            "{% bar_chart rows attribute title unit %}"
        ).render(Context({"rows": rows, "attribute": attribute, "unit": unit}))


def ticks(html) -> list[str]:
    return [" ".join(text.split()) for text in re.findall(r"data-tick=\"[^\"]+\">([^<]+)<", html)]


def test_bars_have_labels_values_and_a_round_axis():
    html = render_bars(
        [
            model_row("anthropic/claude-opus-4.6", flows="1234.6"),
            model_row("openai/gpt-5-mini-2025-08-07-preview", flows="300"),
        ],
        "flows",
    )
    assert ticks(html) == ["0", "500", "1,000", "1,500"]  # 1,234.6 → steps of 500 up to 1,500
    assert re.findall(r'<line x1="([\d.]+)" x2="[\d.]+" y1="0"', html) == [
        "150.0",
        "200.0",
        "250.0",
        "300.0",
        "150",
    ]
    assert re.findall(r'class="usage-chart-label">([^<]+)<', html) == [
        "claude-opus-4.6",
        "gpt-5-mini-2025-08-0…",
    ]
    assert re.findall(r'data-testid="chart-value">([^<]+)<', html) == ["1,234.6", "300"]
    # Bars on the axis's scale: 150 units for 1,500 Flows.
    assert re.findall(r'width="([\d.]+)" height="18" class="usage-bar"', html) == ["123.5", "30.0"]
    assert "<title>anthropic/claude-opus-4.6: 1,234.6</title>" in html
    assert (
        'aria-label="Flows by model: anthropic/claude-opus-4.6 1,234.6; openai/gpt-5-mini-2025-08-07-preview 300"'
        in html
    )


def test_cost_bars_show_dollars_and_the_chinese_page_its_caption():
    rows = [model_row("Production backend", cost="12.5"), model_row("Notebook", cost="3.25")]
    html = render_bars(rows, "payg_usd", unit="usd", language="zh-hans")
    assert ticks(html) == ["$0.00", "$5.00", "$10.00", "$15.00"]
    assert re.findall(r'data-testid="chart-value">([^<]+)<', html) == ["$12.50", "$3.25"]
    assert "<figcaption>按模型统计 Flows</figcaption>" in html


def test_bars_on_the_usage_page(user_client, user):
    from django.core.management import call_command

    call_command("simulate_traffic", email=[user.email], days=1, verbosity=0)
    html = user_client.get("/zh-hans/console/usage/").content.decode()
    assert html.count('data-testid="chart-x-axis"') == 4  # Flows and cost, by model and by key


def render_columns(rows, language="en") -> str:
    from django.template import Context, Template
    from django.utils import translation

    with translation.override(language):
        return Template(
            '{% load usage_charts %}{% bar_chart rows "flows" "Flows by day" "flows" True %}'
        ).render(Context({"rows": rows}))


def flows_row(day, flows) -> UsageRow:
    return UsageRow(
        label=day.isoformat(), group=day, requests=1, input_tokens=0, output_tokens=0, flows=Decimal(flows),
        subscription_requests=1, subscription_usd=Decimal(0), payg_usd=Decimal(0),
        payg_requests=0, extra_usd=Decimal(0), extra_requests=0,
    )  # fmt: skip


def test_flows_by_day_columns_have_a_value_axis_dates_and_tooltips():
    from datetime import date

    days = [date(2026, 11, 1) + timedelta(days=i) for i in range(3)]
    html = render_columns([flows_row(days[0], "12.5"), flows_row(days[1], "0"), flows_row(days[2], "37")])
    # 37 Flows → a round axis 0, 10, 20, 30, 40 (step 10); the plot is 190 units high above y=200.
    assert re.findall(r'data-tick="([^"]+)"', html) == ["0", "10", "20", "30", "40"]
    assert re.findall(
        r'<rect x="[^"]+" y="([^"]+)" width="[^"]+" height="([^"]+)" class="usage-bar"', html
    ) == [
        ("140.6", "59.4"),  # 12.5 / 40 × 190
        ("200.0", "0.0"),
        ("24.2", "175.8"),  # 37 / 40 × 190 = 175.75: y 24.25 and height rounded half-even for display
    ]
    assert re.findall(r'data-day="([^"]+)"', html) == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert "<title>Nov. 1, 2026: 12.5</title>" in html
    assert ">November 1</text>" in html  # date labels under the columns
    chinese = render_columns([flows_row(days[0], "12.5")], language="zh-hans")
    assert "<title>2026年11月1日: 12.5</title>" in chinese
    assert ">11月1日</text>" in chinese
