from django.urls import include, path

from apps.console.views import home

app_name = "console"

urlpatterns = [
    path("", home.console_home, name="home"),
    path("", include("apps.plans.console_urls")),
    path("", include("apps.wallet.urls")),
    path("", include("apps.api_keys.urls")),
    path("", include("apps.refunds.urls")),
    path("", include("apps.extra_usage.urls")),
    path("", include("apps.usage.console_urls")),
]
