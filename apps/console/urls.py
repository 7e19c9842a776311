from django.urls import path

from apps.console.views import api_keys, exports, extra_usage, home, payg, refunds, subscription, usage

app_name = "console"

urlpatterns = [
    path("", home.console_home, name="home"),
    path("subscription/", subscription.subscription_page, name="subscription"),
    path("subscription/subscribe/", subscription.subscribe, name="subscribe"),
    path("subscription/upgrade/", subscription.upgrade, name="subscription_upgrade"),
    path("subscription/change/", subscription.schedule_change, name="subscription_schedule"),
    path("subscription/change/undo/", subscription.undo_scheduled_change, name="subscription_undo"),
    path("subscription/window-reset/", subscription.window_reset, name="window_reset"),
    path("subscription/window-auto-reset/", subscription.window_auto_reset, name="window_auto_reset"),
    path("billing/receipts/<uuid:public_id>/", subscription.payment_receipt, name="payment_receipt"),
    path("payg/", payg.payg_page, name="payg"),
    path("payg/top-up/", payg.payg_topup, name="payg_topup"),
    path("payg/auto-top-up/", payg.payg_auto_topup, name="payg_auto_topup"),
    path("payg/low-balance-alert/", payg.payg_low_balance_alert, name="payg_low_balance_alert"),
    path("payg/spend-caps/", payg.payg_spend_caps, name="payg_spend_caps"),
    path("payg/card/", payg.payg_sandbox_card, name="payg_sandbox_card"),
    path("management-keys/", api_keys.management_keys, name="management_keys"),
    path("keys/<str:kind>/create/", api_keys.api_key_create_view, name="api_key_create"),
    path("keys/<int:pk>/", api_keys.api_key_detail_view, name="api_key_detail"),
    path("keys/<int:pk>/limits/", api_keys.api_key_limits_view, name="api_key_limits"),
    path("keys/<int:pk>/rename/", api_keys.api_key_rename_view, name="api_key_rename"),
    path("keys/<int:pk>/status/", api_keys.api_key_set_status_view, name="api_key_set_status"),
    path("keys/<int:pk>/rotate/", api_keys.api_key_rotate_view, name="api_key_rotate"),
    path("keys/<int:pk>/delete/", api_keys.api_key_delete_view, name="api_key_delete"),
    path("subscription/refund/<uuid:public_id>/", refunds.refund_dialog, name="refund_dialog"),
    path("refunds/<int:pk>/", refunds.refund_detail, name="refund_detail"),
    path("extra-usage/", extra_usage.extra_usage_section_view, name="extra_usage"),
    path("extra-usage/select/", extra_usage.extra_usage_select_view, name="extra_usage_select"),
    path("extra-usage/enable/", extra_usage.extra_usage_enable_view, name="extra_usage_enable"),
    path("extra-usage/create-key/", extra_usage.extra_usage_create_key_view, name="extra_usage_create_key"),
    path("extra-usage/disable/", extra_usage.extra_usage_disable_view, name="extra_usage_disable"),
    path("usage/", usage.usage_page, name="usage"),
    path("usage/export.csv", exports.usage_export, name="usage_export"),
    path("keys/<int:pk>/usage.csv", exports.api_key_usage_export, name="api_key_usage_export"),
    path("billing/history.csv", exports.billing_history_export, name="billing_history_export"),
    path("payg/transactions.csv", exports.wallet_transactions_export, name="wallet_transactions_export"),
]
