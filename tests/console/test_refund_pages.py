"""The Refund cell in the billing history, the refund dialog (HTMX and plain POST), and 404s."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.refunds.models import Refund
from tests.accounts.factories import UserFactory
from tests.refunds.factories import FLOWS_3_20, FLOWS_20_00, paid_cycle, use_flows

pytestmark = pytest.mark.django_db

PAGE = "/console/subscription/"


def dialog_url(payment):
    return f"/console/subscription/refund/{payment.public_id}/"


@pytest.fixture
def cycle(user):
    paid_at = timezone.now() - timedelta(hours=10, minutes=39, seconds=30)
    payment = paid_cycle(user, "pro", paid_at=paid_at)
    use_flows(user, FLOWS_3_20, at=paid_at + timedelta(minutes=1))
    return payment


def test_history_row_shows_the_refund_button_with_time_left(user_client, cycle):
    html = user_client.get(PAGE).content.decode()
    assert 'data-testid="refund-button"' in html
    assert dialog_url(cycle) in html
    assert "Refund window: 13 h 20 min left" in html


def test_button_is_disabled_with_the_reason_when_usage_exceeds_the_payment(user_client, user, cycle):
    use_flows(user, FLOWS_20_00, at=timezone.now() - timedelta(minutes=1))
    html = user_client.get(PAGE).content.decode()
    assert "disabled" in html
    assert "Usage already exceeds what was paid" in html
    assert dialog_url(cycle) not in html


def test_button_is_disabled_when_the_window_closed(user_client, user):
    paid_cycle(user, "pro", paid_at=timezone.now() - timedelta(hours=25))
    html = user_client.get(PAGE).content.decode()
    assert "Refund window closed" in html


def test_dialog_previews_every_figure(user_client, cycle):
    response = user_client.get(dialog_url(cycle), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith("<dialog")
    for testid, value in [
        ("refund-total", "$20.00"),
        ("refund-usage", "$3.20"),
        ("refund-already", "$0.00"),
        ("refund-refundable", "$16.80"),
        ("refund-fee", "$0.84"),
        ("refund-amount", "$15.96"),
    ]:
        assert f'data-testid="{testid}">{value}<' in html
    assert "Submit refund" in html


def test_submit_needs_the_second_confirmation(user_client, cycle):
    response = user_client.post(dialog_url(cycle), {}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Confirm that your plan drops to Free to submit the refund." in response.content.decode()
    assert Refund.objects.count() == 0


def test_plain_post_submits_and_shows_the_status(
    user_client, user, cycle, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        response = user_client.post(dialog_url(cycle), {"confirm": "on"})
    html = response.content.decode()
    refund = Refund.objects.get()
    assert (refund.account, refund.amount_usd, refund.status) == (user, Decimal("15.96"), "processing")
    assert "Refund $15.96: Processing" in html
    assert "A refund is already in progress" in html

    page = user_client.get(PAGE).content.decode()
    assert "Refund $15.96: Processing" in page
    assert "A refund is already in progress" in page


def test_htmx_submit_settles_in_the_sandbox_and_history_shows_it(
    user_client, cycle, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        user_client.post(dialog_url(cycle), {"confirm": "on"}, headers={"HX-Request": "true"})
    refund = Refund.objects.get()
    assert refund.status == "succeeded"
    detail = user_client.get(f"/console/refunds/{refund.pk}/").content.decode()
    assert "Refund $15.96: Succeeded" in detail
    page = user_client.get(PAGE).content.decode()
    assert "Refund $15.96: Succeeded" in page
    assert "Free plan has nothing to refund" not in page  # no button on Free: the row shows the status


def test_another_accounts_refund_cannot_be_seen_or_submitted(
    client, user, cycle, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        from apps.refunds.services import refund_request

        refund = refund_request(account=user)
    other = UserFactory()
    client.force_login(other)

    assert client.get(f"/console/refunds/{refund.pk}/").status_code == 404
    assert client.get(dialog_url(cycle)).status_code == 404
    assert client.post(dialog_url(cycle), {"confirm": "on"}).status_code == 404
    assert Refund.objects.count() == 1


def test_chinese_dialog(user_client, cycle):
    html = user_client.get("/zh-hans" + dialog_url(cycle)).content.decode()
    assert "提交退款" in html
    assert "最终退款金额" in html
