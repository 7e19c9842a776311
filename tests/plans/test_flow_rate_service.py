from decimal import Decimal

import pytest

from apps.core.exceptions import ApplicationError
from apps.core.models import AuditEvent
from apps.plans.models import FlowRate
from apps.plans.services import flow_rate_create

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("rate", [Decimal("0"), Decimal("-1"), Decimal("0.0000000000004")])
def test_flow_rate_create_refuses_rates_that_are_not_positive(rate):
    with pytest.raises(ApplicationError) as error:
        flow_rate_create(usd_per_flow=rate)
    assert error.value.code == "flow_rate_not_positive"
    assert FlowRate.objects.count() == 1
    assert not AuditEvent.objects.exists()


def test_flow_rate_create_rounds_to_12_places_and_audits():
    rate = flow_rate_create(usd_per_flow=Decimal("0.0300000000004"), note="test")
    assert rate.usd_per_flow == Decimal("0.030000000000")
    assert AuditEvent.objects.get().details["usd_per_flow"] == "0.030000000000"
