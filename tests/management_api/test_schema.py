"""The OpenAPI schema is valid, documents the management API, and a bounded schemathesis run over it
(with a valid management key and usage data) finds no server error and no undocumented response."""

import re

import pytest
import schemathesis
import yaml
from django.contrib.staticfiles import finders
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from apps.api_keys.models import ApiKey, ApiKeyKind
from tests.api_keys.factories import make_key
from tests.management_api.factories import metered, on_plan

OPERATIONS = {
    "/api/v1/management/subscription/detail",
    "/api/v1/management/flow_rate",
    "/api/v1/management/keys",
    "/api/v1/management/payg/balance",
    "/api/v1/management/generation",
    "/api/v1/management/generations",
    "/api/v1/management/statistics/timeseries",
    "/api/v1/management/webhooks/endpoints",
    "/api/v1/management/webhooks/endpoints/{endpoint_id}",
}


def test_generated_schema_is_valid_openapi():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)  # raises on an invalid OpenAPI 3 document
    assert set(schema["paths"]) == OPERATIONS
    assert schema["components"]["securitySchemes"]["managementKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A management key (sk-mg-v1-…) created in the console.",
    }


@pytest.mark.django_db
def test_schema_endpoint_serves_the_management_operations(client):
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert set(schema["paths"]) == OPERATIONS  # the internal gateway API is not published
    detail = schema["paths"]["/api/v1/management/subscription/detail"]["get"]
    assert detail["security"] == [{"managementKey": []}]
    assert set(detail["responses"]) == {"200", "401", "403", "422"}
    assert "Retry-After" in detail["responses"]["422"]["headers"]
    timeseries = schema["paths"]["/api/v1/management/statistics/timeseries"]["get"]
    assert {p["name"] for p in timeseries["parameters"]} == {
        "metric",
        "bucket_width",
        "starting_at",
        "ending_at",
        "limit",
    }
    assert set(timeseries["responses"]) == {"200", "400", "401", "403", "422"}


@pytest.mark.django_db
def test_schema_in_chinese(client):
    schema = yaml.safe_load(client.get("/api/v1/schema/", {"lang": "zh-hans"}).content)
    detail = schema["paths"]["/api/v1/management/subscription/detail"]["get"]
    assert detail["summary"] == "套餐、Flow 汇率与配额窗口"
    docs = client.get("/api/v1/docs/", {"lang": "zh-hans"}).content.decode()
    assert '"/api/v1/schema/?lang\\u003Dzh\\u002Dhans"' in docs  # JSON-escaped in the page's script


@pytest.mark.django_db
def test_docs_page_renders_vendored_swagger_ui(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "/api/v1/schema/" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing loaded from another host
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")  # vendored


@pytest.fixture
def management_schema(db):
    """The schema loaded from the Django WSGI app, which then serves schemathesis' requests in-process.

    Like Django's test client, keep the test's connection open across requests (request signals would
    otherwise close it inside the test transaction).
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def management_secret(db, user, settings):
    """A valid management key of an account with some subscription usage to report."""
    settings.FLOWPORT_MANAGEMENT_RATE_PER_MINUTE = 100_000  # the run makes many requests in one minute
    on_plan(user, "pro", start=timezone.now() - timezone.timedelta(days=2))
    _key, subscription_secret = make_key(account=user, kind=ApiKeyKind.SUBSCRIPTION)
    metered(subscription_secret, cost="0.25", request_id="gen_fuzz")
    _key, secret = make_key(account=user, kind=ApiKeyKind.MANAGEMENT, name="Fuzz")
    return secret


def test_schemathesis_finds_no_server_error(management_schema, management_secret):
    """Every documented operation, a bounded number of generated requests each (deterministic)."""
    checks = [not_a_server_error, status_code_conformance, response_schema_conformance]
    operations = [result.ok() for result in management_schema.get_all_operations()]
    assert {operation.path for operation in operations} == OPERATIONS
    strategies = [
        operation.as_strategy(generation_mode=mode)
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]
    for strategy in strategies:

        @given(case=strategy)
        @hypothesis_settings(
            max_examples=15,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            # Negative cases may break the schema on purpose: there only "no 5xx" must hold.
            positive = case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE
            case.call_and_validate(
                headers={"Authorization": f"Bearer {management_secret}"},
                checks=checks if positive else [not_a_server_error],
            )

        run()
    # The run really went through authentication to the views (each served request is counted).
    assert (
        ApiKey.objects.get(name="Fuzz").request_count >= 5 * 10
    )  # at least 10 served requests per operation


@pytest.mark.django_db
def test_schema_labels_in_chinese(client):
    """The docs' labels a Chinese reader met in English (issue 19): the security scheme and enum labels."""
    schema = yaml.safe_load(client.get("/api/v1/schema/", {"lang": "zh-hans"}).content)
    components = schema["components"]
    assert (
        components["securitySchemes"]["managementKey"]["description"]
        == "在控制台中创建的管理密钥（sk-mg-v1-…）。"
    )
    enums = components["schemas"]
    assert enums["MetricEnum"]["enum"] == ["tokens", "cost"]  # the API values stay as they are
    assert enums["MetricEnum"]["description"] == "* `tokens` - Token\n* `cost` - 费用"
    english = yaml.safe_load(client.get("/api/v1/schema/").content)["components"]
    assert english["schemas"]["MetricEnum"]["description"] == "* `tokens` - Tokens\n* `cost` - Cost"


def test_webhook_endpoints_are_documented():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    endpoints = schema["paths"]["/api/v1/management/webhooks/endpoints"]
    assert set(endpoints) == {"get", "post"}
    assert set(endpoints["post"]["responses"]) == {"201", "400", "401", "403", "422"}
    body = endpoints["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "$ref" in body  # the input serializer (url, events, description)
    created = schema["components"]["schemas"]["WebhookEndpointCreated"]["properties"]
    assert "secret" in created
    assert "secret" not in schema["components"]["schemas"]["WebhookEndpoint"]["properties"]
    detail = schema["paths"]["/api/v1/management/webhooks/endpoints/{endpoint_id}"]
    assert set(detail) == {"delete"}
    assert "404" in detail["delete"]["responses"]
