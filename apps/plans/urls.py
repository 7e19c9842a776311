from django.urls import path

from apps.plans import views

urlpatterns = [
    path("pricing/", views.pricing, name="pricing"),
]
