"""Gateway metering API, mounted at /api/v1/gateway/ (outside the language prefixes; trailing slash optional)."""

from django.urls import re_path

from apps.usage.apis import AuthorizeApi, GatewaySchemaApi, ReleaseApi, UsageApi

urlpatterns = [
    re_path(r"^authorize/?$", AuthorizeApi.as_view(), name="gateway_authorize"),
    re_path(r"^usage/?$", UsageApi.as_view(), name="gateway_usage"),
    re_path(r"^release/?$", ReleaseApi.as_view(), name="gateway_release"),
    re_path(r"^schema/?$", GatewaySchemaApi.as_view(), name="gateway_schema"),
]
