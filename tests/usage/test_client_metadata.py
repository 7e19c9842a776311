"""SPEC §7 `client`: optional end-client metadata on authorize, validated, stored on the reservation and
its usage event (fast path and full path), IPs cleared after the retention period."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from apps.api_keys.models import ApiKeyKind
from apps.usage.models import QuotaWindow, Reservation, UsageEvent
from apps.usage.services import client_ips_clear
from tests.api_keys.factories import make_key
from tests.usage.factories import UsageEventFactory, cent_rate, gateway_client, make_plan, put_on_plan, usage
from tests.wallet.factories import credit

pytestmark = pytest.mark.django_db
CHAT = "deepseek/deepseek-chat"
UA = "curl/8.5.0"


@pytest.fixture
def secret(user):
    cent_rate()
    put_on_plan(user, make_plan(q5h="100", weekly="300", monthly="500", rpm=50))
    return make_key(account=user)[1]


def authorize(api, request_id, secret, **extra):
    body = {"request_id": request_id, "api_key": secret, "model": CHAT, "estimated_cost_usd": "0.05", **extra}
    return api.post("/api/v1/gateway/authorize", body, format="json")


def stored(request_id):
    reservation = Reservation.objects.get(request_id=request_id)
    event = UsageEvent.objects.filter(request_id=request_id).first()
    return (
        (reservation.client_ip, reservation.client_user_agent),
        (event.client_ip, event.client_user_agent) if event else None,
    )


@pytest.mark.postgresql
def test_the_fast_path_stores_the_client_on_the_reservation_and_the_event(secret):
    client = gateway_client()
    assert authorize(client, "warm", secret).status_code == 200  # loads the key's facts
    assert usage(client, "warm", cost="0.01").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = authorize(client, "fast", secret, client={"ip": "203.0.113.7", "user_agent": UA})
    assert response.status_code == 200, response.content
    assert len(queries) == 1  # the one-statement fast path took it
    with CaptureQueriesContext(connection) as queries:
        assert usage(client, "fast", cost="0.02").status_code == 200
    assert len(queries) == 1  # and settled it in one statement
    assert stored("fast") == (("203.0.113.7", UA), ("203.0.113.7", UA))
    assert stored("warm") == ((None, None), (None, None))


@pytest.mark.sqlite
@override_settings(METERING_FAST_PATH=False)
def test_the_full_path_stores_the_client_on_the_reservation_and_the_event(secret):
    client = gateway_client()
    response = authorize(client, "full", secret, client={"ip": "2001:DB8:0:0::1", "user_agent": UA})
    assert response.status_code == 200, response.content
    assert stored("full") == (("2001:db8::1", UA), None)  # IPv6 kept in its canonical form
    assert usage(client, "full", cost="0.02").status_code == 200
    assert stored("full") == (("2001:db8::1", UA), ("2001:db8::1", UA))


@pytest.mark.sqlite
def test_a_payg_request_stores_the_client_and_the_client_is_optional(user):
    credit(user, "10.00")
    _key, payg_secret = make_key(account=user, kind=ApiKeyKind.PAYG)
    client = gateway_client()
    assert authorize(client, "payg", payg_secret, client={"ip": "198.51.100.4"}).status_code == 200
    assert usage(client, "payg", cost="0.01").status_code == 200
    assert stored("payg") == (("198.51.100.4", None), ("198.51.100.4", None))
    assert authorize(client, "none", payg_secret, client=None).status_code == 200
    assert stored("none") == ((None, None), None)


def _state():
    return (
        list(Reservation.objects.values()),
        list(UsageEvent.objects.values()),
        list(QuotaWindow.objects.values("used_flows", "reserved_flows")),
    )


@pytest.mark.parametrize(
    ("client_value", "field"),
    [
        ({"ip": "300.1.2.3"}, "client.ip"),
        ({"ip": "not an address"}, "client.ip"),
        ({"ip": 2130706433}, "client.ip"),
        ({"ip": "1" * 46}, "client.ip"),
        ({"user_agent": "x" * 513}, "client.user_agent"),
        ({"user_agent": ["curl"]}, "client.user_agent"),
        ("203.0.113.7", "client"),
    ],
)
def test_bad_client_metadata_is_a_400_naming_the_field_and_changes_nothing(secret, client_value, field):
    client = gateway_client()
    before = _state()
    response = authorize(client, "bad", secret, client=client_value)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["type"] == "invalid_params"
    assert field in error["message"]
    assert _state() == before


def test_a_user_agent_of_512_characters_is_accepted(secret):
    response = authorize(gateway_client(), "long", secret, client={"user_agent": "u" * 512})
    assert response.status_code == 200
    assert stored("long")[0] == (None, "u" * 512)


@pytest.mark.sqlite
@override_settings(FLOWPORT_CLIENT_IP_RETENTION_DAYS=30)
def test_the_retention_job_clears_only_ips_older_than_the_retention_period(user):
    now = timezone.now()
    old = UsageEventFactory(
        account=user, client_ip="203.0.113.1", client_user_agent=UA, created_at=now - timedelta(days=31)
    )
    edge = UsageEventFactory(
        account=user, client_ip="203.0.113.2", created_at=now - timedelta(days=29, hours=23)
    )
    assert client_ips_clear(now=now) == 1
    old.refresh_from_db()
    edge.refresh_from_db()
    assert (old.client_ip, old.client_user_agent) == (None, UA)
    assert edge.client_ip == "203.0.113.2"
    assert client_ips_clear(now=now) == 0  # twice: nothing more
    assert client_ips_clear(now=now + timedelta(days=1)) == 1


def test_the_gateway_schema_documents_the_client_object():
    import yaml

    schema = yaml.safe_load(gateway_client().get("/api/v1/gateway/schema").content)
    components = schema["components"]["schemas"]
    client = components["AuthorizeRequest"]["properties"]["client"]
    assert "FLOWPORT_CLIENT_IP_RETENTION_DAYS" in client["description"]
    fields = components["ClientRequest"]["properties"]
    assert set(fields) == {"ip", "user_agent"}
    assert fields["user_agent"]["maxLength"] == 512
    assert "client" not in components["AuthorizeRequest"].get("required", [])
