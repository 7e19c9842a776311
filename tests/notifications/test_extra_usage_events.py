"""Extra Usage events (issue 18): "took over" once per window instance, "returned" when that window rolls."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.api_keys.models import ApiKeyKind
from apps.extra_usage.services import extra_usage_enable
from apps.notifications.models import Notification
from apps.usage.services import meter_authorize, meter_usage
from tests.api_keys.factories import make_key
from tests.usage.factories import cent_rate, make_plan, put_on_plan
from tests.wallet.factories import credit

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MODEL = "deepseek/deepseek-chat"


def call(secret, request_id, now, cost="0.05"):
    result = meter_authorize(
        request_id=request_id, api_key=secret, model=MODEL, estimated_cost_usd=Decimal("0.05"), now=now
    )
    meter_usage(request_id=request_id, input_tokens=1, output_tokens=1, cost_usd=Decimal(cost), now=now)
    return result


def kinds(user) -> list[str]:
    return list(Notification.objects.filter(account=user).order_by("id").values_list("kind", flat=True))


@pytest.mark.django_db
def test_extra_usage_took_over_once_then_requests_returned_when_the_window_reset(user):
    cent_rate()
    put_on_plan(user, make_plan(q5h="10", weekly="100", monthly="200"), start=T0 - timedelta(days=1))
    _sub, secret = make_key(account=user, name="laptop")
    payg, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="app")
    credit(user, "5.00")
    extra_usage_enable(account=user, payg_key_id=payg.pk, now=T0)
    call(secret, "s1", T0)
    call(secret, "s2", T0 + timedelta(minutes=1))  # 10 of 10 Flows
    assert call(secret, "e1", T0 + timedelta(minutes=2)).extra_usage is True
    assert call(secret, "e2", T0 + timedelta(minutes=3)).extra_usage is True
    engaged = Notification.objects.filter(account=user, kind="extra_usage.engaged")
    assert engaged.count() == 1
    assert engaged.get().data == {"window": "five_hour", "resets_at": (T0 + timedelta(hours=5)).isoformat()}
    assert "extra_usage.returned" not in kinds(user)

    back = call(secret, "s3", T0 + timedelta(hours=5, minutes=1))  # the window rolled
    assert back.extra_usage is False
    assert kinds(user).count("extra_usage.returned") == 1
    assert kinds(user).count("quota.restored") == 1
    assert Notification.objects.get(kind="extra_usage.returned").data == {"window": "five_hour"}
