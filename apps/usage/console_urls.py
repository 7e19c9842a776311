# Console pages; included from apps/core/urls.py, so names join the `console` namespace.
from django.urls import path

from apps.usage import console_views

urlpatterns = [
    path("usage/", console_views.usage_page, name="usage"),
]
