"""An account spend cap (issue #22) also stops Extra Usage, which spends the pay-as-you-go wallet."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.api_keys.models import ApiKeyKind
from apps.extra_usage.services import extra_usage_enable
from apps.usage.models import QuotaWindow, Reservation
from apps.usage.services import meter_authorize, meter_usage
from apps.wallet.exceptions import SpendCapReached
from apps.wallet.models import LedgerEntry, Wallet
from apps.wallet.services import wallet_spend_caps_update
from tests.api_keys.factories import make_key
from tests.usage.factories import cent_rate, make_plan, put_on_plan
from tests.wallet.factories import credit

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MODEL = "deepseek/deepseek-chat"


def _call(secret, request_id, now):
    meter_authorize(
        request_id=request_id, api_key=secret, model=MODEL, estimated_cost_usd=Decimal("0.05"), now=now
    )
    meter_usage(request_id=request_id, input_tokens=1, output_tokens=1, cost_usd=Decimal("0.05"), now=now)


def test_extra_usage_stops_at_the_daily_spend_cap(user):
    cent_rate()
    put_on_plan(user, make_plan(q5h="10", weekly="100", monthly="200"), start=T0 - timedelta(days=1))
    _sub, secret = make_key(account=user)
    payg, _ = make_key(account=user, kind=ApiKeyKind.PAYG)
    credit(user, "5.00")
    extra_usage_enable(account=user, payg_key_id=payg.pk, now=T0)
    wallet_spend_caps_update(
        account=user,
        spend_cap_day=Decimal("0.05"),
        spend_cap_week=None,
        spend_cap_month=None,
        auto_topup_monthly_max=None,
    )
    _call(secret, "w1", T0)
    _call(secret, "w2", T0 + timedelta(minutes=1))  # the 5-hour window is full
    _call(secret, "x1", T0 + timedelta(minutes=2))  # Extra Usage: $0.05 spent, the cap is reached
    before = (
        list(Wallet.objects.filter(account=user).values()),
        LedgerEntry.objects.count(),
        Reservation.objects.count(),
        list(QuotaWindow.objects.filter(account=user).values()),
    )

    with pytest.raises(SpendCapReached) as refused:
        meter_authorize(
            request_id="x2",
            api_key=secret,
            model=MODEL,
            estimated_cost_usd=Decimal("0.05"),
            now=T0 + timedelta(minutes=3),
        )

    assert (refused.value.status, refused.value.type, refused.value.period) == (
        402,
        "spend_cap_reached",
        "day",
    )
    assert refused.value.resets_at == datetime(2026, 3, 3, tzinfo=UTC)
    after = (
        list(Wallet.objects.filter(account=user).values()),
        LedgerEntry.objects.count(),
        Reservation.objects.count(),
        list(QuotaWindow.objects.filter(account=user).values()),
    )
    assert after == before
