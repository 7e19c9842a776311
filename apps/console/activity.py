"""The customer's activity log: their own audit events, described in their language.

Only the event types listed here are shown, and each description uses only the detail fields named in
its formatter: staff-internal events (account status and its abuse reasons, provider mismatches,
disputes) and details (who on staff acted, internal reasons) never reach the page. The actor is shown
as "You" or "Flowport", never as a staff member.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.models import AuditEvent
from apps.core.templatetags.flowport import usd
from apps.plans.models import Plan

CATEGORIES = {
    "sign_in": gettext_lazy("Sign-in and security"),
    "keys": gettext_lazy("API keys"),
    "plan": gettext_lazy("Plan changes"),
    "extra_usage": gettext_lazy("Extra Usage"),
    "wallet": gettext_lazy("Auto top-up and alerts"),
    "refunds": gettext_lazy("Refunds"),
    "credits": gettext_lazy("Credit adjustments"),
}


def _plan(tiers: dict, tier) -> str:
    return tiers.get(tier, tier or "—")


def _key(details: dict) -> str:
    name, masked = details.get("name") or details.get("key_name"), details.get("key", "")
    return f"“{name}” ({masked})" if name else masked


def _usd(value) -> str:
    try:
        return usd(value)
    except (ArithmeticError, TypeError, ValueError):
        return "—"


def _mfa_type(details: dict) -> str:
    names = {"totp": _("authenticator app"), "recovery_codes": _("recovery codes"), "webauthn": _("passkey")}
    return names.get(details.get("type"), "—")


def _on_off(details: dict) -> str:
    return _("on") if details.get("enabled") else _("off")


# event type → (category, description(details, plan names by tier))
FORMATTERS: dict[str, tuple[str, Callable[[dict, dict], str]]] = {
    "account.logged_in": ("sign_in", lambda d, t: _("Signed in from %(ip)s.") % {"ip": d.get("ip") or "—"}),
    "account.login_locked": (
        "sign_in",
        lambda d, t: _("Sign-in paused after too many failed attempts."),
    ),
    "account.password_changed": ("sign_in", lambda d, t: _("Password changed.")),
    "account.password_reset": ("sign_in", lambda d, t: _("Password reset by e-mail.")),
    "account.invoice_details_updated": ("sign_in", lambda d, t: _("Invoice details changed.")),
    "mfa.authenticator_added": (
        "sign_in",
        lambda d, t: _("Two-factor method added: %(type)s.") % {"type": _mfa_type(d)},
    ),
    "mfa.authenticator_removed": (
        "sign_in",
        lambda d, t: _("Two-factor method removed: %(type)s.") % {"type": _mfa_type(d)},
    ),
    "api_key.created": ("keys", lambda d, t: _("Key %(key)s created.") % {"key": _key(d)}),
    "api_key.renamed": ("keys", lambda d, t: _("Key %(key)s renamed.") % {"key": _key(d)}),
    "api_key.rotated": ("keys", lambda d, t: _("Key %(key)s rotated.") % {"key": _key(d)}),
    "api_key.enabled": ("keys", lambda d, t: _("Key %(key)s enabled.") % {"key": _key(d)}),
    "api_key.disabled": ("keys", lambda d, t: _("Key %(key)s disabled.") % {"key": _key(d)}),
    "api_key.deleted": ("keys", lambda d, t: _("Key %(key)s deleted.") % {"key": _key(d)}),
    "subscription.subscribed": (
        "plan",
        lambda d, t: _("Subscribed to %(plan)s.") % {"plan": _plan(t, d.get("plan"))},
    ),
    "subscription.upgraded": (
        "plan",
        lambda d, t: (
            _("Upgraded from %(from)s to %(to)s.")
            % {"from": _plan(t, d.get("from_plan")), "to": _plan(t, d.get("plan"))}
        ),
    ),
    "subscription.renewed": (
        "plan",
        lambda d, t: _("%(plan)s renewed.") % {"plan": _plan(t, d.get("plan"))},
    ),
    "subscription.change_scheduled": (
        "plan",
        lambda d, t: (
            _("Change to %(plan)s scheduled for the end of the cycle.")
            % {"plan": _plan(t, d.get("scheduled_plan"))}
        ),
    ),
    "subscription.change_unscheduled": (
        "plan",
        lambda d, t: _("Scheduled change to %(plan)s canceled.") % {"plan": _plan(t, d.get("undone"))},
    ),
    "subscription.past_due": (
        "plan",
        lambda d, t: _("Renewal payment for %(plan)s failed.") % {"plan": _plan(t, d.get("plan"))},
    ),
    "subscription.dropped_to_free": (
        "plan",
        lambda d, t: _("Moved from %(plan)s to Free.") % {"plan": _plan(t, d.get("from_plan"))},
    ),
    "extra_usage.enabled": (
        "extra_usage",
        lambda d, t: _("Extra Usage turned on with key %(key)s.") % {"key": _key(d)},
    ),
    "extra_usage.key_selected": (
        "extra_usage",
        lambda d, t: _("Extra Usage now uses key %(key)s.") % {"key": _key(d)},
    ),
    "extra_usage.disabled": ("extra_usage", lambda d, t: _("Extra Usage turned off.")),
    "extra_usage.auto_disabled": (
        "extra_usage",
        lambda d, t: _("Extra Usage turned off: its key %(key)s can no longer be used.") % {"key": _key(d)},
    ),
    "wallet.auto_topup_updated": (
        "wallet",
        lambda d, t: (
            _("Auto top-up %(state)s: below %(threshold)s, add %(amount)s.")
            % {"state": _on_off(d), "threshold": _usd(d.get("threshold")), "amount": _usd(d.get("amount"))}
        ),
    ),
    "wallet.auto_topup_disabled": (
        "wallet",
        lambda d, t: _("Auto top-up turned off after a failed payment."),
    ),
    "wallet.low_balance_alert_updated": (
        "wallet",
        lambda d, t: (
            _("Low balance alert %(state)s: below %(threshold)s.")
            % {"state": _on_off(d), "threshold": _usd(d.get("threshold"))}
        ),
    ),
    "payment_method.saved": (
        "wallet",
        lambda d, t: _("Card ending in %(last4)s saved.") % {"last4": d.get("last4", "")},
    ),
    "refund.requested": (
        "refunds",
        lambda d, t: _("Refund of %(amount)s requested.") % {"amount": _usd(d.get("amount_usd"))},
    ),
    "refund.succeeded": (
        "refunds",
        lambda d, t: _("Refund of %(amount)s completed.") % {"amount": _usd(d.get("amount_usd"))},
    ),
    "refund.failed": (
        "refunds",
        lambda d, t: _("Refund of %(amount)s failed.") % {"amount": _usd(d.get("amount_usd"))},
    ),
    "refund.canceled": (
        "refunds",
        lambda d, t: _("Refund of %(amount)s canceled.") % {"amount": _usd(d.get("amount_usd"))},
    ),
    "wallet.staff_grant": (
        "credits",
        lambda d, t: (
            _("Credit adjustment of %(amount)s: %(reason)s")
            % {"amount": _usd(d.get("amount")), "reason": d.get("reason", "")}
        ),
    ),
}


@dataclass(frozen=True)
class ActivityEntry:
    at: datetime
    category: str
    category_label: str
    description: str
    by_you: bool


def activity_events(
    *, account, category: str = "", start: datetime | None = None, end: datetime | None = None
) -> QuerySet[AuditEvent]:
    """The account's own visible events, newest first; `end` is exclusive."""
    types = [t for t, (cat, _f) in FORMATTERS.items() if not category or cat == category]
    events = AuditEvent.objects.filter(account=account, event_type__in=types)
    if start is not None:
        events = events.filter(created_at__gte=start)
    if end is not None:
        events = events.filter(created_at__lt=end)
    return events.only("created_at", "event_type", "details", "actor_id", "account_id").order_by(
        "-created_at", "-id"
    )


def activity_entries(events, *, account) -> list[ActivityEntry]:
    """Describe a page of events in the active language."""
    tiers = dict(Plan.objects.values_list("tier", "name"))
    entries = []
    for event in events:
        category, describe = FORMATTERS[event.event_type]
        entries.append(
            ActivityEntry(
                at=event.created_at,
                category=category,
                category_label=str(CATEGORIES[category]),
                description=describe(event.details or {}, tiers),
                by_you=event.actor_id == account.pk,
            )
        )
    return entries
