"""The event kinds a customer can be told about: category, default channels, and how each reads.

Texts are built when shown (the inbox in the reader's language, e-mail in the account's language) from
the notification's `data`, which holds plain strings only (never secrets).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.templatetags.flowport import flows, usd

EMAIL, INBOX, WEBHOOK = "email", "inbox", "webhook"
CHANNELS = (EMAIL, INBOX, WEBHOOK)
CHANNEL_LABELS = {
    EMAIL: gettext_lazy("E-mail"),
    INBOX: gettext_lazy("Inbox"),
    WEBHOOK: gettext_lazy("Webhooks"),
}


@dataclass(frozen=True)
class Text:
    title: str
    body: str


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
    defaults: dict = field(default_factory=dict)


def _window(code: str) -> str:
    from apps.usage.models import WindowKind

    return str(dict(WindowKind.choices).get(code, code))


def _when(value: str | None) -> str:
    if not value:
        return "—"
    return formats.date_format(datetime.fromisoformat(value), "DATETIME_FORMAT") + " UTC"


def _usd(value: str | None) -> str:
    return usd(Decimal(value)) if value not in (None, "") else "—"


def _quota_threshold(data: dict) -> Text:
    values = {
        "threshold": data["threshold"],
        "window": _window(data["window"]),
        "used": flows(data["used_flows"]),
        "max": flows(data["max_flows"]),
        "resets": _when(data.get("resets_at")),
    }
    if int(data["threshold"]) >= 100:
        title = _("Your %(window)s is used up") % values
    else:
        title = _("You have used %(threshold)s%% of your %(window)s") % values
    body = _("%(used)s of %(max)s Flows used in your %(window)s. It resets at %(resets)s.") % values
    return Text(title, body)


def _quota_restored(data: dict) -> Text:
    values = {"window": _window(data["window"]), "used": flows(data["used_flows"])}
    return Text(
        _("Your %(window)s has reset") % values,
        _("Your %(window)s has reset: its full quota is available again (%(used)s Flows were used).")
        % values,
    )


def _extra_usage_engaged(data: dict) -> Text:
    values = {"window": _window(data["window"]), "resets": _when(data.get("resets_at"))}
    return Text(
        _("Extra Usage took over"),
        _(
            "Your %(window)s is used up, so requests are now billed to your pay-as-you-go wallet through "
            "Extra Usage. They return to your subscription when the window resets at %(resets)s."
        )
        % values,
    )


def _extra_usage_returned(data: dict) -> Text:
    values = {"window": _window(data["window"])}
    return Text(
        _("Requests are back on your subscription"),
        _("Your %(window)s has reset: requests are billed to your subscription again, not to Extra Usage.")
        % values,
    )


def _low_balance(data: dict) -> Text:
    values = {"balance": _usd(data["balance_usd"]), "threshold": _usd(data["threshold_usd"])}
    return Text(
        _("Your balance is low"),
        _(
            "Your pay-as-you-go balance is %(balance)s, below your alert threshold of %(threshold)s. "
            "Top up to keep your pay-as-you-go API keys working."
        )
        % values,
    )


def _auto_topup_succeeded(data: dict) -> Text:
    values = {"amount": _usd(data["amount_usd"]), "receipt": data.get("receipt_number", "")}
    return Text(
        _("Auto top-up of %(amount)s succeeded") % values,
        _(
            "We charged your saved payment method %(amount)s and added it to your balance (receipt %(receipt)s)."
        )
        % values,
    )


def _auto_topup_failed(data: dict) -> Text:
    values = {"amount": _usd(data.get("amount_usd")), "reason": data.get("reason", "")}
    return Text(
        _("Auto top-up failed and was turned off"),
        _(
            "We could not charge your saved payment method for an auto top-up of %(amount)s (%(reason)s). "
            "Auto top-up is now off. Check your payment method and turn it back on."
        )
        % values,
    )


def _topup_receipt(data: dict) -> Text:
    values = {"amount": _usd(data["amount_usd"]), "receipt": data.get("receipt_number", "")}
    return Text(
        _("Receipt for your top-up of %(amount)s") % values,
        _("Thank you: %(amount)s was added to your pay-as-you-go balance (receipt %(receipt)s).") % values,
    )


def _subscription_started(data: dict) -> Text:
    values = {"plan": data["plan"], "amount": _usd(data.get("amount_usd"))}
    return Text(
        _("Welcome to %(plan)s") % values,
        _("Your %(plan)s subscription has started. You paid %(amount)s.") % values,
    )


def _subscription_upgraded(data: dict) -> Text:
    values = {"plan": data["plan"], "from": data.get("from_plan", ""), "amount": _usd(data.get("amount_usd"))}
    return Text(
        _("You upgraded to %(plan)s") % values,
        _(
            "Your subscription moved from %(from)s to %(plan)s. You paid %(amount)s for the rest of this cycle."
        )
        % values,
    )


def _downgrade_scheduled(data: dict) -> Text:
    values = {"plan": data["plan"], "when": _when(data.get("effective_at"))}
    return Text(
        _("Your plan changes to %(plan)s at renewal") % values,
        _("Your subscription will change to %(plan)s at %(when)s. Until then your current plan stays.")
        % values,
    )


def _renewed(data: dict) -> Text:
    values = {
        "plan": data["plan"],
        "amount": _usd(data.get("amount_usd")),
        "receipt": data.get("receipt_number"),
    }
    return Text(
        _("Your %(plan)s subscription renewed") % values,
        _("We charged %(amount)s for a new billing cycle of %(plan)s (receipt %(receipt)s).") % values,
    )


def _renewal_failed(data: dict) -> Text:
    values = {"plan": data["plan"]}
    return Text(
        _("We could not renew your %(plan)s subscription") % values,
        _(
            "The renewal payment for %(plan)s failed. Update your payment method and pay again, or your "
            "subscription drops to Free when the grace period ends."
        )
        % values,
    )


def _dropped_to_free(data: dict) -> Text:
    values = {"plan": data.get("from_plan", "")}
    return Text(
        _("Your subscription is now on Free"),
        _(
            "Your %(plan)s subscription ended and your account is now on the Free plan. Your API keys keep working under Free limits."
        )
        % values,
    )


def _refund_status(data: dict) -> Text:
    from apps.refunds.models import RefundStatus

    values = {
        "amount": _usd(data["amount_usd"]),
        "status": str(dict(RefundStatus.choices).get(data["status"], data["status"])),
    }
    if data["status"] == RefundStatus.SUCCEEDED:
        body = _(
            "Your refund of %(amount)s has succeeded. It returns to your original payment method within "
            "1-3 business days. Your subscription is now on the Free plan; your API keys keep working "
            "under Free limits."
        )
    elif data["status"] == RefundStatus.PROCESSING:
        body = _("We received your refund request of %(amount)s and are processing it.")
    else:
        body = _("Your refund of %(amount)s is now: %(status)s.")
    return Text(_("Refund of %(amount)s: %(status)s") % values, body % values)


def _account_status(data: dict) -> Text:
    from apps.accounts.models import BLOCKED_STATUSES, AccountStatus

    values = {"status": str(dict(AccountStatus.choices).get(data["status"], data["status"]))}
    if data["status"] in BLOCKED_STATUSES or data["status"] == AccountStatus.ABUSIVE:
        return Text(
            _("Your account has been restricted"),
            _(
                "Your account's status is now %(status)s. Open the console to see what is limited and how to appeal."
            )
            % values,
        )
    return Text(_("Your account has been restored"), _("Your account's status is now %(status)s.") % values)


def _key_created(data: dict) -> Text:
    values = {"name": data.get("name", ""), "key": data["key"]}
    return Text(
        _("A new API key was created"),
        _(
            "The API key “%(name)s” (%(key)s) was created. If this was not you, disable it and change your password."
        )
        % values,
    )


def _key_rotated(data: dict) -> Text:
    values = {"name": data.get("name", ""), "key": data["key"]}
    return Text(
        _("An API key was rotated"),
        _("The API key “%(name)s” was rotated; it is now %(key)s. The old secret no longer works.") % values,
    )


def _management_key_created(data: dict) -> Text:
    values = {"name": data.get("name", ""), "key": data["key"]}
    return Text(
        _("A new management key was created"),
        _(
            "The management key “%(name)s” (%(key)s) was created. It can read your account's billing and "
            "usage. If this was not you, disable it and change your password."
        )
        % values,
    )


def _endpoint_disabled(data: dict) -> Text:
    values = {"url": data["url"]}
    return Text(
        _("A webhook endpoint was disabled"),
        _(
            "Deliveries to %(url)s kept failing for about a day, so we disabled the endpoint. Fix it and "
            "enable it again in the console."
        )
        % values,
    )


KINDS: dict[str, Kind] = {
    kind.code: kind
    for kind in [
        # Quota alerts come every window (up to three per 5 hours): inbox and webhooks by default, e-mail
        # when the customer asks for it. Money, account and security e-mails are on by default.
        Kind(
            "quota.threshold",
            "quota",
            gettext_lazy("Quota threshold reached"),
            _quota_threshold,
            "console:usage",
            email=False,
        ),
        Kind(
            "quota.restored",
            "quota",
            gettext_lazy("Quota window reset"),
            _quota_restored,
            "console:usage",
            email=False,
        ),
        Kind(
            "extra_usage.engaged",
            "quota",
            gettext_lazy("Extra Usage took over"),
            _extra_usage_engaged,
            "console:subscription",
        ),
        Kind(
            "extra_usage.returned",
            "quota",
            gettext_lazy("Requests returned to the subscription"),
            _extra_usage_returned,
            "console:subscription",
            email=False,
        ),
        Kind("wallet.low_balance", "wallet", gettext_lazy("Low balance"), _low_balance, "console:payg"),
        Kind(
            "wallet.auto_topup_succeeded",
            "wallet",
            gettext_lazy("Auto top-up succeeded"),
            _auto_topup_succeeded,
            "console:payg",
        ),
        Kind(
            "wallet.auto_topup_failed",
            "wallet",
            gettext_lazy("Auto top-up failed"),
            _auto_topup_failed,
            "console:payg",
        ),
        Kind(
            "wallet.topup_receipt", "wallet", gettext_lazy("Top-up receipt"), _topup_receipt, "console:payg"
        ),
        Kind(
            "subscription.started",
            "subscription",
            gettext_lazy("Subscription started"),
            _subscription_started,
            "console:subscription",
        ),
        Kind(
            "subscription.upgraded",
            "subscription",
            gettext_lazy("Subscription upgraded"),
            _subscription_upgraded,
            "console:subscription",
        ),
        Kind(
            "subscription.downgrade_scheduled",
            "subscription",
            gettext_lazy("Downgrade scheduled"),
            _downgrade_scheduled,
            "console:subscription",
        ),
        Kind(
            "subscription.renewed",
            "subscription",
            gettext_lazy("Subscription renewed"),
            _renewed,
            "console:subscription",
        ),
        Kind(
            "subscription.renewal_failed",
            "subscription",
            gettext_lazy("Renewal failed"),
            _renewal_failed,
            "console:subscription",
        ),
        Kind(
            "subscription.dropped_to_free",
            "subscription",
            gettext_lazy("Dropped to Free"),
            _dropped_to_free,
            "console:subscription",
        ),
        Kind(
            "refund.status_changed",
            "refund",
            gettext_lazy("Refund status changed"),
            _refund_status,
            "console:subscription",
        ),
        Kind(
            "account.status_changed",
            "account",
            gettext_lazy("Account status changed"),
            _account_status,
            "console:home",
        ),
        Kind(
            "security.api_key_created",
            "security",
            gettext_lazy("API key created"),
            _key_created,
            "console:home",
        ),
        Kind(
            "security.api_key_rotated",
            "security",
            gettext_lazy("API key rotated"),
            _key_rotated,
            "console:home",
        ),
        Kind(
            "security.management_key_created",
            "security",
            gettext_lazy("Management key created"),
            _management_key_created,
            "console:management_keys",
        ),
        Kind(
            "webhook.endpoint_disabled",
            "webhook",
            gettext_lazy("Webhook endpoint disabled"),
            _endpoint_disabled,
            "console:webhooks",
            webhook=False,
        ),
    ]
}

CATEGORY_LABELS = {
    "quota": gettext_lazy("Quota"),
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
