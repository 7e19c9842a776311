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
from apps.usage.models import UsageEvent
from apps.wallet.models import LedgerEntry, Wallet
from apps.wallet.tasks import wallet_send_low_balance_alert
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
    # The notice was tried once, and its failure (a retry scheduled by the task) logged, not answered.
    assert BrokenMailServer.attempts == 1
    assert "wallet_send_low_balance_alert" in caplog.text


@pytest.mark.django_db
def test_notices_are_retried_by_the_task_system(user, settings):
    settings.EMAIL_BACKEND = "tests.wallet.test_side_effects.BrokenMailServer"
    BrokenMailServer.attempts = 0
    credit(user, "1.00")
    wallet = Wallet.objects.get(account=user)
    with pytest.raises(Retry) as retry:  # the task hands itself back to Celery to run again later
        wallet_send_low_balance_alert.apply(args=(wallet.pk,))
    assert isinstance(retry.value.exc, ConnectionRefusedError)
    assert BrokenMailServer.attempts == 1
