import pytest
from django.urls import reverse

from apps.accounts.models import AccountStatus
from apps.core.models import AuditEvent
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


def change_form_data(account, **overrides):
    data = {
        "email": account.email,
        "name": account.name,
        "preferred_language": account.preferred_language,
        "status": account.status,
        "status_reason": "",
        "flow_value_multiplier": str(account.flow_value_multiplier),
        "is_active": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "audit_events-TOTAL_FORMS": "0",
        "audit_events-INITIAL_FORMS": "0",
        "audit_events-MIN_NUM_FORMS": "0",
        "audit_events-MAX_NUM_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_status_change_without_a_reason_is_refused(staff_client):
    account = UserFactory()
    url = reverse("admin:accounts_user_change", args=[account.pk])
    response = staff_client.post(url, change_form_data(account, status=AccountStatus.ABUSIVE))
    assert response.status_code == 200
    assert "A reason is required" in response.content.decode()
    account.refresh_from_db()
    assert account.status == AccountStatus.HEALTHY
    assert not AuditEvent.objects.filter(event_type="account.status_changed").exists()


def test_status_change_with_a_reason_writes_one_audit_event(staff_client):
    account = UserFactory()
    url = reverse("admin:accounts_user_change", args=[account.pk])
    response = staff_client.post(
        url, change_form_data(account, status=AccountStatus.SUSPENDED, status_reason="Chargeback fraud")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    account.refresh_from_db()
    assert account.status == AccountStatus.SUSPENDED
    events = AuditEvent.objects.filter(event_type="account.status_changed", account=account)
    assert events.count() == 1
    event = events.get()
    assert event.actor == staff_client.staff
    assert event.details == {"from": "healthy", "to": "suspended", "reason": "Chargeback fraud"}
    # The trail is shown read-only on the account's page.
    page = staff_client.get(url).content.decode()
    assert "Chargeback fraud" in page


def test_saving_without_a_status_change_writes_no_audit_event(staff_client):
    account = UserFactory()
    url = reverse("admin:accounts_user_change", args=[account.pk])
    response = staff_client.post(url, change_form_data(account, name="Renamed"))
    assert response.status_code == 302
    assert not AuditEvent.objects.exists()
