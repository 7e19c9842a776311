import uuid
from decimal import Decimal

from apps.billing.models import PaymentPurpose
from apps.billing.services import payment_succeed
from apps.wallet.models import Wallet
from apps.wallet.selectors import wallet_grant_balances, wallet_ledger_balances
from apps.wallet.services import wallet_credit
from tests.billing.factories import PaymentFactory


def paid_topup(account, amount: str, purpose=PaymentPurpose.TOPUP):
    """A top-up paid through billing (so the registered TOPUP handler runs)."""
    payment = PaymentFactory(account=account, amount_usd=Decimal(amount), purpose=purpose)
    return payment_succeed(payment_id=payment.pk)


def credit(account, amount: str, source_type: str = "top_up", expires_at=None):
    return wallet_credit(
        account=account,
        amount=Decimal(amount),
        source_type=source_type,
        idempotency_key=f"test:{uuid.uuid4()}",
        description=f"test {source_type}",
        expires_at=expires_at,
    )


def assert_ledger_consistent(account) -> Wallet:
    """The cached balances equal the ledger sums, column by column, and what the grants hold."""
    wallet = Wallet.objects.get(account=account)
    ledger = wallet_ledger_balances(wallet=wallet)
    assert (wallet.top_up_balance, wallet.bonus_balance, wallet.arrears) == (
        ledger.top_up,
        ledger.bonus,
        ledger.arrears,
    )
    assert wallet.total_balance == ledger.total
    grants = wallet_grant_balances(wallet=wallet)
    assert grants.get("top_up", Decimal(0)) == wallet.top_up_balance
    assert grants.get("bonus", Decimal(0)) == wallet.bonus_balance
    return wallet
