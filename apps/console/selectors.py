"""Page selectors: the context of console sections that combine several apps' data.

Views call these and put the result in the template context; template tags and partials only render it
(they never query the database).
"""

from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.api_keys.models import ApiKey, ApiKeyKind
from apps.api_keys.selectors import api_key_list
from apps.console.forms.api_keys import ApiKeyLimitsForm, ApiKeyNameForm
from apps.extra_usage.selectors import extra_usage_selectable_keys, extra_usage_setting_get
from apps.management_api.selectors import management_key_example_prefix
from apps.plans.models import Plan
from apps.refunds.models import Refund
from apps.refunds.selectors import refund_preview
from apps.usage.analytics import usage_breakdown
from apps.usage.models import UsageEvent
from apps.usage.selectors import extra_usage_active_since, extra_usage_spent, quota_windows_for_account
from apps.wallet.selectors import wallet_for_account

API_KEY_SECTION_TITLES = {
    ApiKeyKind.SUBSCRIPTION: _("Subscription API keys"),
    ApiKeyKind.PAYG: _("Pay-as-you-go API keys"),
    ApiKeyKind.MANAGEMENT: _("Management keys"),
}
LOW_BALANCE_DEFAULT = Decimal("3.00")


def plan_options(*, subscription) -> list[dict]:
    """Each other public plan with what choosing it would do: subscribe, upgrade, downgrade or cancel."""
    current = subscription.plan
    paying = not current.is_free and subscription.status == "active"
    options = []
    for plan in Plan.objects.filter(is_public=True).order_by("rank"):
        if plan.pk == current.pk and paying:
            continue
        if plan.is_free and not paying:
            continue
        if not paying:
            action = "subscribe"
        elif plan.price_usd > current.price_usd:
            action = "upgrade"
        else:
            action = "cancel" if plan.is_free else "downgrade"
        options.append(
            {"plan": plan, "action": action, "scheduled": subscription.scheduled_plan_id == plan.pk}
        )
    return options


def console_overview(*, account, now) -> dict:
    """The overview page: plan, a glance at the quota windows, wallet balance, key counts and the
    "get started" checklist (a key, the base URL, the first request)."""
    windows = quota_windows_for_account(account=account, now=now)
    keys = dict.fromkeys(ApiKeyKind.values, 0)
    for kind in ApiKey.objects.live().filter(account=account).values_list("kind", flat=True):
        keys[kind] += 1
    has_key = bool(keys[ApiKeyKind.SUBSCRIPTION] or keys[ApiKeyKind.PAYG])
    first_request = UsageEvent.objects.filter(account=account).exists()
    return {
        "quota_glance": [
            {"kind": "five_hour", "title": gettext("5-hour window"), "view": windows["five_hour"]},
            {"kind": "weekly", "title": gettext("Weekly window"), "view": windows["weekly"]},
            {"kind": "monthly", "title": gettext("Monthly cap"), "view": windows["monthly"]},
        ],
        "wallet": wallet_for_account(account=account),
        "key_counts": keys,
        "base_url": settings.FLOWPORT_INFERENCE_BASE_URL,
        "checklist": {"key": has_key, "request": first_request, "done": has_key and first_request},
    }


def quota_section(*, account, now) -> dict:
    """The three window cards (numbers straight from quota_windows_for_account, like the management
    API) and the Flow consumption breakdown of the current billing cycle."""
    windows = quota_windows_for_account(account=account, now=now)
    monthly = windows["monthly"]
    cards = [
        {"kind": "five_hour", "title": gettext("5-hour window"), "view": windows["five_hour"]},
        {"kind": "weekly", "title": gettext("Weekly window"), "view": windows["weekly"]},
        {"kind": "monthly", "title": gettext("Monthly cap"), "view": monthly},
    ]
    return {
        "quota_cards": cards,
        "breakdown": usage_breakdown(
            account=account, start=monthly.started_at, end=monthly.resets_at, subscription_side=True
        ),
        "quota_windows": windows,
    }


def create_limits_form(kind: str, data=None):
    """The optional limits of a new inference key (None for management keys), ids unique per kind."""
    if kind == ApiKeyKind.MANAGEMENT:
        return None
    return ApiKeyLimitsForm(data, auto_id=f"create-{kind}-limits-%s")


def api_key_section(
    *,
    request,
    kind: str,
    next_url: str,
    form=None,
    reveal=None,
    error=None,
    notice=None,
    limits_form=None,
) -> dict:
    """The account's keys of one kind with their actions (the section on the page of that kind)."""
    if kind not in ApiKeyKind.values:
        raise ValueError(f"unknown API key kind {kind!r}")
    keys = list(api_key_list(account=request.user, kind=kind))
    limit = settings.FLOWPORT_MAX_KEYS_PER_KIND
    return {
        "request": request,
        "kind": kind,
        "title": API_KEY_SECTION_TITLES[kind],
        "keys": keys,
        "form": form or ApiKeyNameForm(),
        "limits_form": limits_form or create_limits_form(kind),
        "next": next_url,
        "reveal": reveal,
        "error": error,
        "notice": notice,
        "limit": limit,
        "at_limit": len(keys) >= limit,
    }


def extra_usage_section(*, request, windows=None, dialog=False, form=None, error=None, reveal=None) -> dict:
    """The Extra Usage switch, its key, and the wallet balance warnings (the subscription page's section)."""
    account = request.user
    setting = extra_usage_setting_get(account=account)
    key = setting.payg_key if setting.enabled else None
    balance, threshold, active = None, LOW_BALANCE_DEFAULT, None
    if key is not None:  # the balance warnings and the "since" line only matter while it is on
        wallet = wallet_for_account(account=account)
        balance = wallet.total_balance
        threshold = wallet.low_balance_alert_threshold if wallet.pk else LOW_BALANCE_DEFAULT
        now = timezone.now()
        windows = windows or quota_windows_for_account(account=account, now=now)
        active = extra_usage_active_since(account=account, windows=windows, now=now)
    return {
        "request": request,
        "setting": setting,
        "key": key,
        "spent": extra_usage_spent(account=account, key=key) if key is not None else None,
        "balance": balance,
        "balance_empty": balance is not None and balance <= 0,
        "balance_low": balance is not None and 0 < balance < threshold,
        "active": active,
        "dialog": dialog,
        "choices": list(extra_usage_selectable_keys(account=account)) if dialog else [],
        "form": form or ApiKeyNameForm(),
        "error": error,
        "reveal": reveal,
        "page": reverse("console:subscription"),
    }


def refund_cells(*, account, subscription) -> dict:
    """What the Refund cells of the billing history show: the current cycle's refund preview and the
    refunds of each payment (newest first), read once whatever the number of rows.

    A refund split over several payments (the cycle's payment and its upgrade charges) is listed once, in
    the row of the payment that started its cycle (`Refund.payment`); the other payments it returned money
    through show it in their status (Refunded / Partially refunded, from `Payment.refunded_usd`)."""
    refunds: dict = {}
    for refund in Refund.objects.filter(account=account).order_by("-created_at", "-id"):
        refunds.setdefault(refund.payment_id, []).append(refund)
    return {"preview": refund_preview(account=account, subscription=subscription), "refunds": refunds}


def management_api_help(*, request) -> dict:
    """The "Management API" help section of /console/management-keys/: a curl example and the docs link."""
    # The docs are outside the language prefixes; `?lang=` makes drf-spectacular build them translated.
    language = translation.get_language() or settings.LANGUAGE_CODE
    query = "" if language == settings.LANGUAGE_CODE else f"?{urlencode({'lang': language})}"
    return {
        "key_prefix": management_key_example_prefix(account=request.user),
        "example_url": request.build_absolute_uri(reverse("management_subscription_detail")),
        "docs_url": reverse("api_docs") + query,
        "schema_url": reverse("api_schema") + query,
    }


def account_settings_context(*, account) -> dict:
    """The account settings page: e-mail addresses, two-factor methods, sessions (allauth's records)."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.usersessions.models import UserSession

    methods = set(Authenticator.objects.filter(user=account).values_list("type", flat=True))
    return {
        "email_addresses": list(EmailAddress.objects.filter(user=account).order_by("-primary", "email")),
        "mfa_totp": Authenticator.Type.TOTP in methods,
        "mfa_recovery_codes": Authenticator.Type.RECOVERY_CODES in methods,
        "mfa_passkeys": Authenticator.objects.filter(user=account, type=Authenticator.Type.WEBAUTHN).count(),
        "session_count": UserSession.objects.filter(user=account).count(),
    }


def account_deletion_facts(*, account) -> dict:
    """What deleting the account does to this account's keys, subscription and wallet (stated plainly)."""
    from apps.plans.selectors import subscription_get_for_account

    keys = {kind: api_key_list(account=account, kind=kind).count() for kind in ApiKeyKind.values}
    wallet = wallet_for_account(account=account)
    return {
        "subscription": subscription_get_for_account(account=account),
        "keys_total": sum(keys.values()),
        "keys_subscription": keys[ApiKeyKind.SUBSCRIPTION],
        "keys_payg": keys[ApiKeyKind.PAYG],
        "keys_management": keys[ApiKeyKind.MANAGEMENT],
        "wallet_top_up": wallet.top_up_balance,
        "wallet_bonus": wallet.bonus_balance,
        "retention_years": settings.FLOWPORT_DELETED_ACCOUNT_RETENTION_DAYS // 365,
        "retention_days": settings.FLOWPORT_DELETED_ACCOUNT_RETENTION_DAYS,
    }
