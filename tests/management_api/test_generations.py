"""GET /api/v1/management/generations: range filters, keyset cursor pagination, isolation, bad input."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.api_keys.models import ApiKeyKind
from apps.management_api.throttling import ManagementRateThrottle
from apps.plans.models import CatalogModel
from apps.usage.models import UsageEvent
from tests.accounts.factories import UserFactory
from tests.api_keys.factories import make_key
from tests.management_api.factories import get, iso, management_client
from tests.management_api.test_errors import error_of
from tests.usage.factories import UsageEventFactory

pytestmark = pytest.mark.django_db
D = Decimal
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def page_of(response) -> dict:
    assert response.status_code == 200, response.content
    body = json.loads(response.content, parse_float=Decimal)
    assert body["success"] is True
    return body["data"]


def event(account, key, request_id, at, **fields):
    return UsageEventFactory(account=account, api_key=key, request_id=request_id, created_at=at, **fields)


def test_generations_lists_the_range_newest_first_with_exact_fields(user):
    key, _ = make_key(account=user, kind=ApiKeyKind.SUBSCRIPTION)
    event(
        user,
        key,
        "gen_a",
        T0,
        input_tokens=1200,
        output_tokens=345,
        cost_usd=D("0.500000"),
        flows=D("19.800000"),
        billed_to="subscription",
    )
    event(user, key, "gen_b", T0 + timedelta(hours=1), billed_to="payg", cost_usd=D("0.000420"), flows=D("0"))
    event(user, key, "gen_before", T0 - timedelta(seconds=1))
    event(user, key, "gen_at_end", T0 + timedelta(days=1))  # ending_at is exclusive
    other = UserFactory()
    other_key, _ = make_key(account=other)
    event(other, other_key, "gen_theirs", T0 + timedelta(minutes=5))
    client, _mkey = management_client(user)

    data = page_of(get(client, "generations", starting_at=iso(T0), ending_at="2026-06-02"))

    assert data == {
        "generations": [
            {
                "id": "gen_b",
                "model": "deepseek/deepseek-chat",
                "created": iso(T0 + timedelta(hours=1)),
                "input_tokens": 0,
                "output_tokens": 0,
                "cost_usd": D("0.00042"),
                "flows": D("0"),
                "billed_to": "payg",
                "extra_usage": False,
                "api_key_id": key.pk,
            },
            {
                "id": "gen_a",
                "model": "deepseek/deepseek-chat",
                "created": iso(T0),
                "input_tokens": 1200,
                "output_tokens": 345,
                "cost_usd": D("0.5"),
                "flows": D("19.8"),
                "billed_to": "subscription",
                "extra_usage": False,
                "api_key_id": key.pk,
            },
        ],
        "has_more": False,
        "next_cursor": None,
    }


def test_the_cursor_walks_every_generation_once_even_with_equal_times(user):
    key, _ = make_key(account=user)
    for n in range(7):
        event(user, key, f"gen_{n}", T0 + timedelta(minutes=n // 2))  # pairs share a created_at
    other_key, _ = make_key(account=UserFactory())
    event(other_key.account, other_key, "gen_theirs", T0)
    client, _mkey = management_client(user)
    seen, cursor, pages = [], None, 0
    while True:
        params = {"starting_at": "2026-06-01", "ending_at": "2026-06-02", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        data = page_of(get(client, "generations", **params))
        pages += 1
        seen += [g["id"] for g in data["generations"]]
        assert data["has_more"] is (data["next_cursor"] is not None)
        cursor = data["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == ["gen_6", "gen_5", "gen_4", "gen_3", "gen_2", "gen_1", "gen_0"]


def test_limit_defaults_to_50(user):
    key, _ = make_key(account=user)
    now = timezone.now()
    UsageEvent.objects.bulk_create(
        UsageEvent(
            request_id=f"bulk_{n}",
            account=user,
            api_key=key,
            model_id=key_model_id(),
            billed_to="subscription",
            created_at=now - timedelta(minutes=n + 1),
        )
        for n in range(51)
    )
    client, _mkey = management_client(user)
    data = page_of(get(client, "generations"))  # default range: the last 30 days
    assert (len(data["generations"]), data["has_more"]) == (50, True)
    assert data["generations"][-1]["id"] == "bulk_49"
    rest = page_of(get(client, "generations", cursor=data["next_cursor"]))
    assert ([g["id"] for g in rest["generations"]], rest["has_more"], rest["next_cursor"]) == (
        ["bulk_50"],
        False,
        None,
    )


def key_model_id() -> int:
    return CatalogModel.objects.get(slug="deepseek/deepseek-chat").pk


def test_another_accounts_cursor_reveals_nothing_of_theirs(user):
    """A cursor only positions in the caller's own list: the other account's rows never appear."""
    theirs = UserFactory()
    their_key, _ = make_key(account=theirs)
    for n in range(3):
        event(theirs, their_key, f"their_{n}", T0 + timedelta(minutes=n))
    their_client, _k = management_client(theirs)
    their_page = page_of(
        get(their_client, "generations", starting_at="2026-06-01", ending_at="2026-06-02", limit=1)
    )
    mine, _ = make_key(account=user)
    event(user, mine, "mine", T0)
    client, _mkey = management_client(user)
    data = page_of(
        get(
            client,
            "generations",
            starting_at="2026-06-01",
            ending_at="2026-06-02",
            cursor=their_page["next_cursor"],
        )
    )
    assert [g["id"] for g in data["generations"]] == ["mine"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"cursor": "not-a-cursor"},
            "Invalid parameter cursor: Invalid cursor: pass the next_cursor of a previous page unchanged.",
        ),
        (
            {"cursor": "x" * 201},
            "Invalid parameter cursor: Invalid cursor: pass the next_cursor of a previous page unchanged.",
        ),
        ({"limit": "101"}, "Invalid parameter limit: Ensure this value is less than or equal to 100."),
        ({"limit": "0"}, "Invalid parameter limit: Ensure this value is greater than or equal to 1."),
        (
            {"starting_at": "2026-06-02", "ending_at": "2026-06-01"},
            "Invalid parameter starting_at: starting_at must be before ending_at.",
        ),
        (
            {"starting_at": "2025-01-01", "ending_at": "2026-06-01"},
            "Invalid parameter starting_at: The range may span at most 366 days.",
        ),
        (
            {"starting_at": "1999-12-31"},
            "Invalid parameter starting_at: Dates must be between 2000-01-01 and 2999-12-31.",
        ),
        (
            {"ending_at": "soon"},
            "Invalid parameter ending_at: Enter an ISO 8601 date or date-time, e.g. 2026-11-01 or 2026-11-01T00:00:00Z.",
        ),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(user, params, message):
    client, _key = management_client(user)
    assert error_of(get(client, "generations", **params), 400, "invalid_params") == message


def test_a_tampered_cursor_is_400(user):
    key, _ = make_key(account=user)
    for n in range(2):
        event(user, key, f"gen_{n}", T0 + timedelta(minutes=n))
    client, _mkey = management_client(user)
    cursor = page_of(get(client, "generations", starting_at="2026-06-01", ending_at="2026-06-02", limit=1))[
        "next_cursor"
    ]
    tampered = cursor[:-1] + ("A" if cursor[-1] != "A" else "B")
    response = get(client, "generations", starting_at="2026-06-01", ending_at="2026-06-02", cursor=tampered)
    assert error_of(response, 400, "invalid_params").startswith("Invalid parameter cursor:")


def test_generations_has_its_own_per_key_minute_limit(user, settings, monkeypatch):
    monkeypatch.setattr(
        ManagementRateThrottle, "clock", staticmethod(lambda: 1_800_000_000 - 1_800_000_000 % 60 + 1)
    )
    settings.FLOWPORT_MANAGEMENT_RATE_PER_MINUTE = 2
    client, _key = management_client(user)
    assert [get(client, "generations").status_code for _ in range(3)] == [200, 200, 422]
    assert get(client, "generation", id="x").status_code == 404  # the single-generation endpoint counts apart
