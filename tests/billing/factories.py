import uuid
from decimal import Decimal

import factory

from apps.billing.models import Payment, PaymentMethod, PaymentPurpose
from apps.billing.services import payment_method_save
from tests.accounts.factories import UserFactory


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    account = factory.SubFactory(UserFactory)
    purpose = PaymentPurpose.TOPUP
    description = "Wallet top-up"
    amount_usd = Decimal("10.00")
    provider = "sandbox"
    idempotency_key = factory.LazyFunction(lambda: f"test:{uuid.uuid4()}")
    return_url = "/console/"
    cancel_url = "/pricing/"


class PaymentMethodFactory(factory.django.DjangoModelFactory):
    """A saved card, saved through the service (it becomes the account's default)."""

    class Meta:
        model = PaymentMethod

    account = factory.SubFactory(UserFactory)
    provider = "sandbox"
    last4 = "4242"
    external_id = factory.LazyAttribute(lambda pm: f"sbx_pm_{pm.last4}_{pm.account.pk}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return payment_method_save(**kwargs)
