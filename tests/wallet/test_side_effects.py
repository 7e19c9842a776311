"""Issue 13 (2): a notice that fails after the money committed never turns the request into an error.

Tasks run eagerly here and propagate their errors (CELERY_TASK_EAGER_PROPAGATES), as in a deployment
without a broker. The test is transactional so the on-commit callbacks run inside the request, as they do
in production.
"""

import logging
from decimal import Decimal

import pytest
from celery.exceptions import Retry
from django.core.mail.backends.base import BaseEmailBackend

from apps.api_keys.models import ApiKeyKind
from apps.notifications.models import Notification
from apps.notifications.tasks import notification_send_email
from apps.usage.models import UsageEvent
from apps.wallet.models import LedgerEntry, Wallet
from tests.api_keys.factories import make_key
from tests.usage.factories import authorize, gateway_client, usage
from tests.wallet.factories import assert_ledger_consistent, credit


class BrokenMailServer(BaseEmailBackend):
    """Every send fails the way an unreachable SMTP server does; attempts are counted."""

    attempts = 0

    def send_messages(self, email_messages):
        type(self).attempts += 1
        raise ConnectionRefusedError("mail server unreachable")


@pytest.mark.django_db(transaction=True)
def test_a_failing_low_balance_notice_does_not_fail_the_usage_that_debited(user, settings, caplog):
    settings.EMAIL_BACKEND = "tests.wallet.test_side_effects.BrokenMailServer"
    BrokenMailServer.attempts = 0
    credit(user, "5.00")  # the low-balance alert is on by default at $3.00
    _key, secret = make_key(account=user, kind=ApiKeyKind.PAYG)
    client = gateway_client()
    assert authorize(client, "n1", secret, estimate="0.10").status_code == 200
    with caplog.at_level(logging.ERROR, logger="flowport.side_effects"):
        response = usage(client, "n1", cost="2.50")  # 5.00 → 2.50 crosses the $3.00 threshold
    assert response.status_code == 200, response.content
    assert response.json()["data"]["cost_usd"] == "2.500000"
    wallet = Wallet.objects.get(account=user)
    assert wallet.total_balance == Decimal("2.500000")
    assert wallet.low_balance_alert_sent is True
    assert UsageEvent.objects.filter(request_id="n1").count() == 1
    assert LedgerEntry.objects.filter(idempotency_key="usage:n1", amount=Decimal("-2.500000")).count() == 1
    assert_ledger_consistent(user)
    # The notices (the new key's security notice, the low balance) were tried once each, and their
    # failures (a retry scheduled by the task) logged, not answered.
    assert BrokenMailServer.attempts == 2
    assert "notification_send_email" in caplog.text
    assert Notification.objects.filter(account=user, kind="wallet.low_balance").count() == 1


@pytest.mark.django_db
def test_notices_are_retried_by_the_task_system(user, settings):
    settings.EMAIL_BACKEND = "tests.wallet.test_side_effects.BrokenMailServer"
    BrokenMailServer.attempts = 0
    notification = Notification.objects.create(
        account=user, kind="wallet.low_balance", data={"balance_usd": "1.00", "threshold_usd": "3.00"}
    )
    with pytest.raises(Retry) as retry:  # the task hands itself back to Celery to run again later
        notification_send_email.apply(args=(notification.pk,))
    assert isinstance(retry.value.exc, ConnectionRefusedError)
    assert BrokenMailServer.attempts == 1
