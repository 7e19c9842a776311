from django.urls import include, path

from apps.core import views

app_name = "console"

urlpatterns = [
    path("", views.console_home, name="home"),
    path("", include("apps.plans.console_urls")),
    path("", include("apps.wallet.urls")),
    path("", include("apps.api_keys.urls")),
    path("", include("apps.refunds.urls")),
    path("", include("apps.extra_usage.urls")),
    path("", include("apps.usage.console_urls")),
]
