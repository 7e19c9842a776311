"""Account spend caps for pay-as-you-go and the auto top-up monthly ceiling (issue #22)."""

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from apps.api_keys.models import ApiKeyKind
from apps.billing.models import Payment, PaymentPurpose
from apps.billing.services import payment_method_save
from apps.core.exceptions import ApplicationError
from apps.core.models import AuditEvent
from apps.core.periods import calendar_period
from apps.usage.models import Reservation, UsageEvent
from apps.wallet.models import Wallet
from apps.wallet.services import wallet_auto_topup_update, wallet_debit, wallet_spend_caps_update
from tests.api_keys.factories import make_key
from tests.helpers import raised, run_concurrently
from tests.usage.factories import authorize, gateway_client, usage
from tests.wallet.factories import assert_ledger_consistent, credit, paid_topup


def _caps(user, day=None, week=None, month=None, ceiling=None):
    return wallet_spend_caps_update(
        account=user,
        spend_cap_day=D(day) if day else None,
        spend_cap_week=D(week) if week else None,
        spend_cap_month=D(month) if month else None,
        auto_topup_monthly_max=D(ceiling) if ceiling else None,
    )


@pytest.mark.django_db(transaction=True)
def test_a_daily_cap_holds_under_64_clients(user):
    secret = make_key(account=user, kind=ApiKeyKind.PAYG)[1]
    credit(user, "100")
    _caps(user, day="0.30")

    def client(index):
        gateway = gateway_client()
        first = authorize(gateway, f"c{index}", secret, estimate="0.05")
        if first.status_code == 200:
            assert usage(gateway, f"c{index}", cost="0.04").status_code == 200
        return first.status_code, first.json().get("error", {}).get("type")

    outcomes = run_concurrently(client, 64)

    assert not raised(outcomes), raised(outcomes)
    admitted = [o for o in outcomes if o[0] == 200]
    assert admitted
    assert {o for o in outcomes if o[0] != 200} == {(402, "spend_cap_reached")}
    spent = sum(UsageEvent.objects.values_list("cost_usd", flat=True), D("0"))
    assert spent == D("0.04") * len(admitted)
    assert spent < D("0.30") + D("0.05")  # one request may cross the cap, never more
    wallet = assert_ledger_consistent(user)
    assert wallet.reserved_usd == D("0")


@pytest.mark.django_db
def test_the_refusal_names_the_period_and_reset_and_changes_nothing(user):
    secret = make_key(account=user, kind=ApiKeyKind.PAYG)[1]
    credit(user, "10")
    _caps(user, week="5", month="0.05")
    client = gateway_client()
    assert authorize(client, "a", secret, estimate="0.05").status_code == 200
    before = (Wallet.objects.get(account=user).reserved_usd, Reservation.objects.count())

    response = authorize(client, "b", secret, estimate="0.01")

    assert response.status_code == 402
    error = response.json()["error"]
    assert error["type"] == "spend_cap_reached"
    assert error["period"] == "month"
    _start, end = calendar_period(period="month", now=datetime.now(UTC))
    assert error["resets_at"] == end.isoformat().replace("+00:00", "Z")
    assert "$0.05" in error["message"]
    assert (Wallet.objects.get(account=user).reserved_usd, Reservation.objects.count()) == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("spend_cap_day", D("0")),
        ("spend_cap_week", D("-1")),
        ("spend_cap_month", D("1000000.01")),
        ("auto_topup_monthly_max", D("NaN")),
    ],
)
def test_cap_bounds_name_the_field_and_change_nothing(user, field, value):
    arguments = {
        "spend_cap_day": None,
        "spend_cap_week": None,
        "spend_cap_month": None,
        "auto_topup_monthly_max": None,
    }
    arguments[field] = value
    with pytest.raises(ApplicationError) as refused:
        wallet_spend_caps_update(account=user, **arguments)
    assert field in str(refused.value.message)
    assert not Wallet.objects.filter(account=user).exclude(**{f"{field}__isnull": True}).exists()
    assert not AuditEvent.objects.filter(event_type="wallet.spend_caps_updated").exists()


@pytest.mark.django_db
def test_auto_topup_stops_at_the_monthly_ceiling(user, django_capture_on_commit_callbacks):
    payment_method_save(account=user, provider="sandbox", external_id="pm_ok", last4="4242")
    paid_topup(user, "20.00")  # 24.00
    wallet_auto_topup_update(account=user, enabled=True, threshold=D("10"), amount=D("50.00"))
    _caps(user, ceiling="60")
    with django_capture_on_commit_callbacks(execute=True):
        wallet_debit(account=user, amount=D("15"), idempotency_key="u1")  # 9: first crossing, charged
    assert Payment.objects.filter(purpose=PaymentPurpose.AUTO_TOPUP).count() == 1  # 50 of 60 used
    with django_capture_on_commit_callbacks(execute=True):
        wallet_debit(account=user, amount=D("60"), idempotency_key="u2")  # 69 → 9: crossing again
    assert Payment.objects.filter(purpose=PaymentPurpose.AUTO_TOPUP).count() == 1  # 50 more > 60
    wallet = Wallet.objects.get(account=user)
    assert (wallet.auto_topup_enabled, wallet.auto_topup_pending) == (True, False)


@pytest.mark.django_db
def test_the_caps_form_saves_and_bounds_answer_400(user, user_client):
    response = user_client.post(
        "/console/payg/spend-caps/", {"spend_cap_day": "2.50", "auto_topup_monthly_max": "100"}
    )
    assert response.status_code == 302
    wallet = Wallet.objects.get(account=user)
    assert (wallet.spend_cap_day, wallet.spend_cap_week, wallet.auto_topup_monthly_max) == (
        D("2.50"),
        None,
        D("100"),
    )
    response = user_client.post("/console/payg/spend-caps/", {"spend_cap_week": "0"})
    assert response.status_code == 400
    assert response.context["caps_form"].errors["spend_cap_week"]
    assert Wallet.objects.get(account=user).spend_cap_week is None
    page = user_client.get("/console/payg/")
    assert b'data-testid="spend-caps"' in page.content
