"""Management REST API, mounted at /api/v1/management/ (outside the language prefixes).

Paths are as in SPEC §11 (no trailing slash); the same path with a trailing slash also works (it is
left out of the OpenAPI schema by `apps.management_api.schema.management_endpoints_only`).
"""

from django.urls import path

from apps.management_api import apis

ROUTES = [
    ("subscription/detail", apis.SubscriptionDetailApi, "management_subscription_detail"),
    ("flow_rate", apis.FlowRateApi, "management_flow_rate"),
    ("keys", apis.ApiKeysApi, "management_keys"),
    ("payg/balance", apis.PaygBalanceApi, "management_payg_balance"),
    ("generation", apis.GenerationApi, "management_generation"),
    ("generations", apis.GenerationsApi, "management_generations"),
    ("statistics/timeseries", apis.TimeseriesApi, "management_statistics_timeseries"),
    ("webhooks/endpoints", apis.WebhookEndpointsApi, "management_webhook_endpoints"),
    (
        "webhooks/endpoints/<uuid:endpoint_id>",
        apis.WebhookEndpointDetailApi,
        "management_webhook_endpoint_detail",
    ),
]

urlpatterns = [path(route, view.as_view(), name=name) for route, view, name in ROUTES] + [
    path(f"{route}/", view.as_view()) for route, view, _name in ROUTES
]
