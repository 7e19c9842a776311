from django.urls import path

from apps.wallet import views

urlpatterns = [
    path("payg/", views.payg_page, name="payg"),
    path("payg/top-up/", views.payg_topup, name="payg_topup"),
    path("payg/auto-top-up/", views.payg_auto_topup, name="payg_auto_topup"),
    path("payg/low-balance-alert/", views.payg_low_balance_alert, name="payg_low_balance_alert"),
    path("payg/card/", views.payg_sandbox_card, name="payg_sandbox_card"),
]
