import uuid
from decimal import Decimal

import factory

from apps.billing.models import Payment, PaymentPurpose
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
