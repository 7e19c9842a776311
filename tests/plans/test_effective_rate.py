from decimal import Decimal

import pytest

from apps.accounts.models import AccountStatus
from apps.plans.selectors import effective_usd_per_flow
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

BASE = Decimal("0.025252525253")


def test_healthy_account_uses_the_base_rate():
    assert effective_usd_per_flow(account=UserFactory()) == BASE


def test_insider_multiplier_raises_the_value_of_a_flow():
    account = UserFactory(is_insider=True, flow_value_multiplier=Decimal("1.2"))
    assert effective_usd_per_flow(account=account) == Decimal("0.030303030304")


def test_abusive_account_is_capped_below_the_base_rate():
    account = UserFactory(status=AccountStatus.ABUSIVE)
    assert effective_usd_per_flow(account=account) == Decimal("0.020202020202")
    lower = UserFactory(status=AccountStatus.ABUSIVE, flow_value_multiplier=Decimal("0.5"))
    assert effective_usd_per_flow(account=lower) == Decimal("0.012626262627")
