"""The "Abuse review" admin: the list, its bounded query count, the evidence page, bulk status actions
with a required reason (one audit row per account), the insider actions and the admin's section order."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.abuse.models import AccountSignals
from apps.accounts.models import AccountStatus
from apps.core.models import AuditEvent
from tests.abuse.traffic import NOW, customer, request
from tests.accounts.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
CHANGELIST = "/admin/abuse/reviewaccount/"


def with_signals(account, *, score="0.5000", flagged=(), requests=10):
    daily = [[(NOW - timedelta(days=6 - n)).date().isoformat(), n, f"{n}.000000"] for n in range(7)]
    return AccountSignals.objects.create(
        account=account,
        computed_at=timezone.now(),
        score=Decimal(score),
        values={"ips_per_key_hour": "4", "active_hours_share": "0.1000"},
        flagged=list(flagged),
        requests_7d=requests,
        flows_7d=Decimal("21"),
        distinct_ips_7d=4,
        daily=daily,
        top_models=[["deepseek/deepseek-chat", requests]],
        top_keys=[[1, "Key (sk-ss-v1-…abcd)", requests]],
    )


def test_the_review_list_shows_monitored_and_scored_healthy_accounts_with_their_evidence(staff_client):
    monitored = UserFactory(email="monitored@example.com", status=AccountStatus.MONITORED)
    scored = UserFactory(email="scored@example.com")
    with_signals(scored, score="1.5000", flagged=["ips_per_key_hour"])
    UserFactory(email="quiet@example.com")  # healthy, no signals: not in the queue
    UserFactory(
        email="abusive@example.com", status=AccountStatus.ABUSIVE, flow_value_multiplier=Decimal("1.2")
    )
    page = staff_client.get(CHANGELIST).content.decode()
    assert "monitored@example.com" in page and "scored@example.com" in page
    assert "quiet@example.com" not in page and "abusive@example.com" not in page
    assert page.index("monitored@example.com") < page.index("scored@example.com")  # monitored first
    assert "<svg" in page and "polyline" in page
    assert "deepseek/deepseek-chat (10)" in page
    assert "Key (sk-ss-v1-…abcd) (10)" in page
    restricted = staff_client.get(CHANGELIST, {"queue": "restricted"}).content.decode()
    assert "abusive@example.com" in restricted and "monitored@example.com" not in restricted
    assert "0.8000" in restricted  # the effective multiplier, capped for an abusive account (set: 1.2)
    flagged = staff_client.get(CHANGELIST, {"queue": "all", "signal": "ips_per_key_hour"}).content.decode()
    assert "scored@example.com" in flagged and "monitored@example.com" not in flagged
    assert monitored.pk


@pytest.mark.parametrize("accounts", [3, 30])
def test_the_review_list_query_count_does_not_grow_with_the_accounts(
    staff_client, accounts, django_assert_max_num_queries
):
    for n in range(accounts):
        with_signals(UserFactory(status=AccountStatus.MONITORED if n % 2 else AccountStatus.HEALTHY))
    with django_assert_max_num_queries(6):
        response = staff_client.get(CHANGELIST)
    assert response.status_code == 200


def _bulk(staff_client, action, accounts, **data):
    return staff_client.post(
        CHANGELIST + "?queue=everyone",
        {"action": action, "_selected_action": [a.pk for a in accounts], **data},
    )


def test_a_bulk_status_change_needs_a_reason_and_changes_nothing_without_one(staff_client):
    accounts = [UserFactory(), UserFactory(status=AccountStatus.MONITORED)]
    asked = _bulk(staff_client, "set_abusive", accounts)
    assert asked.status_code == 200
    assert "Reason" in asked.content.decode()
    refused = _bulk(staff_client, "set_abusive", accounts, apply="1", reason="  ")
    assert refused.status_code == 200
    assert "This field is required." in refused.content.decode()
    assert {a.status for a in type(accounts[0]).objects.filter(pk__in=[a.pk for a in accounts])} == {
        "healthy",
        "monitored",
    }
    assert not AuditEvent.objects.exists()


def test_a_bulk_status_change_writes_one_audit_row_per_account(staff_client):
    accounts = [
        UserFactory(),
        UserFactory(status=AccountStatus.MONITORED),
        UserFactory(status=AccountStatus.SUSPENDED),
    ]
    response = _bulk(staff_client, "set_suspended", accounts, apply="1", reason="Key resale ring")
    assert response.status_code == 302
    events = AuditEvent.objects.filter(event_type="account.status_changed").order_by("account_id")
    assert [
        (e.account_id, e.details["from"], e.details["to"], e.details["reason"], e.actor) for e in events
    ] == [
        (accounts[0].pk, "healthy", "suspended", "Key resale ring", staff_client.staff),
        (accounts[1].pk, "monitored", "suspended", "Key resale ring", staff_client.staff),
    ]  # the third was suspended already: left alone
    for account in accounts:
        account.refresh_from_db()
        assert account.status == AccountStatus.SUSPENDED


def test_the_detail_page_shows_the_evidence_and_changes_the_status_with_a_reason(staff_client):
    account = UserFactory()
    secret = customer(account)
    request(secret, timezone.now() - timedelta(minutes=3), ip="203.0.113.77")
    url = reverse("admin:abuse_reviewaccount_change", args=[account.pk])
    page = staff_client.get(url).content.decode()
    assert "203.0.113.77" in page and "test-agent/1.0" in page
    assert "deepseek/deepseek-chat" in page
    assert "5-hour window" in page
    refused = staff_client.post(url, {"status": "abusive", "reason": ""})
    assert refused.status_code == 200
    account.refresh_from_db()
    assert account.status == AccountStatus.HEALTHY
    done = staff_client.post(url, {"status": "abusive", "reason": "Reselling access"})
    assert done.status_code == 302
    account.refresh_from_db()
    assert account.status == AccountStatus.ABUSIVE
    event = AuditEvent.objects.get(event_type="account.status_changed")
    assert event.details == {"from": "healthy", "to": "abusive", "reason": "Reselling access"}
    assert "0.8000" in staff_client.get(url).content.decode()  # effective multiplier with the cap


def test_flowport_sections_come_first_and_dj_stripe_last(staff_client):
    app_list = staff_client.get("/admin/").context["app_list"]
    labels = [section["app_label"] for section in app_list]
    assert labels[0] == "core" and "abuse" in labels
    own = [i for i, label in enumerate(labels) if label in {"core", "accounts", "plans", "abuse", "usage"}]
    others = [i for i, label in enumerate(labels) if label in {"auth", "account", "sites"}]
    assert max(own) < min(others)
    assert labels[-1] == "djstripe"
