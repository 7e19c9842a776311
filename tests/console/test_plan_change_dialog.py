"""The change-plan dialog compares the two plans (price, limits, models) and spells out the proration
arithmetic behind the amount charged now (issue 19)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.plans.models import CatalogModel, Plan
from tests.plans.factories import put_on_plan

pytestmark = pytest.mark.django_db


def compare_rows(html: str) -> dict[str, list[str]]:
    table = html.split('data-testid="plan-compare"')[1].split("</table>")[0]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)[1:]:
        cells = [
            re.sub(r"<[^>]+>|\s+", " ", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        rows[cells[0]] = cells[1:]
    return rows


def included(tier: str) -> int:
    return CatalogModel.objects.filter(min_plan__rank__lte=Plan.objects.get(tier=tier).rank).count()


def test_upgrade_dialog_compares_limits_and_models_and_shows_the_arithmetic(user_client, user):
    now = timezone.now()
    put_on_plan(user, "pro", start=now - timedelta(days=6), end=now + timedelta(days=24))
    html = user_client.get(
        "/console/subscription/upgrade/?plan=max", headers={"HX-Request": "true"}
    ).content.decode()
    pro, max_ = Plan.objects.get(tier="pro"), Plan.objects.get(tier="max")
    rows = compare_rows(html)
    assert rows["Price"] == ["$20.00/mo", "$100.00/mo"]
    assert rows["Requests per minute"] == [f"{pro.rpm:,}", f"{max_.rpm:,}"]
    assert rows["Models"] == [str(included("pro")), str(included("max"))]
    assert included("max") > included("pro")
    # Δ = (100 − 20) × 24/30 = $64.00
    assert 'data-testid="upgrade-amount">$64.00<' in html
    proration = re.search(r'data-testid="proration">\s*(.*?)\s*</p>', html, re.S).group(1)
    assert proration == "($100.00 − $20.00) × 24.00 days left ÷ 30.00 days in this cycle = $64.00"


def test_downgrade_dialog_lists_the_models_that_are_no_longer_included(user_client, user):
    now = timezone.now()
    put_on_plan(user, "max", start=now - timedelta(days=6), end=now + timedelta(days=24))
    html = user_client.get(
        "/console/subscription/change/?plan=pro", headers={"HX-Request": "true"}
    ).content.decode()
    assert compare_rows(html)["Price"] == ["$100.00/mo", "$20.00/mo"]
    lost = included("max") - included("pro")
    assert f"{lost} models no longer included" in html


def test_the_dialog_is_in_chinese_on_chinese_pages(user_client, user):
    now = timezone.now()
    put_on_plan(user, "pro", start=now - timedelta(days=6), end=now + timedelta(days=24))
    html = user_client.get(
        "/zh-hans/console/subscription/upgrade/?plan=max", headers={"HX-Request": "true"}
    ).content.decode()
    assert "（$100.00 − $20.00）× 剩余 24.00 天 ÷ 本周期 30.00 天 = $64.00" in html
    assert "每分钟请求数" in html
