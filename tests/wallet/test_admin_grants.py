"""Staff credit grants through the Django admin (the wallet's admin views)."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from apps.core.models import AuditEvent
from apps.wallet.models import LedgerEntry, Wallet
from tests.accounts.factories import UserFactory
from tests.wallet.factories import assert_ledger_consistent, credit

pytestmark = pytest.mark.django_db
D = Decimal


def _grant_url(account):
    credit(account, "10.00")
    return reverse("admin:wallet_wallet_grant", args=[Wallet.objects.get(account=account).pk])


def _operation_id(staff_client, url) -> str:
    """The operation id the grant form carries (minted when the form is shown)."""
    return re.search(r'name="operation_id" value="([0-9a-f-]{36})"', staff_client.get(url).content.decode())[
        1
    ]


@pytest.mark.parametrize(
    ("kind", "amount", "total", "entry_amount"),
    [
        ("adjustment", "12.34", "22.34", "12.34"),
        ("adjustment", "-4.50", "5.50", "-4.5"),
        ("gift", "3", "13", "3"),
    ],
)
def test_staff_grant_through_admin_writes_one_entry_and_one_audit_event(
    staff_client, kind, amount, total, entry_amount
):
    account = UserFactory()
    url = _grant_url(account)
    assert staff_client.get(url).status_code == 200
    operation = _operation_id(staff_client, url)
    response = staff_client.post(
        url, {"kind": kind, "amount": amount, "reason": "Outage on 2026-11-20", "operation_id": operation}
    )
    assert response.status_code == 302
    entry = LedgerEntry.objects.exclude(description="test top_up").get()
    assert (entry.entry_type, entry.amount, entry.description) == (
        kind,
        D(entry_amount),
        "Outage on 2026-11-20",
    )
    event = AuditEvent.objects.get(event_type="wallet.staff_grant")
    assert (event.actor, event.account, event.details["reason"]) == (
        staff_client.staff,
        account,
        "Outage on 2026-11-20",
    )
    assert assert_ledger_consistent(account).total_balance == D(total)


def test_a_resubmitted_staff_grant_form_grants_once(staff_client):
    account = UserFactory()
    url = _grant_url(account)
    data = {
        "kind": "compensation",
        "amount": "7.50",
        "reason": "Outage",
        "operation_id": _operation_id(staff_client, url),
    }
    assert staff_client.post(url, data).status_code == 302
    assert staff_client.post(url, data).status_code == 302
    assert LedgerEntry.objects.filter(entry_type="compensation").count() == 1
    assert AuditEvent.objects.filter(event_type="wallet.staff_grant").count() == 1
    assert assert_ledger_consistent(account).total_balance == D("17.50")
    fresh = {**data, "operation_id": _operation_id(staff_client, url)}  # the form shown again: a new grant
    assert staff_client.post(url, fresh).status_code == 302
    assert assert_ledger_consistent(account).total_balance == D("25.00")


def test_staff_grant_without_an_operation_id_is_refused(staff_client):
    account = UserFactory()
    url = _grant_url(account)
    response = staff_client.post(url, {"kind": "gift", "amount": "5", "reason": "x"})
    assert response.status_code == 400
    assert LedgerEntry.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "adjustment", "amount": "5", "reason": ""}, "This field is required."),
        ({"kind": "adjustment", "amount": "5", "reason": "   "}, "This field is required."),
        ({"kind": "gift", "amount": "-5", "reason": "oops"}, "Only adjustments can be negative."),
        ({"kind": "adjustment", "amount": "0", "reason": "nothing"}, "The amount cannot be zero."),
    ],
)
def test_staff_grant_without_a_reason_or_invalid_is_refused(staff_client, data, message):
    account = UserFactory()
    url = _grant_url(account)
    response = staff_client.post(url, {**data, "operation_id": _operation_id(staff_client, url)})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert LedgerEntry.objects.count() == 1
    assert not AuditEvent.objects.filter(event_type="wallet.staff_grant").exists()
    assert assert_ledger_consistent(account).total_balance == D("10")


def test_ledger_and_grants_are_read_only_in_admin(staff_client):
    account = UserFactory()
    _grant_url(account)
    entry = LedgerEntry.objects.get()
    assert staff_client.get(reverse("admin:wallet_ledgerentry_changelist")).status_code == 200
    assert staff_client.get(reverse("admin:wallet_ledgerentry_add")).status_code == 403
    change = staff_client.post(reverse("admin:wallet_ledgerentry_change", args=[entry.pk]), {"amount": "999"})
    assert change.status_code in (200, 403)
    assert LedgerEntry.objects.get().amount == D("10")
    assert staff_client.get(reverse("admin:wallet_creditgrant_add")).status_code == 403
    assert staff_client.get(reverse("admin:wallet_wallet_change", args=[entry.wallet_id])).status_code == 200


def test_a_customer_cannot_use_the_admin_grant_view(client):
    account = UserFactory()
    url = _grant_url(account)
    client.force_login(account)
    response = client.post(url, {"kind": "gift", "amount": "100", "reason": "me"})
    assert response.status_code == 302  # to the admin login
    assert LedgerEntry.objects.count() == 1


def test_staff_can_gift_an_account_that_has_no_wallet_yet(staff_client):
    account = UserFactory()
    url = reverse("admin:wallet_wallet_add")
    assert staff_client.get(url).status_code == 200
    operation = _operation_id(staff_client, url)
    missing = staff_client.post(
        url,
        {
            "account": "nobody@example.com",
            "kind": "gift",
            "amount": "5",
            "reason": "x",
            "operation_id": operation,
        },
    )
    assert missing.status_code == 400
    assert "No account with this e-mail." in missing.content.decode()
    response = staff_client.post(
        url,
        {
            "account": account.email.upper(),
            "kind": "gift",
            "amount": "5",
            "reason": "Welcome gift",
            "operation_id": operation,
        },
    )
    wallet = Wallet.objects.get(account=account)
    assert response.status_code == 302
    assert response.url == reverse("admin:wallet_wallet_change", args=[wallet.pk])
    assert (wallet.bonus_balance, wallet.total_balance) == (D("5"), D("5"))
    assert AuditEvent.objects.filter(event_type="wallet.staff_grant", account=account).count() == 1
