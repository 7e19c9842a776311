"""The event kinds a customer can be told about: category, default channels, and how each reads
(apps/notifications/texts.py builds the texts from a notification's `data`, which holds plain strings only).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy

from apps.notifications.texts import (
    Text,
    account_status_text,
    auto_topup_failed_text,
    auto_topup_succeeded_text,
    downgrade_scheduled_text,
    dropped_to_free_text,
    endpoint_disabled_text,
    extra_usage_engaged_text,
    extra_usage_returned_text,
    key_created_text,
    key_limit_reached_text,
    key_limit_threshold_text,
    key_rotated_text,
    low_balance_text,
    management_key_created_text,
    quota_restored_text,
    quota_threshold_text,
    refund_status_text,
    renewal_failed_text,
    renewed_text,
    spend_cap_reached_text,
    spend_cap_threshold_text,
    subscription_started_text,
    subscription_upgraded_text,
    topup_receipt_text,
)

EMAIL, INBOX, WEBHOOK = "email", "inbox", "webhook"
CHANNELS = (EMAIL, INBOX, WEBHOOK)
CHANNEL_LABELS = {
    EMAIL: gettext_lazy("E-mail"),
    INBOX: gettext_lazy("Inbox"),
    WEBHOOK: gettext_lazy("Webhooks"),
}


@dataclass(frozen=True)
class Kind:
    code: str
    category: str
    label: object  # lazy string
    render: Callable[[dict], Text]
    link: str  # console URL name the message points to
    email: bool = True  # e-mail on by default
    inbox: bool = True
    webhook: bool = True


KINDS: dict[str, Kind] = {
    kind.code: kind
    for kind in [
        # Quota alerts come every window (up to three per 5 hours): inbox and webhooks by default, e-mail
        # when the customer asks for it. Money, account and security e-mails are on by default.
        Kind(
            "quota.threshold",
            "quota",
            gettext_lazy("Quota threshold reached"),
            quota_threshold_text,
            "console:usage",
            email=False,
        ),
        Kind(
            "quota.restored",
            "quota",
            gettext_lazy("Quota window reset"),
            quota_restored_text,
            "console:usage",
            email=False,
        ),
        Kind(
            "extra_usage.engaged",
            "quota",
            gettext_lazy("Extra Usage took over"),
            extra_usage_engaged_text,
            "console:subscription",
        ),
        Kind(
            "extra_usage.returned",
            "quota",
            gettext_lazy("Requests returned to the subscription"),
            extra_usage_returned_text,
            "console:subscription",
            email=False,
        ),
        # Key spend limits and account spend caps (issue #22): a threshold notice at most once per key or
        # cap period and threshold (e-mail when asked for, like quota), a refusal notice once per period.
        Kind(
            "limits.key_threshold",
            "limits",
            gettext_lazy("API key spend limit threshold reached"),
            key_limit_threshold_text,
            "console:home",
            email=False,
        ),
        Kind(
            "limits.key_limit_reached",
            "limits",
            gettext_lazy("API key refused a request: spend limit reached"),
            key_limit_reached_text,
            "console:home",
        ),
        Kind(
            "limits.spend_cap_threshold",
            "limits",
            gettext_lazy("Spend cap threshold reached"),
            spend_cap_threshold_text,
            "console:payg",
            email=False,
        ),
        Kind(
            "limits.spend_cap_reached",
            "limits",
            gettext_lazy("Request refused: spend cap reached"),
            spend_cap_reached_text,
            "console:payg",
        ),
        Kind("wallet.low_balance", "wallet", gettext_lazy("Low balance"), low_balance_text, "console:payg"),
        Kind(
            "wallet.auto_topup_succeeded",
            "wallet",
            gettext_lazy("Auto top-up succeeded"),
            auto_topup_succeeded_text,
            "console:payg",
        ),
        Kind(
            "wallet.auto_topup_failed",
            "wallet",
            gettext_lazy("Auto top-up failed"),
            auto_topup_failed_text,
            "console:payg",
        ),
        Kind(
            "wallet.topup_receipt",
            "wallet",
            gettext_lazy("Top-up receipt"),
            topup_receipt_text,
            "console:payg",
        ),
        Kind(
            "subscription.started",
            "subscription",
            gettext_lazy("Subscription started"),
            subscription_started_text,
            "console:subscription",
        ),
        Kind(
            "subscription.upgraded",
            "subscription",
            gettext_lazy("Subscription upgraded"),
            subscription_upgraded_text,
            "console:subscription",
        ),
        Kind(
            "subscription.downgrade_scheduled",
            "subscription",
            gettext_lazy("Downgrade scheduled"),
            downgrade_scheduled_text,
            "console:subscription",
        ),
        Kind(
            "subscription.renewed",
            "subscription",
            gettext_lazy("Subscription renewed"),
            renewed_text,
            "console:subscription",
        ),
        Kind(
            "subscription.renewal_failed",
            "subscription",
            gettext_lazy("Renewal failed"),
            renewal_failed_text,
            "console:subscription",
        ),
        Kind(
            "subscription.dropped_to_free",
            "subscription",
            gettext_lazy("Dropped to Free"),
            dropped_to_free_text,
            "console:subscription",
        ),
        Kind(
            "refund.status_changed",
            "refund",
            gettext_lazy("Refund status changed"),
            refund_status_text,
            "console:subscription",
        ),
        Kind(
            "account.status_changed",
            "account",
            gettext_lazy("Account status changed"),
            account_status_text,
            "console:home",
        ),
        Kind(
            "security.api_key_created",
            "security",
            gettext_lazy("API key created"),
            key_created_text,
            "console:home",
        ),
        Kind(
            "security.api_key_rotated",
            "security",
            gettext_lazy("API key rotated"),
            key_rotated_text,
            "console:home",
        ),
        Kind(
            "security.management_key_created",
            "security",
            gettext_lazy("Management key created"),
            management_key_created_text,
            "console:management_keys",
        ),
        Kind(
            "webhook.endpoint_disabled",
            "webhook",
            gettext_lazy("Webhook endpoint disabled"),
            endpoint_disabled_text,
            "console:webhooks",
            webhook=False,
        ),
    ]
}

CATEGORY_LABELS = {
    "quota": gettext_lazy("Quota"),
    "limits": gettext_lazy("Spend limits and caps"),
    "wallet": gettext_lazy("Pay-as-you-go wallet"),
    "subscription": gettext_lazy("Subscription"),
    "refund": gettext_lazy("Refunds"),
    "account": gettext_lazy("Account"),
    "security": gettext_lazy("Security"),
    "webhook": gettext_lazy("Webhooks"),
}

# Event kinds a webhook endpoint may subscribe to (the endpoint-disabled notice goes to its owner only).
WEBHOOK_KINDS = tuple(code for code, kind in KINDS.items() if kind.webhook)
DEFAULT_QUOTA_THRESHOLDS = (80, 95, 100)
MAX_QUOTA_THRESHOLDS = 5


def default_channels(code: str) -> dict[str, bool]:
    kind = KINDS[code]
    return {EMAIL: kind.email, INBOX: kind.inbox, WEBHOOK: kind.webhook}
