from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from apps.billing.models import Payment, PaymentPurpose, PaymentStatus
from apps.billing.services import payment_method_save, payment_succeed
from apps.wallet.models import CreditGrant, EntryType, LedgerEntry, Wallet
from apps.wallet.selectors import wallet_breakdown, wallet_breakdown_total
from apps.wallet.services import (
    wallet_auto_topup_update,
    wallet_debit,
    wallet_low_balance_alert_update,
    wallet_topup_fulfil,
)
from apps.wallet.tasks import wallet_expire_bonuses
from tests.accounts.factories import UserFactory
from tests.wallet.factories import assert_ledger_consistent, credit, paid_topup

pytestmark = pytest.mark.django_db
D = Decimal


def test_topup_of_100_gives_120_and_a_replay_grants_nothing_more(user):
    payment = paid_topup(user, "100.00")
    wallet = assert_ledger_consistent(user)
    assert (wallet.total_balance, wallet.top_up_balance, wallet.bonus_balance) == (
        D("120"),
        D("100"),
        D("20"),
    )
    entries = list(LedgerEntry.objects.filter(wallet=wallet).order_by("id"))
    assert [(e.entry_type, e.amount, e.bucket, e.payment_id) for e in entries] == [
        (EntryType.TOP_UP, D("100"), "top_up", payment.pk),
        (EntryType.BONUS, D("20"), "bonus", payment.pk),
    ]
    assert entries[0].idempotency_key == f"topup:{payment.idempotency_key}"
    assert entries[1].idempotency_key == f"bonus:{payment.idempotency_key}"
    payment_succeed(payment_id=payment.pk)  # the webhook arrives again
    wallet_topup_fulfil(payment)  # and even the handler itself runs twice
    wallet = assert_ledger_consistent(user)
    assert wallet.total_balance == D("120")
    assert LedgerEntry.objects.count() == 2
    assert CreditGrant.objects.count() == 2


def test_bonus_expiry_setting_dates_the_bonus_grant(user, settings):
    settings.FLOWPORT_BONUS_EXPIRY_DAYS = 30
    before = timezone.now()
    paid_topup(user, "50.00")
    bonus = CreditGrant.objects.get(bucket="bonus")
    top_up = CreditGrant.objects.get(bucket="top_up")
    assert bonus.original_amount == D("10")
    assert before + timedelta(days=30) <= bonus.expires_at <= timezone.now() + timedelta(days=30)
    assert top_up.expires_at is None


def test_debits_spend_bonus_first_by_expiry_then_top_ups_oldest_first(user):
    now = timezone.now()
    old_top_up = credit(user, "10.00").grant
    new_top_up = credit(user, "20.00").grant
    never = credit(user, "4.00", "gift").grant
    late = credit(user, "5.00", "compensation", expires_at=now + timedelta(days=10)).grant
    soon = credit(user, "3.00", "referral", expires_at=now + timedelta(days=2)).grant

    result = wallet_debit(account=user, amount=D("15.50"), idempotency_key="usage:r1", description="gpt-5")
    assert [(c.grant_id, c.amount) for c in result.consumed] == [
        (soon.pk, D("3")),
        (late.pk, D("5")),
        (never.pk, D("4")),
        (old_top_up.pk, D("3.5")),
    ]
    assert (result.from_bonus, result.from_top_up, result.shortfall) == (D("12"), D("3.5"), D("0"))
    remaining = {g.pk: g.remaining for g in CreditGrant.objects.all()}
    assert remaining == {
        soon.pk: D("0"),
        late.pk: D("0"),
        never.pk: D("0"),
        old_top_up.pk: D("6.5"),
        new_top_up.pk: D("20"),
    }
    wallet = assert_ledger_consistent(user)
    assert (wallet.total_balance, wallet.bonus_balance, wallet.top_up_balance) == (
        D("26.5"),
        D("0"),
        D("26.5"),
    )

    replay = wallet_debit(account=user, amount=D("15.50"), idempotency_key="usage:r1")
    assert replay.replayed is True
    assert replay.consumed == result.consumed
    assert replay.entry_id == result.entry_id
    assert LedgerEntry.objects.filter(entry_type=EntryType.USAGE).count() == 1
    assert assert_ledger_consistent(user).total_balance == D("26.5")

    second = wallet_debit(account=user, amount=D("7.000001"), idempotency_key="usage:r2")
    assert [(c.grant_id, c.amount) for c in second.consumed] == [
        (old_top_up.pk, D("6.5")),
        (new_top_up.pk, D("0.500001")),
    ]
    assert CreditGrant.objects.get(pk=new_top_up.pk).remaining == D("19.499999")
    assert assert_ledger_consistent(user).total_balance == D("19.499999")


def test_a_debit_past_the_balance_leaves_arrears_paid_first_by_the_next_credit(user):
    credit(user, "10.00")
    credit(user, "2.00", "gift")
    result = wallet_debit(account=user, amount=D("15.25"), idempotency_key="usage:big")
    assert result.shortfall == D("3.25")
    assert result.balance_after == D("-3.25")
    wallet = assert_ledger_consistent(user)
    assert (wallet.total_balance, wallet.arrears, wallet.top_up_balance, wallet.bonus_balance) == (
        D("-3.25"),
        D("3.25"),
        D("0"),
        D("0"),
    )
    assert not CreditGrant.objects.filter(remaining__lt=0).exists()

    paid_topup(user, "100.00")  # top-up 100 pays the 3.25 first; the bonus lands whole
    wallet = assert_ledger_consistent(user)
    assert (wallet.total_balance, wallet.arrears, wallet.top_up_balance, wallet.bonus_balance) == (
        D("116.75"),
        D("0"),
        D("96.75"),
        D("20"),
    )
    top_up_entry = LedgerEntry.objects.get(entry_type=EntryType.TOP_UP, payment__isnull=False)
    assert (top_up_entry.amount, top_up_entry.top_up_delta, top_up_entry.arrears_delta) == (
        D("100"),
        D("96.75"),
        D("-3.25"),
    )
    assert CreditGrant.objects.get(pk=top_up_entry.grant_id).remaining == D("96.75")


def test_a_credit_smaller_than_the_arrears_only_reduces_them(user):
    wallet_debit(account=user, amount=D("8"), idempotency_key="usage:x")
    credit(user, "5.00", "compensation")
    wallet = assert_ledger_consistent(user)
    assert (wallet.total_balance, wallet.arrears, wallet.bonus_balance) == (D("-3"), D("3"), D("0"))


def test_bonus_expiry_moves_the_remainder_to_expired_once(user, settings):
    settings.FLOWPORT_BONUS_EXPIRY_DAYS = 30
    paid_topup(user, "100.00")
    wallet_debit(account=user, amount=D("5"), idempotency_key="usage:1")  # from the bonus: 15 left
    bonus = CreditGrant.objects.get(bucket="bonus")
    CreditGrant.objects.filter(pk=bonus.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert wallet_expire_bonuses.delay().get() == 1
    assert wallet_expire_bonuses.delay().get() == 0
    expired = LedgerEntry.objects.get(entry_type=EntryType.EXPIRED)
    assert (expired.amount, expired.bonus_delta, expired.grant_id) == (D("-15"), D("-15"), bonus.pk)
    wallet = assert_ledger_consistent(user)
    assert (wallet.total_balance, wallet.bonus_balance, wallet.top_up_balance) == (D("100"), D("0"), D("100"))


def test_a_debit_never_spends_expired_bonus_even_before_the_job_runs(user):
    credit(user, "10.00")
    credit(user, "5.00", "gift", expires_at=timezone.now() - timedelta(seconds=1))
    result = wallet_debit(account=user, amount=D("2"), idempotency_key="usage:1")
    assert result.from_top_up == D("2")
    assert LedgerEntry.objects.filter(entry_type=EntryType.EXPIRED).get().amount == D("-5")
    assert assert_ledger_consistent(user).total_balance == D("8")
    wallet_expire_bonuses.delay()
    assert LedgerEntry.objects.filter(entry_type=EntryType.EXPIRED).count() == 1


def test_breakdown_sums_the_ledger_per_type(user):
    paid_topup(user, "100.00")
    credit(user, "7.00", "gift")
    credit(user, "3.00", "referral")
    credit(user, "2.50", "compensation")
    credit(user, "1.00", "adjustment")
    wallet_debit(account=user, amount=D("30.123456"), idempotency_key="usage:1")
    paid_topup(UserFactory(), "20.00")  # another account's ledger is not counted
    rows = wallet_breakdown(account=user)
    assert [(value, amount) for value, _label, amount in rows] == [
        ("top_up", D("100")),
        ("bonus", D("20")),
        ("gift", D("7")),
        ("referral", D("3")),
        ("compensation", D("2.5")),
        ("adjustment", D("1")),
        ("expired", D("0")),
        ("usage", D("-30.123456")),
        ("refund", D("0")),
    ]
    assert wallet_breakdown_total(rows) == D("103.376544") == assert_ledger_consistent(user).total_balance


@pytest.mark.parametrize("amount", ["10.00"])
def test_auto_topup_charges_once_per_crossing_with_the_bonus(
    user, amount, django_capture_on_commit_callbacks
):
    payment_method_save(account=user, provider="sandbox", external_id="pm_ok", last4="4242")
    paid_topup(user, "20.00")  # 24.00
    wallet_auto_topup_update(account=user, enabled=True, threshold=D(amount), amount=D("50.00"))
    with django_capture_on_commit_callbacks(execute=True):
        wallet_debit(account=user, amount=D("10"), idempotency_key="u1")  # 14: above
    assert not Payment.objects.filter(purpose=PaymentPurpose.AUTO_TOPUP).exists()
    with django_capture_on_commit_callbacks(execute=True):
        wallet_debit(account=user, amount=D("5"), idempotency_key="u2")  # 9: crossing
    payment = Payment.objects.get(purpose=PaymentPurpose.AUTO_TOPUP)
    wallet = Wallet.objects.get(account=user)
    assert (payment.status, payment.amount_usd) == (PaymentStatus.SUCCEEDED, D("50.00"))
    assert payment.idempotency_key == f"auto_topup:{wallet.pk}:1"
    assert wallet.auto_topup_pending is False
    assert wallet.total_balance == D("69")  # 9 + 50 + 10 bonus
    assert assert_ledger_consistent(user).bonus_balance == D("10")


def test_failed_auto_topup_turns_it_off_and_emails_once(user, django_capture_on_commit_callbacks):
    payment_method_save(account=user, provider="sandbox", external_id="pm_declined", last4="0002")
    paid_topup(user, "10.00")  # 12.00
    wallet_auto_topup_update(account=user, enabled=True, threshold=D("10.00"), amount=D("25.00"))
    wallet_low_balance_alert_update(account=user, enabled=False, threshold=D("3"))
    with django_capture_on_commit_callbacks(execute=True):
        wallet_debit(account=user, amount=D("4"), idempotency_key="u1")
    payment = Payment.objects.get(purpose=PaymentPurpose.AUTO_TOPUP)
    assert payment.status == PaymentStatus.FAILED
    wallet = Wallet.objects.get(account=user)
    assert (wallet.auto_topup_enabled, wallet.auto_topup_pending) == (False, False)
    assert [m.subject for m in mail.outbox] == ["Flowport: Auto top-up failed and was turned off"]
    assert mail.outbox[0].to == [user.email]
    with django_capture_on_commit_callbacks(execute=True):
        wallet_debit(account=user, amount=D("4"), idempotency_key="u2")
    assert Payment.objects.filter(purpose=PaymentPurpose.AUTO_TOPUP).count() == 1
    assert len(mail.outbox) == 1
    assert assert_ledger_consistent(user).total_balance == D("4")


def test_auto_topup_without_a_saved_card_cannot_be_turned_on(user):
    from apps.core.exceptions import ApplicationError

    with pytest.raises(ApplicationError, match="Save a payment method"):
        wallet_auto_topup_update(account=user, enabled=True, threshold=D("10"), amount=D("50"))
    assert not Wallet.objects.filter(account=user, auto_topup_enabled=True).exists()


def test_low_balance_email_once_per_crossing(user, django_capture_on_commit_callbacks):
    credit(user, "10.00")  # alert on by default at $3
    with django_capture_on_commit_callbacks(execute=True):
        wallet_debit(account=user, amount=D("2"), idempotency_key="u1")  # 8
        wallet_debit(account=user, amount=D("5.5"), idempotency_key="u2")  # 2.5: crossing
        wallet_debit(account=user, amount=D("1"), idempotency_key="u3")  # 1.5: still below
    assert [m.subject for m in mail.outbox] == ["Flowport: Your balance is low"]
    assert "below your alert threshold of $3.00" in mail.outbox[0].body
    credit(user, "5.00")  # 6.5: re-armed
    with django_capture_on_commit_callbacks(execute=True):
        wallet_debit(account=user, amount=D("4"), idempotency_key="u4")  # 2.5: second crossing
        wallet_debit(account=user, amount=D("1"), idempotency_key="u5")
    assert len(mail.outbox) == 2


def test_low_balance_email_is_in_the_accounts_language(user, django_capture_on_commit_callbacks):
    user.preferred_language = "zh-hans"
    user.save(update_fields=["preferred_language"])
    credit(user, "5.00")
    with django_capture_on_commit_callbacks(execute=True):
        wallet_debit(account=user, amount=D("4"), idempotency_key="u1")
    assert len(mail.outbox) == 1
    assert "余额" in mail.outbox[0].subject


def test_a_lost_auto_topup_charge_is_retried_once_by_the_job(user):
    from apps.wallet.tasks import wallet_auto_topup_retry_stale

    payment_method_save(account=user, provider="sandbox", external_id="pm_ok", last4="4242")
    paid_topup(user, "20.00")  # 24
    wallet_auto_topup_update(account=user, enabled=True, threshold=D("10"), amount=D("30"))
    wallet_debit(account=user, amount=D("20"), idempotency_key="u1")  # crossing; on_commit never runs here
    wallet = Wallet.objects.get(account=user)
    assert (wallet.auto_topup_pending, wallet.auto_topup_seq) == (True, 1)
    assert wallet_auto_topup_retry_stale.delay().get() == 0  # not stale yet
    Wallet.objects.filter(pk=wallet.pk).update(updated_at=timezone.now() - timedelta(minutes=11))
    assert wallet_auto_topup_retry_stale.delay().get() == 1
    assert wallet_auto_topup_retry_stale.delay().get() == 0
    payment = Payment.objects.get(purpose=PaymentPurpose.AUTO_TOPUP)
    assert payment.status == PaymentStatus.SUCCEEDED
    assert assert_ledger_consistent(user).total_balance == D("40")  # 4 + 30 + 6
