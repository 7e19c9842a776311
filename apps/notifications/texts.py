"""How each notification reads: a title and a body built from its `data` (plain strings, never secrets).

Called when a notification is shown (the inbox in the reader's language, e-mail inside
`translation.override(<the account's language>)`), so every text is translated at that moment.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import formats
from django.utils.translation import gettext as _

from apps.core.templatetags.flowport import flows, usd


@dataclass(frozen=True)
class Text:
    title: str
    body: str


def _window(code: str) -> str:
    from apps.usage.models import WindowKind

    return str(dict(WindowKind.choices).get(code, code))


def _when(value: str | None) -> str:
    if not value:
        return "—"
    return formats.date_format(datetime.fromisoformat(value), "DATETIME_FORMAT") + " UTC"


def _usd(value: str | None) -> str:
    return usd(Decimal(value)) if value not in (None, "") else "—"


def quota_threshold_text(data: dict) -> Text:
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


def quota_restored_text(data: dict) -> Text:
    values = {"window": _window(data["window"]), "used": flows(data["used_flows"])}
    return Text(
        _("Your %(window)s has reset") % values,
        _("Your %(window)s has reset: its full quota is available again (%(used)s Flows were used).")
        % values,
    )


def extra_usage_engaged_text(data: dict) -> Text:
    values = {"window": _window(data["window"]), "resets": _when(data.get("resets_at"))}
    return Text(
        _("Extra Usage took over"),
        _(
            "Your %(window)s is used up, so requests are now billed to your pay-as-you-go wallet through "
            "Extra Usage. They return to your subscription when the window resets at %(resets)s."
        )
        % values,
    )


def extra_usage_returned_text(data: dict) -> Text:
    values = {"window": _window(data["window"])}
    return Text(
        _("Requests are back on your subscription"),
        _("Your %(window)s has reset: requests are billed to your subscription again, not to Extra Usage.")
        % values,
    )


def low_balance_text(data: dict) -> Text:
    values = {"balance": _usd(data["balance_usd"]), "threshold": _usd(data["threshold_usd"])}
    return Text(
        _("Your balance is low"),
        _(
            "Your pay-as-you-go balance is %(balance)s, below your alert threshold of %(threshold)s. "
            "Top up to keep your pay-as-you-go API keys working."
        )
        % values,
    )


def auto_topup_succeeded_text(data: dict) -> Text:
    values = {"amount": _usd(data["amount_usd"]), "receipt": data.get("receipt_number", "")}
    return Text(
        _("Auto top-up of %(amount)s succeeded") % values,
        _(
            "We charged your saved payment method %(amount)s and added it to your balance (receipt %(receipt)s)."
        )
        % values,
    )


def auto_topup_failed_text(data: dict) -> Text:
    values = {"amount": _usd(data.get("amount_usd")), "reason": data.get("reason", "")}
    return Text(
        _("Auto top-up failed and was turned off"),
        _(
            "We could not charge your saved payment method for an auto top-up of %(amount)s (%(reason)s). "
            "Auto top-up is now off. Check your payment method and turn it back on."
        )
        % values,
    )


def topup_receipt_text(data: dict) -> Text:
    values = {"amount": _usd(data["amount_usd"]), "receipt": data.get("receipt_number", "")}
    return Text(
        _("Receipt for your top-up of %(amount)s") % values,
        _("Thank you: %(amount)s was added to your pay-as-you-go balance (receipt %(receipt)s).") % values,
    )


def subscription_started_text(data: dict) -> Text:
    values = {"plan": data["plan"], "amount": _usd(data.get("amount_usd"))}
    return Text(
        _("Welcome to %(plan)s") % values,
        _("Your %(plan)s subscription has started. You paid %(amount)s.") % values,
    )


def subscription_upgraded_text(data: dict) -> Text:
    values = {"plan": data["plan"], "from": data.get("from_plan", ""), "amount": _usd(data.get("amount_usd"))}
    return Text(
        _("You upgraded to %(plan)s") % values,
        _(
            "Your subscription moved from %(from)s to %(plan)s. You paid %(amount)s for the rest of this cycle."
        )
        % values,
    )


def downgrade_scheduled_text(data: dict) -> Text:
    values = {"plan": data["plan"], "when": _when(data.get("effective_at"))}
    return Text(
        _("Your plan changes to %(plan)s at renewal") % values,
        _("Your subscription will change to %(plan)s at %(when)s. Until then your current plan stays.")
        % values,
    )


def renewed_text(data: dict) -> Text:
    values = {
        "plan": data["plan"],
        "amount": _usd(data.get("amount_usd")),
        "receipt": data.get("receipt_number"),
    }
    return Text(
        _("Your %(plan)s subscription renewed") % values,
        _("We charged %(amount)s for a new billing cycle of %(plan)s (receipt %(receipt)s).") % values,
    )


def renewal_failed_text(data: dict) -> Text:
    values = {"plan": data["plan"]}
    return Text(
        _("We could not renew your %(plan)s subscription") % values,
        _(
            "The renewal payment for %(plan)s failed. Update your payment method and pay again, or your "
            "subscription drops to Free when the grace period ends."
        )
        % values,
    )


def dropped_to_free_text(data: dict) -> Text:
    values = {"plan": data.get("from_plan", "")}
    return Text(
        _("Your subscription is now on Free"),
        _(
            "Your %(plan)s subscription ended and your account is now on the Free plan. Your API keys keep working under Free limits."
        )
        % values,
    )


def refund_status_text(data: dict) -> Text:
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


def account_status_text(data: dict) -> Text:
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


def key_created_text(data: dict) -> Text:
    values = {"name": data.get("name", ""), "key": data["key"]}
    return Text(
        _("A new API key was created"),
        _(
            "The API key “%(name)s” (%(key)s) was created. If this was not you, disable it and change your password."
        )
        % values,
    )


def key_rotated_text(data: dict) -> Text:
    values = {"name": data.get("name", ""), "key": data["key"]}
    return Text(
        _("An API key was rotated"),
        _("The API key “%(name)s” was rotated; it is now %(key)s. The old secret no longer works.") % values,
    )


def management_key_created_text(data: dict) -> Text:
    values = {"name": data.get("name", ""), "key": data["key"]}
    return Text(
        _("A new management key was created"),
        _(
            "The management key “%(name)s” (%(key)s) was created. It can read your account's billing and "
            "usage. If this was not you, disable it and change your password."
        )
        % values,
    )


def endpoint_disabled_text(data: dict) -> Text:
    values = {"url": data["url"]}
    return Text(
        _("A webhook endpoint was disabled"),
        _(
            "Deliveries to %(url)s kept failing for about a day, so we disabled the endpoint. Fix it and "
            "enable it again in the console."
        )
        % values,
    )


# --- key spend limits and account spend caps (issue #22) -------------------------------------------------


def _per(period: str) -> str:
    return {"day": _("per day"), "week": _("per week"), "month": _("per month"), "total": _("in total")}.get(
        period, period
    )


def _cap_period(period: str) -> str:
    return {"day": _("daily"), "week": _("weekly"), "month": _("monthly")}.get(period, period)


def _amount(value: str, unit: str) -> str:
    return _usd(value) if unit == "USD" else _("%(flows)s Flows") % {"flows": flows(value)}


def key_limit_threshold_text(data: dict) -> Text:
    values = {
        "name": data.get("key_name", ""),
        "threshold": data["threshold"],
        "used": _amount(data["used"], data["unit"]),
        "limit": _amount(data["limit"], data["unit"]),
        "per": _per(data["period"]),
        "resets": _when(data.get("resets_at")),
    }
    if int(data["threshold"]) >= 100:
        title = _("API key “%(name)s” has reached its spend limit") % values
    else:
        title = _("API key “%(name)s” has used %(threshold)s%% of its spend limit") % values
    if data.get("resets_at"):
        body = _(
            "“%(name)s” has spent %(used)s of its limit of %(limit)s %(per)s. The period resets at %(resets)s."
        )
    else:
        body = _("“%(name)s” has spent %(used)s of its limit of %(limit)s %(per)s. This limit never resets.")
    return Text(title, body % values)


def key_limit_reached_text(data: dict) -> Text:
    values = {"name": data.get("key_name", ""), "resets": _when(data.get("resets_at"))}
    if data.get("resets_at"):
        body = _(
            "A request with the API key “%(name)s” was refused because the key reached its spend limit. "
            "Requests are accepted again when the period resets at %(resets)s, or when you raise the key's limit."
        )
    else:
        body = _(
            "A request with the API key “%(name)s” was refused because the key reached its spend limit. "
            "Raise the key's limit to use it again."
        )
    return Text(_("API key “%(name)s” refused a request: spend limit reached") % values, body % values)


def spend_cap_threshold_text(data: dict) -> Text:
    values = {
        "threshold": data["threshold"],
        "per": _cap_period(data["period"]),
        "spent": _usd(data["spent_usd"]),
        "cap": _usd(data["cap_usd"]),
        "resets": _when(data.get("resets_at")),
    }
    if int(data["threshold"]) >= 100:
        title = _("Your %(per)s pay-as-you-go spend cap is reached") % values
    else:
        title = _("You have used %(threshold)s%% of your %(per)s pay-as-you-go spend cap") % values
    body = _("%(spent)s of your %(per)s spend cap of %(cap)s is spent. The period resets at %(resets)s.")
    return Text(title, body % values)


def spend_cap_reached_text(data: dict) -> Text:
    values = {"per": _cap_period(data["period"]), "resets": _when(data.get("resets_at"))}
    return Text(
        _("A request was refused: your %(per)s spend cap is reached") % values,
        _(
            "A pay-as-you-go request was refused because your %(per)s spend cap is reached. Requests are "
            "accepted again when the period resets at %(resets)s, or when you raise the cap on the "
            "pay-as-you-go page."
        )
        % values,
    )
