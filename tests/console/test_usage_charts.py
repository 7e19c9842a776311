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
