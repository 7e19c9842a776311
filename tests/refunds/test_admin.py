from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.core.models import AuditEvent
from apps.plans.models import Subscription
from apps.refunds.models import Refund
from apps.refunds.services import refund_request
from tests.refunds.factories import FLOWS_3_20, paid_cycle, use_flows

pytestmark = pytest.mark.django_db


@pytest.fixture
def refund(user):
    paid_at = timezone.now() - timedelta(hours=1)
    payment = paid_cycle(user, "pro", paid_at=paid_at)
    use_flows(user, FLOWS_3_20, at=paid_at)
    refund = refund_request(account=user)  # callbacks not run: stays processing
    refund.cycle_payment = payment
    return refund


def test_staff_see_the_frozen_figures_and_links_read_only(staff_client, refund, user):
    listing = staff_client.get(reverse("admin:refunds_refund_changelist")).content.decode()
    assert "15.96" in listing
    detail = staff_client.get(reverse("admin:refunds_refund_change", args=[refund.pk])).content.decode()
    for figure in ("20.00", "3.20", "16.80", "0.84", "15.96", "126.720000"):
        assert figure in detail
    assert reverse("admin:accounts_user_change", args=[user.pk]) in detail
    assert reverse("admin:billing_payment_change", args=[refund.cycle_payment.pk]) in detail
    assert 'name="_save"' not in detail  # read-only
    assert staff_client.get(reverse("admin:refunds_refund_add")).status_code == 403


def test_staff_cancel_a_processing_refund_through_the_action(staff_client, refund, user):
    response = staff_client.post(
        reverse("admin:refunds_refund_changelist"),
        {"action": "cancel_refunds", "_selected_action": [refund.pk]},
        follow=True,
    )
    assert response.status_code == 200
    refund = Refund.objects.get(pk=refund.pk)
    assert (refund.status, refund.failure_message) == ("canceled", "Canceled by staff")
    assert Subscription.objects.get(account=user).plan.tier == "pro"
    event = AuditEvent.objects.get(event_type="refund.canceled")
    assert event.actor == staff_client.staff
