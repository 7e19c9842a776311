import re
from decimal import Decimal

import pytest
from django.urls import reverse

from apps.billing.models import Payment, PaymentMethod, PaymentStatus
from apps.wallet.models import LedgerEntry, Wallet
from apps.wallet.services import wallet_debit
from tests.accounts.factories import UserFactory
from tests.wallet.factories import assert_ledger_consistent, credit, paid_topup

pytestmark = pytest.mark.django_db
D = Decimal
PAYG = "/console/payg/"


def test_payg_page_url_and_empty_state(user_client):
    assert reverse("console:payg") == PAYG
    page = user_client.get(PAYG)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="api-keys-payg"' in html
    assert 'data-testid="balance-total">$0.00<' in html
    assert "No transactions yet." in html


def test_top_up_through_the_sandbox_checkout_lands_credits_with_the_bonus(user_client, user):
    response = user_client.post(reverse("console:payg_topup"), {"amount": "100"})
    payment = Payment.objects.get(account=user)
    assert response.status_code == 302
    assert response.url == reverse("billing:sandbox_checkout", args=[payment.public_id])
    assert (payment.purpose, payment.amount_usd, payment.status) == (
        "topup",
        D("100.00"),
        PaymentStatus.PENDING,
    )
    assert not LedgerEntry.objects.exists()
    paid = user_client.post(response.url, {"action": "pay", "card_number": "4242 4242 4242 4242"})
    assert paid.status_code == 302
    assert paid.url == f"http://testserver{PAYG}"
    html = user_client.get(PAYG).content.decode()
    assert 'data-testid="balance-total">$120.00<' in html
    assert 'data-testid="balance-top-up">$100.00<' in html
    assert 'data-testid="balance-bonus">$20.00<' in html
    assert html.count('data-testid="history-row"') == 2
    assert "Top-up bonus" in html


def test_htmx_top_up_redirects_the_browser_to_checkout(user_client, user):
    response = user_client.post(
        reverse("console:payg_topup"), {"amount": "25.50"}, headers={"HX-Request": "true"}
    )
    payment = Payment.objects.get(account=user)
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("billing:sandbox_checkout", args=[payment.public_id])
    assert payment.amount_usd == D("25.50")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("4.99", "The minimum top-up is $5.00."),
        ("25000.01", "The maximum top-up is $25,000.00."),
        ("abc", "Enter the amount as a number, for example 100 or 25.50."),
        ("-5", "The amount cannot be negative."),
        ("10.001", "Use whole cents: at most two decimal places."),
        ("", "Enter an amount."),
        ("NaN", "Enter the amount as a number, for example 100 or 25.50."),
        ("1e3", "Enter the amount as a number, for example 100 or 25.50."),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_invalid_top_up_amounts_are_refused_and_nothing_changes(user_client, user, amount, message, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    response = user_client.post(reverse("console:payg_topup"), {"amount": amount}, headers=headers)
    assert response.status_code == (200 if htmx else 400)
    assert message in response.content.decode()
    assert Payment.objects.count() == 0
    assert LedgerEntry.objects.count() == 0
    assert not Wallet.objects.filter(account=user).exists()


def test_top_up_bounds_are_accepted(user_client, user):
    for amount in ("5", "25000.00", "$1,000.10"):
        assert user_client.post(reverse("console:payg_topup"), {"amount": amount}).status_code == 302
    assert sorted(Payment.objects.values_list("amount_usd", flat=True)) == [
        D("5.00"),
        D("1000.10"),
        D("25000.00"),
    ]


def test_save_sandbox_card_then_enable_auto_topup(user_client, user):
    refused = user_client.post(
        reverse("console:payg_auto_topup"), {"enabled": "on", "threshold": "10", "amount": "100"}
    )
    assert refused.status_code == 400
    assert "Save a payment method before turning on auto top-up." in refused.content.decode()
    assert not Wallet.objects.filter(account=user, auto_topup_enabled=True).exists()

    saved = user_client.post(reverse("console:payg_sandbox_card"), {"card_number": "4000 0000 0000 0002"})
    assert saved.status_code == 302
    assert PaymentMethod.objects.get(account=user).last4 == "0002"
    response = user_client.post(
        reverse("console:payg_auto_topup"),
        {"enabled": "on", "threshold": "10.00", "amount": "100"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="payg-auto-topup"' in html and "Saved." in html and "Card •••• 0002" in html
    wallet = Wallet.objects.get(account=user)
    assert (wallet.auto_topup_enabled, wallet.auto_topup_threshold, wallet.auto_topup_amount) == (
        True,
        D("10.00"),
        D("100.00"),
    )
    bad = user_client.post(
        reverse("console:payg_auto_topup"), {"enabled": "on", "threshold": "x", "amount": "4"}
    )
    assert bad.status_code == 400
    wallet.refresh_from_db()
    assert (wallet.auto_topup_threshold, wallet.auto_topup_amount) == (D("10.00"), D("100.00"))


def test_low_balance_alert_form(user_client, user):
    response = user_client.post(reverse("console:payg_low_balance_alert"), {"threshold": "7.50"})
    assert response.status_code == 302
    wallet = Wallet.objects.get(account=user)
    assert (wallet.low_balance_alert_enabled, wallet.low_balance_alert_threshold) == (False, D("7.50"))
    bad = user_client.post(reverse("console:payg_low_balance_alert"), {"enabled": "on", "threshold": "-1"})
    assert bad.status_code == 400
    wallet.refresh_from_db()
    assert (wallet.low_balance_alert_enabled, wallet.low_balance_alert_threshold) == (False, D("7.50"))


def test_breakdown_and_history_show_only_the_accounts_own_entries(
    user_client, user, django_assert_max_num_queries
):
    paid_topup(user, "100.00")
    credit(user, "5.00", "compensation")
    for n in range(25):
        wallet_debit(
            account=user, amount=D("1.25"), idempotency_key=f"usage:{n}", description=f"request mine-{n}"
        )
    other = UserFactory()
    paid_topup(other, "50.00")
    wallet_debit(account=other, amount=D("3"), idempotency_key="usage:other", description="request theirs")

    with django_assert_max_num_queries(12):
        html = user_client.get(PAYG).content.decode()
    assert 'data-testid="balance-total">$93.75<' in html
    assert "theirs" not in html
    assert html.count('data-testid="history-row"') == 20
    assert "Page 1 of 2" in html
    assert 'data-testid="breakdown-usage">' in html
    usage_row = html.split('data-testid="breakdown-usage">')[1].split("</tr>")[0]
    assert "-$31.25" in usage_row
    total_row = html.split('data-testid="breakdown-total">')[1].split("</tr>")[0]
    assert "$93.75" in total_row
    page2 = user_client.get(PAYG, {"page": 2, "fragment": "history"}, headers={"HX-Request": "true"})
    body = page2.content.decode()
    assert body.lstrip().startswith('<section id="payg-history">')
    assert body.count('data-testid="history-row"') == 8
    assert "theirs" not in body
    assert assert_ledger_consistent(user).total_balance == D("93.75")


def test_the_payg_page_needs_a_login(client):
    response = client.get(PAYG)
    assert response.status_code == 302
    assert "/accounts/login/" in response.url


def test_the_page_in_chinese_translates_system_descriptions_and_keeps_ids_unique(client, user):

    user.preferred_language = "zh-hans"
    user.save(update_fields=["preferred_language"])
    client.force_login(user)
    paid_topup(user, "100.00")
    credit(user, "1.00", "adjustment")
    LedgerEntry.objects.filter(entry_type="adjustment").update(description="Refund for ticket #42")
    html = client.get("/zh-hans/console/payg/").content.decode()
    for text in (
        "交易记录",
        "自动充值",
        "低余额提醒",
        "赠送与补偿额度",
        "额度明细",
        "按量付费充值",
        "充值奖励额度",
    ):
        assert text in html, text
    assert "Refund for ticket #42" in html  # staff text is shown as written
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(("amount", "shown"), [("100", "120.00"), ("12.34", "14.81")])
def test_a_top_up_goes_ahead_when_the_page_showed_the_servers_credits(user_client, user, amount, shown):
    response = user_client.post("/console/payg/top-up/", {"amount": amount, "expected_credits": shown})
    assert response.status_code == 302
    assert Payment.objects.get(account=user).amount_usd == Decimal(amount)


def test_a_top_up_is_refused_when_the_page_showed_other_credits_and_nothing_is_created(user_client, user):
    response = user_client.post(
        "/console/payg/top-up/",
        {"amount": "100", "expected_credits": "125.00"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "You get $120.00 for $100.00, not $125.00." in response.content.decode()
    assert not Payment.objects.filter(account=user).exists()
