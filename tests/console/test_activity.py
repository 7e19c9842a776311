"""The activity log: the account's own audit events, translated, filterable by type and date,
paginated; other accounts' events and staff-internal details never appear."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.accounts.services import account_set_status
from apps.api_keys.models import ApiKeyKind
from apps.core.models import AuditEvent
from apps.core.services import audit_record
from apps.wallet.services import wallet_auto_topup_update, wallet_staff_grant
from tests.accounts.factories import StaffFactory, UserFactory
from tests.api_keys.factories import make_key
from tests.plans.factories import save_card

pytestmark = pytest.mark.django_db


def rows(response) -> list[list[str]]:
    """The activity table's rows as [type, description, by] (times vary)."""
    import re

    body = response.content.decode().split('data-testid="activity"', 1)[1].split("</tbody>", 1)[0]
    out = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)[1:]:
        cells = [
            re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        out.append(cells[1:] if len(cells) == 4 else cells)
    return out


def test_own_events_are_described_and_staff_details_never_shown(user_client, user):
    staff = StaffFactory(email="grace.staff@flowport.example")
    key, _secret = make_key(account=user, kind=ApiKeyKind.PAYG, name="laptop")
    save_card(user)
    wallet_auto_topup_update(account=user, enabled=True, threshold=Decimal("5"), amount=Decimal("20"))
    wallet_staff_grant(
        account=user,
        kind="compensation",
        amount=Decimal("2.5"),
        reason="Outage on 2026-11-28",
        actor=staff,
        operation_id=str(uuid.uuid4()),
    )
    account_set_status(account=user, status="abusive", reason="signal: 40 client IPs on one key", actor=staff)
    audit_record(event_type="payment.amount_mismatch", account=user, details={"note": "internal"})
    other = UserFactory()
    make_key(account=other, kind=ApiKeyKind.SUBSCRIPTION, name="someone else's key")

    response = user_client.get("/console/activity/")

    assert response.status_code == 200
    assert rows(response) == [
        ["Credit adjustments", "Credit adjustment of $2.50: Outage on 2026-11-28", "Flowport"],
        ["Auto top-up and alerts", "Auto top-up on: below $5.00, add $20.00.", "You"],
        ["Auto top-up and alerts", "Card ending in 4242 saved.", "You"],
        ["API keys", f"Key “laptop” ({key.masked}) created.", "You"],
    ]
    html = response.content.decode()
    for hidden in ("grace.staff", "40 client IPs", "abusive", "internal", "someone else"):
        assert hidden not in html


def test_signing_in_is_logged_with_the_address(client, user, password):
    client.post("/accounts/login/", {"login": user.email, "password": password})
    assert rows(client.get("/console/activity/")) == [
        ["Sign-in and security", "Signed in from 127.0.0.1.", "You"]
    ]
    event = AuditEvent.objects.get(event_type="account.logged_in")
    assert (event.account_id, event.details) == (user.pk, {"ip": "127.0.0.1"})


def test_filter_by_type_and_date(user_client, user):
    make_key(account=user, kind=ApiKeyKind.SUBSCRIPTION, name="a")
    wallet_auto_topup_update(account=user, enabled=False, threshold=Decimal("5"), amount=Decimal("20"))
    AuditEvent.objects.filter(event_type="api_key.created").update(
        created_at=datetime(2026, 10, 1, 12, tzinfo=UTC)
    )

    keys_only = rows(user_client.get("/console/activity/?type=keys"))
    assert [r[0] for r in keys_only] == ["API keys"]
    october = rows(user_client.get("/console/activity/?start=2026-10-01&end=2026-10-01"))
    assert [r[0] for r in october] == ["API keys"]
    assert rows(user_client.get("/console/activity/?start=2026-10-02&end=2026-10-31")) == [
        ["No activity in this range."]
    ]


@pytest.mark.parametrize(
    "query",
    [
        "type=abuse",
        "start=2026-13-01",
        "start=2026-11-02&end=2026-11-01",
        "start=1000-01-01",
        "type=" + "x" * 5000,
    ],
)
def test_bad_filters_are_a_400_with_the_error(user_client, query):
    response = user_client.get(f"/console/activity/?{query}")
    assert response.status_code == 400
    assert 'data-testid="filter-errors"' in response.content.decode()


def test_paginated_with_the_filter_kept(user_client, user, django_assert_max_num_queries):
    now = datetime.now(UTC)
    AuditEvent.objects.bulk_create(
        AuditEvent(
            account=user,
            actor=user,
            event_type="api_key.renamed",
            details={"name": f"k{i}", "key": "sk-ss-v1-abcd…1234"},
            created_at=now - timedelta(minutes=i),
        )
        for i in range(30)
    )
    AuditEvent.objects.filter(account=user).update(created_at=now)  # auto_now_add overrode it
    with django_assert_max_num_queries(8):
        first = user_client.get("/console/activity/?type=keys")
    assert len(rows(first)) == 25
    assert 'href="?type=keys&amp;page=2"' in first.content.decode()
    second = user_client.get("/console/activity/?type=keys&page=2")
    assert len(rows(second)) == 5


def test_the_log_in_chinese(user_client, user):
    make_key(account=user, kind=ApiKeyKind.SUBSCRIPTION, name="工作")
    html = user_client.get("/zh-hans/console/activity/").content.decode()
    assert "活动记录" in html
    assert "已创建" in html
