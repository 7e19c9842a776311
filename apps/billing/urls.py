from django.urls import path

from apps.billing import views

app_name = "billing"

urlpatterns = [
    path("sandbox/checkout/<uuid:public_id>/", views.sandbox_checkout, name="sandbox_checkout"),
]
