"""The built-in sandbox: payments complete at once inside the portal; nothing real is charged.

Cards behave like Stripe's test cards: 4000 0000 0000 0002 is declined, every other number succeeds.
"""

import hashlib
from decimal import Decimal

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.billing.providers.base import (
    ChargeResult,
    CheckoutSession,
    PaymentInfo,
    PaymentProvider,
    RefundResult,
)

DECLINED_CARD = "4000000000000002"


def card_is_declined(number_or_last4: str) -> bool:
    digits = "".join(ch for ch in number_or_last4 if ch.isdigit())
    return digits == DECLINED_CARD or (len(digits) == 4 and DECLINED_CARD.endswith(digits))


class SandboxProvider(PaymentProvider):
    name = "sandbox"

    def start_checkout(self, *, payment, methods=("card",), save_method=False) -> CheckoutSession:
        return CheckoutSession(
            url=reverse("billing:sandbox_checkout", args=[payment.public_id]),
            external_id=f"sbx_cs_{payment.public_id.hex}",
        )

    def charge_saved_method(self, *, payment, payment_method) -> ChargeResult:
        reference = f"sbx_pi_{payment.public_id.hex}"
        if card_is_declined(payment_method.last4):
            return ChargeResult(
                status="failed", external_id=reference, failure_message=_("Your card was declined.")
            )
        return ChargeResult(status="succeeded", external_id=reference)

    # Subscriptions: the portal keeps the cycle itself (a beat task renews); only money moves here.

    def subscription_start_checkout(self, *, payment, plan) -> CheckoutSession:
        return self.start_checkout(payment=payment, methods=("card",), save_method=True)

    def subscription_upgrade(self, *, subscription, new_plan, payment) -> ChargeResult:
        return self._charge_default_method(payment=payment)

    def subscription_schedule_change(self, *, subscription, plan) -> None:
        return None

    def subscription_cancel_now(self, *, subscription) -> None:
        return None

    def subscription_renew(self, *, subscription, payment) -> ChargeResult:
        return self._charge_default_method(payment=payment)

    def _charge_default_method(self, *, payment) -> ChargeResult:
        from apps.billing.selectors import payment_method_default

        if payment.amount_usd == 0:
            return ChargeResult(status="succeeded", external_id=f"sbx_pi_{payment.public_id.hex}")
        method = payment_method_default(account=payment.account)
        if method is None:
            return ChargeResult(
                status="failed",
                external_id=f"sbx_pi_{payment.public_id.hex}",
                failure_message=_("No saved card to charge."),
            )
        return self.charge_saved_method(payment=payment, payment_method=method)

    def refund(self, *, payment, amount_usd: Decimal, idempotency_key: str) -> RefundResult:
        # Settled later by a background task, as a real provider would report it.
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
        return RefundResult(status="pending", external_id=f"sbx_re_{digest}")

    def read_refund(self, *, external_id: str) -> RefundResult:
        # The sandbox's "bank" answers with the configured outcome (tests set "failed" to exercise that path).
        return RefundResult(status=settings.FLOWPORT_SANDBOX_REFUND_OUTCOME, external_id=external_id)

    def read_payment(self, *, external_id: str) -> PaymentInfo:
        from apps.billing.models import Payment

        payment = Payment.objects.get(external_id=external_id, provider=self.name)
        return PaymentInfo(
            external_id=external_id,
            status=payment.status,
            amount_usd=payment.amount_usd,
            metadata=payment.metadata,
        )
