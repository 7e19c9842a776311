"""Payment providers behind one small interface. Business rules never know which one is active."""

from django.conf import settings
from django.utils.module_loading import import_string

from apps.billing.providers.base import (
    ChargeResult,
    CheckoutSession,
    PaymentInfo,
    PaymentProvider,
    RefundResult,
)

PROVIDERS = {
    "sandbox": "apps.billing.providers.sandbox.SandboxProvider",
    "stripe": "apps.billing.providers.stripe.StripeProvider",
}


def get_provider(name: str | None = None) -> PaymentProvider:
    return import_string(PROVIDERS[name or settings.PAYMENT_PROVIDER])()


__all__ = [
    "ChargeResult",
    "CheckoutSession",
    "PaymentInfo",
    "PaymentProvider",
    "RefundResult",
    "get_provider",
]
