"""`GET subscription/detail`: exact numbers from usage metered through the services at controlled times."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.accounts.models import AccountStatus, User
from apps.api_keys.models import ApiKeyKind
from apps.core.dates import add_months
from apps.plans.models import Plan, Subscription
from apps.plans.services import subscription_upgrade
from apps.usage.selectors import quota_windows_for_account
from tests.api_keys.factories import make_key
from tests.management_api.factories import get, iso, management_client, metered, on_plan
from tests.plans.factories import save_card

pytestmark = pytest.mark.django_db

D = Decimal


def detail(client) -> dict:
    response = get(client, "subscription/detail")
    assert response.status_code == 200, response.content
    body = json.loads(response.content, parse_float=Decimal)
    assert body["success"] is True
    return body["data"]


def window(*, pct, resets_at, max_flows, used, remaining, used_usd, max_usd) -> dict:
    return {
        "usage_percentage": D(pct),
        "resets_at": resets_at,
        "max_flows": D(max_flows),
        "used_flows": D(used),
        "remaining_flows": D(remaining),
        "used_value_usd": D(used_usd),
        "max_value_usd": D(max_usd),
    }


def test_free_account_with_no_usage(user):
    client, _key = management_client(user)
    subscription = Subscription.objects.get(account=user)
    assert detail(client) == {
        "plan": {
            "tier": "free",
            "amount_usd": D("0.0"),
            "interval": "month",
            "expires_at": iso(subscription.current_period_end),
        },
        "currency": "usd",
        "base_usd_per_flow": D("0.025252525253"),
        "effective_usd_per_flow": D("0.025252525253"),
        "account_status": "healthy",
        # 5 × 0.025252525253 = 0.126…  → $0.13; 50.4 × … = 1.2727… → $1.27
        "quota_5_hour": window(
            pct="0.0",
            resets_at=None,
            max_flows="5.0",
            used="0.0",
            remaining="5.0",
            used_usd="0.0",
            max_usd="0.13",
        ),
        "quota_7_day": window(
            pct="0.0",
            resets_at=None,
            max_flows="50.4",
            used="0.0",
            remaining="50.4",
            used_usd="0.0",
            max_usd="1.27",
        ),
        "quota_monthly": {"max_flows": D("216.0"), "max_value_usd": D("5.45")},
        "resets_remaining": 0,  # extension field (issue #22): none on Free
    }


@pytest.fixture
def pro_mid_window(user):
    """Pro since 10 days ago; two requests 2 h and 1 h ago: $0.50 → 19.8 Flows, $0.25 → 9.9 Flows."""
    now = timezone.now()
    start = now - timedelta(days=10)
    subscription = on_plan(user, "pro", start=start)
    _key, secret = make_key(account=user, kind=ApiKeyKind.SUBSCRIPTION)
    first = now - timedelta(hours=2)
    metered(secret, cost="0.50", at=first)
    metered(secret, cost="0.25", at=now - timedelta(hours=1))
    return subscription, first


def test_pro_account_mid_window(user, pro_mid_window, django_assert_max_num_queries):
    subscription, first = pro_mid_window
    client, _key = management_client(user)
    with django_assert_max_num_queries(8):  # key, its counters, subscription, windows, rates: never per event
        data = detail(client)
    assert data["plan"] == {
        "tier": "pro",
        "amount_usd": D("20.0"),
        "interval": "month",
        "expires_at": iso(subscription.current_period_end),
    }
    # 29.7 Flows used; 29.7 × 0.025252525253 = 0.75000… → $0.75; 50 × rate → $1.26; 504 × rate → $12.73.
    assert data["quota_5_hour"] == window(
        pct="0.594",
        resets_at=iso(first + timedelta(hours=5)),
        max_flows="50.0",
        used="29.7",
        remaining="20.3",
        used_usd="0.75",
        max_usd="1.26",
    )
    assert data["quota_7_day"] == window(
        pct="0.0589",
        resets_at=iso(first + timedelta(days=7)),
        max_flows="504.0",
        used="29.7",
        remaining="474.3",
        used_usd="0.75",
        max_usd="12.73",
    )
    assert data["quota_monthly"] == {"max_flows": D("2160.0"), "max_value_usd": D("54.55")}
    assert data["resets_remaining"] == 4  # Pro: 4 manual 5-hour window resets per billing cycle
    # The same numbers as the metering selector the subscription page uses.
    views = quota_windows_for_account(account=user)
    assert data["quota_5_hour"]["used_flows"] == views["five_hour"].used_flows
    assert data["quota_7_day"]["remaining_flows"] == views["weekly"].remaining_flows


def test_after_an_upgrade_the_new_maxima_apply_and_used_carries_over(user, pro_mid_window):
    _subscription, first = pro_mid_window
    client, _key = management_client(user)
    save_card(user)
    subscription_upgrade(account=user, new_plan=Plan.objects.get(tier="max"))  # sandbox: paid at once
    data = detail(client)
    assert (data["plan"]["tier"], data["plan"]["amount_usd"]) == ("max", D("100.0"))
    assert data["quota_5_hour"] == window(
        pct="0.099",
        resets_at=iso(first + timedelta(hours=5)),
        max_flows="300.0",
        used="29.7",
        remaining="270.3",
        used_usd="0.75",
        max_usd="7.58",
    )
    assert data["quota_7_day"]["max_flows"] == D("3024.0")
    assert data["quota_7_day"]["used_flows"] == D("29.7")
    assert data["quota_7_day"]["usage_percentage"] == D("0.0098")
    assert data["quota_7_day"]["max_value_usd"] == D("76.36")
    assert data["quota_monthly"] == {"max_flows": D("12960.0"), "max_value_usd": D("327.27")}


def test_abusive_account_effective_rate_is_below_base(user, settings):
    settings.FLOWPORT_ABUSIVE_FLOW_MULTIPLIER = Decimal("0.8")
    User.objects.filter(pk=user.pk).update(status=AccountStatus.ABUSIVE)
    user.refresh_from_db()
    now = timezone.now()
    on_plan(user, "pro", start=now - timedelta(days=3))
    _key, secret = make_key(account=user, kind=ApiKeyKind.SUBSCRIPTION)
    first = now - timedelta(minutes=30)
    metered(secret, cost="0.50", at=first)  # 0.50 / 0.020202020202 = 24.75 Flows (vs 19.8 at the base rate)
    client, _mkey = management_client(user)
    data = detail(client)
    assert data["account_status"] == "abusive"
    assert data["base_usd_per_flow"] == D("0.025252525253")
    assert data["effective_usd_per_flow"] == D("0.020202020202")  # base × 0.8, 12 places
    assert data["quota_5_hour"] == window(
        pct="0.495",
        resets_at=iso(first + timedelta(hours=5)),
        max_flows="50.0",
        used="24.75",
        remaining="25.25",
        used_usd="0.5",
        max_usd="1.01",  # 50 × 0.020202020202 = 1.0101… (at the effective rate)
    )
    assert data["quota_monthly"]["max_value_usd"] == D("43.64")  # 2160 × 0.020202020202 = 43.6363…


def test_idle_window_after_reset(user):
    now = timezone.now()
    on_plan(user, "pro", start=now - timedelta(days=3))
    _key, secret = make_key(account=user, kind=ApiKeyKind.SUBSCRIPTION)
    first = now - timedelta(hours=6)
    metered(secret, cost="0.50", at=first)
    client, _mkey = management_client(user)
    data = detail(client)
    assert data["quota_5_hour"] == window(
        pct="0.0",
        resets_at=None,
        max_flows="50.0",
        used="0.0",
        remaining="50.0",
        used_usd="0.0",
        max_usd="1.26",
    )
    assert data["quota_7_day"]["resets_at"] == iso(first + timedelta(days=7))
    assert data["quota_7_day"]["used_flows"] == D("19.8")


def test_free_cycle_not_yet_rolled_expires_at_the_end_of_the_cycle_containing_now(user):
    now = timezone.now()
    start = now - timedelta(days=45)
    Subscription.objects.filter(account=user).update(
        current_period_start=start, current_period_end=start + timedelta(days=31)
    )
    client, _key = management_client(user)
    expires = detail(client)["plan"]["expires_at"]
    assert expires == iso(add_months(start + timedelta(days=31), 1))
