"""The gateway API has an internal OpenAPI schema (behind the service token, not in the public docs), and
a bounded schemathesis run over it, with a real key and models, finds no server error and no response
the schema does not document."""

from contextlib import contextmanager

import pytest
import schemathesis
import yaml
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from apps.api_keys.models import ApiKeyKind
from apps.usage.models import Reservation, UsageEvent
from tests.api_keys.factories import make_key
from tests.usage.factories import cent_rate, gateway_client, make_plan, put_on_plan
from tests.wallet.factories import credit

pytestmark = pytest.mark.django_db
OPERATIONS = {"/api/v1/gateway/authorize", "/api/v1/gateway/usage", "/api/v1/gateway/release"}
MODELS = ["deepseek/deepseek-chat", "openai/gpt-5", "acme/unknown"]


def gateway_schema() -> dict:
    response = gateway_client().get("/api/v1/gateway/schema")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_the_gateway_schema_is_internal_and_valid():
    assert APIClient().get("/api/v1/gateway/schema").status_code == 401  # no service token, no schema
    schema = gateway_schema()
    validate_schema(schema)
    assert set(schema["paths"]) == OPERATIONS
    authorize = schema["paths"]["/api/v1/gateway/authorize"]["post"]
    assert set(authorize["responses"]) == {"200", "400", "401", "402", "403", "404", "409", "429"}
    assert "request_conflict" in authorize["responses"]["409"]["description"]
    public = yaml.safe_load(APIClient().get("/api/v1/schema/").content)
    assert not any(path.startswith("/api/v1/gateway/") for path in public["paths"])


@contextmanager
def connection_kept_open():
    """Like Django's test client, keep the test's connection open across the WSGI app's requests."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_schemathesis_finds_no_server_error_in_the_gateway_api(user):
    cent_rate()
    put_on_plan(user, make_plan(rpm=100_000))
    credit(user, "20.00")
    _sub, sub_secret = make_key(account=user, name="Fuzz sub")
    _payg, payg_secret = make_key(account=user, kind=ApiKeyKind.PAYG, name="Fuzz payg")
    _mg, mg_secret = make_key(account=user, kind=ApiKeyKind.MANAGEMENT, name="Fuzz mg")
    raw = gateway_schema()
    # Steer generation to real keys, models and a few request ids, so the fuzz reaches the metering
    # engine (reservations, settlement, replays, conflicts) instead of stopping at "unknown key".
    body = raw["components"]["schemas"]
    body["AuthorizeRequest"]["properties"]["api_key"]["enum"] = [sub_secret, payg_secret, mg_secret]
    body["AuthorizeRequest"]["properties"]["model"]["enum"] = MODELS
    for name in ("AuthorizeRequest", "UsageRequest", "ReleaseRequest"):
        body[name]["properties"]["request_id"]["enum"] = ["gen_1", "gen_2", "gen_3"]
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = get_wsgi_application()
    schema.location = "/api/v1/gateway/schema"
    order = ["/api/v1/gateway/authorize", "/api/v1/gateway/usage", "/api/v1/gateway/release"]
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()), key=lambda o: order.index(o.path)
    )
    assert [operation.path for operation in operations] == order
    checks = [not_a_server_error, status_code_conformance, response_schema_conformance]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis_settings(
                max_examples=25,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case):
                positive = case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE
                case.call_and_validate(
                    headers={"Authorization": "Bearer test-gateway-token"},
                    checks=checks if positive else [not_a_server_error],
                )

            with connection_kept_open():
                run()
    # The run reached the engine: requests were authorized, settled and released.
    assert Reservation.objects.exists()
    assert UsageEvent.objects.exists()
    assert not Reservation.objects.filter(status="active").exists()  # each was settled or released
