"""One sandbox checkout paid from five tabs at once: every tab gets its redirect, the top-up lands once."""

from decimal import Decimal

import pytest
from django.test import Client

from apps.billing.models import Payment, PaymentPurpose, PaymentStatus
from apps.billing.services import checkout_start
from apps.core.models import AuditEvent
from apps.wallet.models import LedgerEntry, Wallet
from tests.billing.factories import PaymentFactory
from tests.threads import run_together
from tests.wallet.factories import assert_ledger_consistent

TABS = 5


@pytest.mark.django_db(transaction=True)
def test_five_concurrent_payments_of_one_checkout_pay_once(user):
    payment = PaymentFactory(account=user, purpose=PaymentPurpose.TOPUP, amount_usd=Decimal("25.00"))
    url = checkout_start(payment=payment)
    clients = []
    for _ in range(TABS):
        client = Client()
        client.force_login(user)
        clients.append(client)

    def pay(index: int) -> int:
        response = clients[index].post(url, {"action": "pay", "card_number": "4242 4242 4242 4242"})
        return response.status_code

    assert run_together(TABS, pay) == [302] * TABS
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert Payment.objects.count() == 1
    assert AuditEvent.objects.filter(event_type="payment.succeeded", subject_id=str(payment.pk)).count() == 1
    # The top-up's handler ran once: $25 plus the 20% bonus.
    wallet = Wallet.objects.get(account=user)
    assert (wallet.top_up_balance, wallet.bonus_balance) == (Decimal("25.00"), Decimal("5.00"))
    assert LedgerEntry.objects.filter(wallet=wallet).count() == 2
    assert_ledger_consistent(user)
