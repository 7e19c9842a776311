"""Console refund pages (joined into the `console` namespace by apps/core/urls.py)."""

from django.urls import path

from apps.refunds import views

urlpatterns = [
    path("subscription/refund/<uuid:public_id>/", views.refund_dialog, name="refund_dialog"),
    path("refunds/<int:pk>/", views.refund_detail, name="refund_detail"),
]
