# Console actions; included from apps/core/urls.py, so names join the `console` namespace.
from django.urls import path

from apps.extra_usage import views

urlpatterns = [
    path("extra-usage/", views.extra_usage_section_view, name="extra_usage"),
    path("extra-usage/select/", views.extra_usage_select_view, name="extra_usage_select"),
    path("extra-usage/enable/", views.extra_usage_enable_view, name="extra_usage_enable"),
    path("extra-usage/create-key/", views.extra_usage_create_key_view, name="extra_usage_create_key"),
    path("extra-usage/disable/", views.extra_usage_disable_view, name="extra_usage_disable"),
]
