"""Concurrent debits on PostgreSQL: the wallet row lock keeps the ledger, grants and balances exact."""

from decimal import Decimal

import pytest
from django.core import mail

from apps.billing.models import Payment, PaymentPurpose, PaymentStatus
from apps.billing.services import payment_method_save
from apps.wallet.models import CreditGrant, LedgerEntry, Wallet
from apps.wallet.services import wallet_auto_topup_update, wallet_debit
from tests.accounts.factories import UserFactory
from tests.helpers import raised, run_concurrently
from tests.wallet.factories import assert_ledger_consistent, paid_topup

D = Decimal
THREADS = 50


def debit_concurrently(account, amount: str, count: int = THREADS) -> list[BaseException]:
    return raised(
        run_concurrently(
            lambda n: wallet_debit(account=account, amount=D(amount), idempotency_key=f"usage:{n}"), count
        )
    )


@pytest.mark.django_db(transaction=True)
def test_50_concurrent_debits_overdrawing_keep_the_ledger_exact():
    account = UserFactory()
    paid_topup(account, "100.00")  # 120 = 100 top-up + 20 bonus
    assert debit_concurrently(account, "2.60") == []  # 130 in total: 10 short
    wallet = assert_ledger_consistent(account)
    assert (wallet.total_balance, wallet.arrears, wallet.top_up_balance, wallet.bonus_balance) == (
        D("-10"),
        D("10"),
        D("0"),
        D("0"),
    )
    assert LedgerEntry.objects.filter(entry_type="usage").count() == THREADS
    assert not CreditGrant.objects.filter(remaining__lt=0).exists()
    low_balance = [message for message in mail.outbox if "balance is low" in message.subject]
    assert len(low_balance) == 1  # one low-balance crossing, one e-mail


@pytest.mark.django_db(transaction=True)
def test_50_concurrent_debits_charge_exactly_one_auto_topup_per_crossing():
    account = UserFactory()
    payment_method_save(account=account, provider="sandbox", external_id="pm_ok", last4="4242")
    paid_topup(account, "100.00")  # 120
    wallet_auto_topup_update(account=account, enabled=True, threshold=D("50.00"), amount=D("100.00"))
    # 50 × $2 = $100: the balance crosses $50 once; the $100 (+$20 bonus) auto top-up keeps it above.
    assert debit_concurrently(account, "2.00") == []
    payments = Payment.objects.filter(account=account, purpose=PaymentPurpose.AUTO_TOPUP)
    assert [(p.status, p.amount_usd) for p in payments] == [(PaymentStatus.SUCCEEDED, D("100.00"))]
    wallet = assert_ledger_consistent(account)
    assert wallet.total_balance == D("140")  # 120 − 100 + 100 + 20
    assert (wallet.auto_topup_pending, wallet.auto_topup_seq, wallet.auto_topup_enabled) == (False, 1, True)
    assert not CreditGrant.objects.filter(remaining__lt=0).exists()
    assert Wallet.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_of_one_staff_grant_form_grant_once():
    from apps.core.models import AuditEvent
    from apps.wallet.services import wallet_staff_grant
    from tests.accounts.factories import StaffFactory

    account, staff = UserFactory(), StaffFactory()

    def submit(_index: int):
        return wallet_staff_grant(
            account=account, kind="gift", amount=D("5"), reason="Welcome", actor=staff, operation_id="op-1"
        )

    assert raised(run_concurrently(submit, 8)) == []
    assert LedgerEntry.objects.filter(idempotency_key="staff:op-1").count() == 1
    assert AuditEvent.objects.filter(event_type="wallet.staff_grant").count() == 1
    assert assert_ledger_consistent(account).total_balance == D("5")
