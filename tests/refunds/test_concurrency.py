"""A refund submitted from five tabs at once: no tab errors, one refund is made and settles once."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from apps.billing.models import Payment
from apps.plans.models import Subscription
from apps.refunds.models import Refund
from tests.refunds.factories import FLOWS_3_20, paid_cycle, use_flows
from tests.threads import run_together

TABS = 5


@pytest.mark.django_db(transaction=True)
def test_five_concurrent_refund_submits_make_one_refund(user):
    paid_at = timezone.now() - timedelta(hours=10)
    payment = paid_cycle(user, "pro", paid_at=paid_at)
    use_flows(user, FLOWS_3_20, at=paid_at + timedelta(minutes=1))
    clients = []
    for _ in range(TABS):
        client = Client()
        client.force_login(user)
        clients.append(client)
    url = f"/console/subscription/refund/{payment.public_id}/"

    def submit(index: int) -> int:
        return clients[index].post(url, {"confirm": "on"}).status_code

    assert run_together(TABS, submit) == [200] * TABS
    refund = Refund.objects.get()
    # $20 paid − $3.20 used = $16.80 refundable, minus the 5% fee; the sandbox settles it at once.
    assert (refund.amount_usd, refund.status) == (Decimal("15.96"), "succeeded")
    payment.refresh_from_db()
    assert payment.refunded_usd == Decimal("15.96")
    assert Payment.objects.count() == 1
    assert Subscription.objects.get(account=user).plan.tier == "free"
