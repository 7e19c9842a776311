# Console pages and actions; included from apps/core/urls.py, so names join the `console` namespace.
from django.urls import path

from apps.api_keys import views

urlpatterns = [
    path("management-keys/", views.management_keys, name="management_keys"),
    path("keys/<str:kind>/create/", views.api_key_create_view, name="api_key_create"),
    path("keys/<int:pk>/", views.api_key_detail_view, name="api_key_detail"),
    path("keys/<int:pk>/rename/", views.api_key_rename_view, name="api_key_rename"),
    path("keys/<int:pk>/status/", views.api_key_set_status_view, name="api_key_set_status"),
    path("keys/<int:pk>/rotate/", views.api_key_rotate_view, name="api_key_rotate"),
    path("keys/<int:pk>/delete/", views.api_key_delete_view, name="api_key_delete"),
]
