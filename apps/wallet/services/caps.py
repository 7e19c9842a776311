"""Account spend caps for pay-as-you-go and the auto top-up monthly ceiling (issue #22).

The caps are checked in `wallet_reserve`, under the wallet row lock every wallet reservation takes, with
the windows' room rule: a request is admitted while `spent in the period + reserved < cap` (so one request
may cross). "Spent" is the sum of the period's usage ledger entries (the ledger is the record of money);
"reserved" is everything the wallet has in flight. Periods are UTC calendar days, weeks and months.
"""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from apps.core.exceptions import ApplicationError
from apps.core.money import round_cents
from apps.core.periods import calendar_period
from apps.core.services import audit_record
from apps.wallet.exceptions import SpendCapReached
from apps.wallet.hooks import CapSpend
from apps.wallet.models import EntryType, LedgerEntry, Wallet
from apps.wallet.services.ledger import wallet_lock

ZERO = Decimal("0")
CAP_MIN = Decimal("0.01")
CAP_MAX = Decimal("1000000.00")
CAP_FIELDS = {"day": "spend_cap_day", "week": "spend_cap_week", "month": "spend_cap_month"}


def _spent_since(*, wallet: Wallet, start: datetime) -> Decimal:
    spent = LedgerEntry.objects.filter(
        wallet=wallet, entry_type=EntryType.USAGE, created_at__gte=start
    ).aggregate(total=Sum("amount"))["total"]
    return -(spent or ZERO)


def spend_caps_check(*, wallet: Wallet, now: datetime) -> None:
    """Raise SpendCapReached when a cap has no room (call with the wallet row locked)."""
    for period, field in CAP_FIELDS.items():
        cap = getattr(wallet, field)
        if cap is None:
            continue
        start, end = calendar_period(period=period, now=now)
        if _spent_since(wallet=wallet, start=start) + wallet.reserved_usd >= cap:
            per = {"day": _("daily"), "week": _("weekly"), "month": _("monthly")}[period]
            raise SpendCapReached(
                _(
                    "Your %(per)s pay-as-you-go spend cap of $%(cap)s is reached. Raise it on the "
                    "pay-as-you-go page or wait until the period resets."
                )
                % {"per": per, "cap": cap.quantize(Decimal("0.01"))},
                period=period,
                resets_at=end,
            )


def spend_caps_count(*, wallet: Wallet, cost: Decimal, now: datetime) -> list[CapSpend]:
    """Add a settled cost to the wallet's per-cap counters (in memory: the caller saves `cap_spend`).

    Call with the wallet row locked, before the cost is debited. A counter of an earlier period (or none
    yet) starts from the period's ledger sum: one query per cap and period, never per settle. Returns
    each capped period's before/after (the cap alerts' input); no cap, no counter, nothing returned.
    """
    counters = dict(wallet.cap_spend or {})
    usages = []
    for period, field in CAP_FIELDS.items():
        cap = getattr(wallet, field)
        if cap is None:
            counters.pop(period, None)
            continue
        start, end = calendar_period(period=period, now=now)
        counter = counters.get(period)
        if counter and counter[0] == start.isoformat():
            before = Decimal(counter[1])
        else:
            before = _spent_since(wallet=wallet, start=start)
        after = before + cost
        counters[period] = [start.isoformat(), str(after)]
        usages.append(
            CapSpend(
                period=period,
                period_start=start,
                resets_at=end,
                spent_before=before,
                spent_after=after,
                cap=cap,
            )
        )
    wallet.cap_spend = counters
    return usages


def _cap_clean(field: str, value) -> Decimal | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, Decimal | int)
        or not Decimal(value).is_finite()
        or not CAP_MIN <= value <= CAP_MAX
    ):
        raise ApplicationError(
            _("Invalid parameter %(field)s: %(error)s")
            % {
                "field": field,
                "error": _("Must be an amount from $%(min)s to $%(max)s.") % {"min": CAP_MIN, "max": CAP_MAX},
            },
            code=f"invalid_{field}",
        )
    return round_cents(Decimal(value))


@transaction.atomic
def wallet_spend_caps_update(
    *,
    account,
    spend_cap_day: Decimal | None,
    spend_cap_week: Decimal | None,
    spend_cap_month: Decimal | None,
    auto_topup_monthly_max: Decimal | None,
    actor=None,
) -> Wallet:
    """Set the account's pay-as-you-go spend caps and auto top-up ceiling (None = none). Audited."""
    values = {
        "spend_cap_day": _cap_clean("spend_cap_day", spend_cap_day),
        "spend_cap_week": _cap_clean("spend_cap_week", spend_cap_week),
        "spend_cap_month": _cap_clean("spend_cap_month", spend_cap_month),
        "auto_topup_monthly_max": _cap_clean("auto_topup_monthly_max", auto_topup_monthly_max),
    }
    wallet = wallet_lock(account=account)
    if {field: getattr(wallet, field) for field in values} == values:
        return wallet
    for field, value in values.items():
        setattr(wallet, field, value)
    wallet.cap_spend = {}  # counters start again from the ledger (settles without a cap were not counted)
    wallet.save(update_fields=[*values, "cap_spend", "updated_at"])
    audit_record(
        event_type="wallet.spend_caps_updated",
        account=account,
        actor=actor if actor is not None else account,
        subject=wallet,
        details={field: str(value) if value is not None else None for field, value in values.items()},
    )
    return wallet
