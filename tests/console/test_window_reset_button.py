"""The "Reset window" button on the 5-hour card (issue #22): confirmation with the resets left."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.core.models import AuditEvent
from apps.plans.models import Subscription
from apps.usage.models import QuotaWindow
from apps.usage.services import meter_authorize
from tests.api_keys.factories import make_key
from tests.plans.factories import put_on_plan


@pytest.fixture
def started(user):
    now = timezone.now()
    put_on_plan(user, "pro", start=now - timedelta(days=1), end=now + timedelta(days=29))
    secret = make_key(account=user)[1]
    meter_authorize(
        request_id="s", api_key=secret, model="deepseek/deepseek-chat", estimated_cost_usd=Decimal("0.01")
    )
    return QuotaWindow.objects.get(account=user, kind="five_hour").started_at


@pytest.mark.django_db
def test_the_card_shows_the_resets_left_and_the_button(user, user_client, started):
    page = user_client.get("/console/subscription/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Resets left this billing cycle: 4 of 4" in html
    assert 'data-testid="window-reset"' in html
    assert "You have 4 of 4 resets left in this billing cycle" in html  # the confirmation


@pytest.mark.django_db
def test_without_javascript_the_reset_asks_first_then_resets_once(user, user_client, started):
    value = started.isoformat()
    confirm = user_client.post("/console/subscription/window-reset/", {"window_started_at": value})
    assert confirm.status_code == 200
    assert "You have 4 of 4 resets left" in confirm.content.decode()
    assert Subscription.objects.get(account=user).window_resets_used == 0

    done = user_client.post(
        "/console/subscription/window-reset/", {"window_started_at": value, "confirm": "1"}
    )
    again = user_client.post(
        "/console/subscription/window-reset/", {"window_started_at": value, "confirm": "1"}
    )

    assert done.status_code == again.status_code == 302
    assert Subscription.objects.get(account=user).window_resets_used == 1
    assert AuditEvent.objects.filter(event_type="quota.window_reset", actor=user).count() == 1


@pytest.mark.django_db
def test_a_bad_window_start_is_refused_and_changes_nothing(user, user_client, started):
    response = user_client.post(
        "/console/subscription/window-reset/", {"window_started_at": "x" * 200, "confirm": "1"}
    )
    assert response.status_code == 302
    assert Subscription.objects.get(account=user).window_resets_used == 0


@pytest.mark.django_db
def test_auto_reset_can_be_turned_on_and_off(user, user_client, started):
    user_client.post("/console/subscription/window-auto-reset/", {"enabled": "1"})
    assert Subscription.objects.get(account=user).window_auto_reset is True
    user_client.post("/console/subscription/window-auto-reset/", {"enabled": "0"})
    assert Subscription.objects.get(account=user).window_auto_reset is False
    assert AuditEvent.objects.filter(event_type__startswith="quota.window_auto_reset").count() == 2


@pytest.mark.django_db
def test_free_shows_no_reset_button(user, user_client):
    html = user_client.get("/console/subscription/").content.decode()
    assert 'data-testid="window-resets"' not in html
