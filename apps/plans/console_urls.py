"""Console pages of the subscription (joined into the `console` namespace by apps/core/urls.py)."""

from django.urls import path

from apps.plans import console_views

urlpatterns = [
    path("subscription/", console_views.subscription_page, name="subscription"),
    path("subscription/subscribe/", console_views.subscribe, name="subscribe"),
    path("subscription/upgrade/", console_views.upgrade, name="subscription_upgrade"),
    path("subscription/change/", console_views.schedule_change, name="subscription_schedule"),
    path("subscription/change/undo/", console_views.undo_scheduled_change, name="subscription_undo"),
    path("billing/receipts/<uuid:public_id>/", console_views.payment_receipt, name="payment_receipt"),
]
