from allauth.account.decorators import secure_admin_login
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.console.views.home import language_switch
from apps.console.views.pricing import pricing
from apps.core.api import ApiNotFound

# The admin signs in through allauth (with its two-factor step and rate limits), never its own form.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/switch/", language_switch, name="language_switch"),
    # Stripe webhooks: POST /stripe/webhook/<WebhookEndpoint.djstripe_uuid>/ (signature verified by dj-stripe)
    path("stripe/", include("djstripe.urls", namespace="djstripe")),
    path("api/v1/gateway/", include("apps.usage.urls")),
    path("api/v1/management/", include("apps.management_api.urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api_schema"), name="api_docs"),
    # Keep last among the API routes: any other /api/ URL answers a JSON 404 in the SPEC §7 format.
    re_path(r"^api/", ApiNotFound.as_view()),
]

urlpatterns += i18n_patterns(
    path("", RedirectView.as_view(pattern_name="pricing", permanent=False), name="home"),
    path("pricing/", pricing, name="pricing"),
    path("accounts/", include("allauth.urls")),
    path("console/", include("apps.console.urls")),
    path("billing/", include("apps.billing.urls")),
    prefix_default_language=False,
)
