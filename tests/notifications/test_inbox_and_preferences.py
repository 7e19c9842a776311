"""The in-console inbox (bell, list, mark as read) and the preferences page (issue 18): preferences are
respected per channel, and a failing e-mail backend never fails the request that changed the account."""

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from apps.api_keys.models import ApiKey, ApiKeyKind
from apps.api_keys.services import api_key_create
from apps.notifications.models import Notification, NotificationSettings
from apps.notifications.services import notification_create, notification_settings_update
from tests.accounts.factories import UserFactory
from tests.helpers import sign_in

LOW = {"balance_usd": "2.50", "threshold_usd": "3.00"}


class BrokenMailServer(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("mail server unreachable")


@pytest.fixture
def console(client, user):
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_bell_counts_unread_and_the_inbox_marks_them_read(console, user, django_assert_max_num_queries):
    first = notification_create(account=user, kind="wallet.low_balance", data=LOW)
    notification_create(account=user, kind="quota.restored", data={"window": "weekly", "used_flows": "3"})
    other = notification_create(account=UserFactory(), kind="wallet.low_balance", data=LOW)

    page = console.get("/console/").content.decode()
    assert 'data-testid="notification-unread">2<' in page
    with django_assert_max_num_queries(12):
        inbox = console.get("/console/notifications/").content.decode()
    assert inbox.count('data-testid="notification"') == 2
    assert "Your balance is low" in inbox and "Your 7-day window has reset" in inbox

    response = console.post("/console/notifications/", {"notification": str(first.public_id)})
    assert response.status_code == 302
    assert 'data-testid="notification-unread">1<' in console.get("/console/").content.decode()
    console.post("/console/notifications/", {"notification": str(other.public_id)})  # not this account's
    other.refresh_from_db()
    assert other.read_at is None
    assert console.post("/console/notifications/", {"notification": "not-a-uuid"}).status_code == 404
    console.post("/console/notifications/")  # mark all
    assert Notification.objects.filter(account=user, read_at__isnull=True).count() == 0
    assert 'data-testid="notification-unread"' not in console.get("/console/").content.decode()


@pytest.mark.django_db
def test_the_inbox_is_in_chinese_under_the_chinese_prefix(console, user):
    notification_create(account=user, kind="wallet.low_balance", data=LOW)
    page = console.get("/zh-hans/console/notifications/").content.decode()
    assert "你的余额不足" in page


@pytest.mark.django_db
def test_defaults_email_and_inbox_for_money_and_security(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api_key_create(account=user, kind=ApiKeyKind.MANAGEMENT, name="ops")
    notification = Notification.objects.get(account=user)
    assert (notification.kind, notification.in_inbox) == ("security.management_key_created", True)
    assert notification.data["name"] == "ops"
    assert "sk-" in notification.data["key"] and "…" in notification.data["key"]  # masked, never the secret
    assert [message.subject for message in mail.outbox] == ["Flowport: A new management key was created"]


@pytest.mark.django_db
def test_the_preferences_page_turns_channels_off_and_they_are_respected(
    console, user, django_capture_on_commit_callbacks
):
    page = console.get("/console/notifications/preferences/").content.decode()
    assert 'name="security__api_key_created__email"' in page
    assert 'value="80, 95, 100"' in page
    form = {"quota_thresholds": "90, 60"}
    for kind in ("security__api_key_created", "wallet__low_balance"):
        form[f"{kind}__inbox"] = "on"
    form["wallet__low_balance__email"] = "on"
    response = console.post("/console/notifications/preferences/", form)
    assert response.status_code == 302
    settings_row = NotificationSettings.objects.get(account=user)
    assert settings_row.quota_thresholds == [60, 90]
    assert settings_row.channels["security.api_key_created"] == {
        "email": False,
        "inbox": True,
        "webhook": False,
    }

    with django_capture_on_commit_callbacks(execute=True):
        api_key_create(account=user, kind=ApiKeyKind.SUBSCRIPTION, name="ci")
        notification_create(account=user, kind="wallet.low_balance", data=LOW)
        # Everything off for this kind: nothing is recorded or sent.
        notification_create(account=user, kind="subscription.renewal_failed", data={"plan": "Pro"})
    assert [message.subject for message in mail.outbox] == ["Flowport: Your balance is low"]
    assert sorted(Notification.objects.filter(account=user).values_list("kind", flat=True)) == [
        "security.api_key_created",
        "wallet.low_balance",
    ]


@pytest.mark.django_db
def test_inbox_off_keeps_the_email_but_not_the_inbox_entry(user, django_capture_on_commit_callbacks):
    notification_settings_update(
        account=user,
        channels={"wallet.low_balance": {"email": True, "inbox": False, "webhook": False}},
        quota_thresholds=[80, 95, 100],
    )
    with django_capture_on_commit_callbacks(execute=True):
        notification_create(account=user, kind="wallet.low_balance", data=LOW)
    assert len(mail.outbox) == 1
    assert Notification.objects.get(account=user).in_inbox is False


@pytest.mark.django_db
@pytest.mark.parametrize("thresholds", ["10, 95", "80, 95, x", "101", "", "50,60,70,80,90,100"])
def test_bad_thresholds_are_a_form_error_and_change_nothing(console, user, thresholds):
    response = console.post("/console/notifications/preferences/", {"quota_thresholds": thresholds})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not NotificationSettings.objects.filter(account=user).exists()


@pytest.mark.django_db(transaction=True)
def test_a_failing_email_backend_never_fails_the_request(client, settings, caplog):
    settings.EMAIL_BACKEND = "tests.notifications.test_inbox_and_preferences.BrokenMailServer"
    account = UserFactory()
    sign_in(client, account)  # just signed in: creating a key needs no re-authentication
    response = client.post("/console/keys/subscription/create/", {"name": "deploy"})
    assert response.status_code in (200, 302)
    assert ApiKey.objects.filter(account=account, name="deploy").count() == 1
    assert Notification.objects.filter(account=account, kind="security.api_key_created").count() == 1
    assert "notification_send_email" in caplog.text
