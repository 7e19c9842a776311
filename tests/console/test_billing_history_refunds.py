"""Billing history after a refund split over the cycle's payment and its upgrade charge (issue 19):
the refund is listed once, and each payment's status says how much of it went back."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.refunds.models import Refund
from tests.refunds.factories import paid_cycle, upgrade_payment

pytestmark = pytest.mark.django_db


def history_rows(html: str) -> dict[str, dict]:
    """payment public_id → the row's status badge and every refund badge in it."""
    rows = {}
    for chunk in html.split('<tr data-payment="')[1:]:
        public_id, row = chunk.split('"', 1)
        row = row.split("</tr>", 1)[0]
        rows[public_id] = {
            "status": re.search(r'data-testid="payment-status">([^<]*)<', row).group(1),
            "refunds": re.findall(r'data-testid="refund-badge-\d+">([^<]*)<', row),
        }
    return rows


@pytest.fixture
def refunded_cycle(user, user_client, django_capture_on_commit_callbacks):
    paid_at = timezone.now() - timedelta(hours=3)
    main = paid_cycle(user, "pro", paid_at=paid_at)  # $20.00
    upgrade = upgrade_payment(user, to="max", amount="80.00", paid_at=paid_at + timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        response = user_client.post(
            f"/console/subscription/refund/{main.public_id}/",
            {"confirm": "on"},
            headers={"HX-Request": "true"},
        )
    assert response.status_code == 200
    refund = Refund.objects.get()
    assert (refund.amount_usd, refund.status) == (Decimal("95.00"), "succeeded")
    main.refresh_from_db()
    upgrade.refresh_from_db()
    assert (main.refunded_usd, upgrade.refunded_usd) == (Decimal("20.00"), Decimal("75.00"))
    return main, upgrade


def test_a_split_refund_appears_once_and_statuses_say_refunded(user_client, refunded_cycle):
    main, upgrade = refunded_cycle
    html = user_client.get("/console/subscription/").content.decode()
    assert history_rows(html) == {
        str(upgrade.public_id): {"status": "Partially refunded", "refunds": []},
        str(main.public_id): {"status": "Refunded", "refunds": ["Refund $95.00: Succeeded"]},
    }
    assert html.count("Refund $95.00") == 1
    assert ">Paid<" not in html


def test_refund_statuses_in_chinese(user_client, refunded_cycle):
    main, upgrade = refunded_cycle
    rows = history_rows(user_client.get("/zh-hans/console/subscription/").content.decode())
    assert rows[str(main.public_id)]["status"] == "已退款"
    assert rows[str(upgrade.public_id)]["status"] == "部分退款"
    assert len(rows[str(main.public_id)]["refunds"]) == 1 and rows[str(upgrade.public_id)]["refunds"] == []


def test_a_paid_payment_without_refund_still_reads_paid(user_client, user):
    main = paid_cycle(user, "pro", paid_at=timezone.now() - timedelta(hours=1))
    rows = history_rows(user_client.get("/console/subscription/").content.decode())
    assert rows == {str(main.public_id): {"status": "Paid", "refunds": []}}
