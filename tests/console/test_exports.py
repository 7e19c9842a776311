"""CSV exports: usage events (usage page and key detail filters), billing history, wallet transactions.

Exact headers and cells, the account's own rows only, streamed from a database cursor."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse
from django.utils import timezone

from apps.api_keys.models import ApiKeyKind
from apps.billing.models import PaymentPurpose
from apps.plans.models import CatalogModel
from apps.usage.models import UsageEvent
from apps.wallet.models import LedgerEntry
from tests.accounts.factories import UserFactory
from tests.api_keys.factories import make_key
from tests.usage.factories import UsageEventFactory
from tests.wallet.factories import credit, paid_topup

pytestmark = pytest.mark.django_db

USAGE_HEADER = [
    "request_id",
    "created_at",
    "model",
    "api_key_id",
    "api_key_name",
    "billed_to",
    "extra_usage",
    "billed_key_id",
    "input_tokens",
    "output_tokens",
    "flows",
    "cost_usd",
]


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def event(account, key, request_id, when, *, model="deepseek/deepseek-chat", **fields):
    defaults = {"input_tokens": 1200, "output_tokens": 345, "cost_usd": Decimal("0.012500")}
    defaults |= {"flows": Decimal("0.500000"), "billed_to": "subscription"} | fields
    return UsageEventFactory(
        request_id=request_id,
        account=account,
        api_key=key,
        model=CatalogModel.objects.get(slug=model),
        created_at=when,
        **defaults,
    )


def test_usage_export_has_the_documented_columns_and_only_the_accounts_rows(user, user_client):
    sub, _ = make_key(account=user, name="=HYPERLINK(evil)")
    payg, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="app")
    at = datetime(2026, 3, 2, 9, 5, 7, 123456, tzinfo=UTC)
    event(user, sub, "req-sub", at)
    event(
        user,
        sub,
        "req-extra",
        at + timedelta(hours=1),
        billed_to="payg",
        extra_usage=True,
        billed_key=payg,
        flows=Decimal("0"),
        cost_usd=Decimal("1.250000"),
    )
    event(user, sub, "req-before", datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC))
    event(user, sub, "req-after", datetime(2026, 3, 4, 0, 0, tzinfo=UTC))
    other = UserFactory()
    theirs, _ = make_key(account=other, name="theirs")
    event(other, theirs, "req-theirs", at)

    response = user_client.get("/console/usage/export.csv?start=2026-03-01&end=2026-03-03")

    assert (
        response["Content-Disposition"] == 'attachment; filename="flowport-usage-2026-03-01-2026-03-03.csv"'
    )
    assert rows_of(response) == [
        USAGE_HEADER,
        [
            "req-extra",
            "2026-03-02T10:05:07.123456+00:00",
            "deepseek/deepseek-chat",
            str(sub.pk),
            "'=HYPERLINK(evil)",
            "payg",
            "true",
            str(payg.pk),
            "1200",
            "345",
            "0.000000",
            "1.250000",
        ],
        [
            "req-sub",
            "2026-03-02T09:05:07.123456+00:00",
            "deepseek/deepseek-chat",
            str(sub.pk),
            "'=HYPERLINK(evil)",
            "subscription",
            "false",
            "",
            "1200",
            "345",
            "0.500000",
            "0.012500",
        ],
    ]


def test_usage_export_defaults_to_the_usage_pages_last_seven_days(user, user_client):
    key, _ = make_key(account=user)
    now = timezone.now()
    event(user, key, "recent", now - timedelta(days=1))
    event(user, key, "old", now - timedelta(days=30))
    assert [row[0] for row in rows_of(user_client.get("/console/usage/export.csv"))] == [
        "request_id",
        "recent",
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2026-03-05&end=2026-03-01", "The start date must be on or before the end date."),
        ("start=1999-12-31", "Enter a date from 2000-01-01 to 2999-12-31."),
        ("start=not-a-date", "Enter a valid date."),
    ],
)
def test_usage_export_refuses_a_bad_filter_with_400(user_client, query, message):
    response = user_client.get(f"/console/usage/export.csv?{query}")
    assert response.status_code == 400
    assert response.content.decode() == message


def test_key_export_takes_the_detail_pages_filters_and_hides_other_accounts_keys(user, user_client):
    key, _ = make_key(account=user, name="laptop")
    other_key, _ = make_key(account=user, name="other")
    at = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    event(user, key, "chat", at)
    event(user, key, "gpt", at, model="openai/gpt-5")
    event(user, key, "chat-late", datetime(2026, 6, 1, tzinfo=UTC))
    event(user, other_key, "other-key", at)

    url = f"/console/keys/{key.pk}/usage.csv"
    assert [r[0] for r in rows_of(user_client.get(url))] == ["request_id", "chat-late", "gpt", "chat"]
    filtered = user_client.get(f"{url}?start=2026-05-01&end=2026-05-31&model=deepseek/deepseek-chat")
    assert [r[0] for r in rows_of(filtered)] == ["request_id", "chat"]
    bad = user_client.get(f"{url}?model=no/such-model")
    assert (bad.status_code, bad.content.decode()) == (400, "Unknown model.")

    theirs, _ = make_key(account=UserFactory())
    assert user_client.get(f"/console/keys/{theirs.pk}/usage.csv").status_code == 404


def test_billing_history_export_lists_the_accounts_settled_payments(user, user_client):
    payment = paid_topup(user, "25.00")
    paid_topup(UserFactory(), "99.00")
    payment.refresh_from_db()
    rows = rows_of(user_client.get("/console/billing/history.csv"))
    assert rows == [
        [
            "payment_id",
            "created_at",
            "paid_at",
            "type",
            "description",
            "amount_usd",
            "refunded_usd",
            "status",
            "receipt_number",
        ],
        [
            str(payment.public_id),
            payment.created_at.astimezone(UTC).isoformat(),
            payment.paid_at.astimezone(UTC).isoformat(),
            PaymentPurpose.TOPUP.value,
            payment.description,
            "25.00",
            "0.00",
            "succeeded",
            payment.receipt_number or "",
        ],
    ]


def test_wallet_export_lists_the_accounts_ledger_newest_first(user, user_client):
    payment = paid_topup(user, "10.00")
    credit(user, "2.5", source_type="bonus")
    credit(UserFactory(), "7", source_type="bonus")
    bonus, topup_bonus, topup = LedgerEntry.objects.filter(wallet__account=user).order_by(
        "-created_at", "-id"
    )
    rows = rows_of(user_client.get("/console/payg/transactions.csv"))
    assert rows == [
        [
            "created_at",
            "type",
            "amount_usd",
            "top_up_delta_usd",
            "bonus_delta_usd",
            "arrears_delta_usd",
            "description",
            "payment_id",
        ],
        [
            bonus.created_at.astimezone(UTC).isoformat(),
            "bonus",
            "2.500000",
            "0.000000",
            "2.500000",
            "0.000000",
            "test bonus",
            "",
        ],
        [
            topup_bonus.created_at.astimezone(UTC).isoformat(),
            "bonus",
            "2.000000",
            "0.000000",
            "2.000000",
            "0.000000",
            "Top-up bonus",
            str(payment.public_id),
        ],
        [
            topup.created_at.astimezone(UTC).isoformat(),
            "top_up",
            "10.000000",
            "10.000000",
            "0.000000",
            "0.000000",
            "Pay-as-you-go top-up",
            str(payment.public_id),
        ],
    ]


def test_exports_need_a_log_in(client):
    for url in (
        "/console/usage/export.csv",
        "/console/billing/history.csv",
        "/console/payg/transactions.csv",
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_a_large_usage_export_streams_from_one_cursor(user, user_client, django_assert_max_num_queries):
    key, _ = make_key(account=user)
    model = CatalogModel.objects.get(slug="deepseek/deepseek-chat")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    UsageEvent.objects.bulk_create(
        UsageEvent(
            request_id=f"bulk-{n}",
            account=user,
            api_key=key,
            model=model,
            cost_usd=Decimal("0.000001"),
            flows=Decimal("0.000002"),
            billed_to="subscription",
            created_at=start + timedelta(seconds=n),
        )
        for n in range(5000)
    )
    response = user_client.get("/console/usage/export.csv?start=2026-01-01&end=2026-01-31")
    assert response.streaming
    chunks = iter(response.streaming_content)
    assert next(chunks).decode().startswith("request_id,created_at,")  # the header, before any row is read
    with django_assert_max_num_queries(1):  # one server-side cursor, no query per row
        rest = b"".join(chunks).decode().splitlines()
    assert len(rest) == 5000
    assert rest[0].startswith("bulk-4999,2026-01-01T01:23:19+00:00,")
    assert rest[-1].startswith("bulk-0,2026-01-01T00:00:00+00:00,")


def test_pages_link_to_their_exports_with_the_current_filters(user, user_client):
    key, _ = make_key(account=user)
    event(user, key, "r1", timezone.now())
    paid_topup(user, "10.00")
    usage = user_client.get("/console/usage/?start=2026-03-01&end=2026-03-03").content.decode()
    assert 'href="/console/usage/export.csv?start=2026-03-01&amp;end=2026-03-03"' in usage
    detail = user_client.get(f"/console/keys/{key.pk}/?model=deepseek/deepseek-chat").content.decode()
    assert f'href="/console/keys/{key.pk}/usage.csv?model=deepseek%2Fdeepseek-chat"' in detail
    assert 'href="/console/payg/transactions.csv"' in user_client.get("/console/payg/").content.decode()
    assert 'href="/console/billing/history.csv"' in user_client.get("/console/subscription/").content.decode()
