from django.urls import include, path

from apps.console.views import home, subscription

app_name = "console"

urlpatterns = [
    path("", home.console_home, name="home"),
    path("subscription/", subscription.subscription_page, name="subscription"),
    path("subscription/subscribe/", subscription.subscribe, name="subscribe"),
    path("subscription/upgrade/", subscription.upgrade, name="subscription_upgrade"),
    path("subscription/change/", subscription.schedule_change, name="subscription_schedule"),
    path("subscription/change/undo/", subscription.undo_scheduled_change, name="subscription_undo"),
    path("billing/receipts/<uuid:public_id>/", subscription.payment_receipt, name="payment_receipt"),
    path("", include("apps.wallet.urls")),
    path("", include("apps.api_keys.urls")),
    path("", include("apps.refunds.urls")),
    path("", include("apps.extra_usage.urls")),
    path("", include("apps.usage.console_urls")),
]
