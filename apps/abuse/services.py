"""The anomaly job (SPEC §13, §14) and the staff actions of the "Abuse review" admin."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.abuse.models import AccountSignals
from apps.abuse.selectors import AccountEvidence, signals_compute
from apps.accounts.models import AccountStatus, User
from apps.accounts.services import account_insider_grant, account_raise_to_monitored
from apps.core.exceptions import ApplicationError
from apps.core.models import AuditEvent
from apps.plans.models import SubscriptionStatus
from apps.plans.selectors import subscription_get_for_account

STATUS_EVENT = "account.status_changed"


def _reason(evidence: AccountEvidence) -> str:
    thresholds = settings.FLOWPORT_ABUSE_THRESHOLDS
    parts = [f"{name}={evidence.values[name]} (threshold {thresholds[name]})" for name in evidence.flagged]
    return "Automatic anomaly check: " + ", ".join(parts)


def anomalies_detect(*, now: datetime | None = None) -> list[int]:
    """Compute every active account's signals, store them, raise healthy accounts over a threshold.

    Idempotent: an account is raised only from `healthy`, by one conditional UPDATE, and not when its
    status was changed within the look-back period (by this job, or by staff who reviewed it and set
    it back to healthy: the same evidence does not raise it again). Running twice, concurrently or
    late raises no one twice. Returns the ids of the accounts raised by this run.
    """
    now = now or timezone.now()
    found = signals_compute(now=now)
    rows = [
        AccountSignals(
            account_id=account_id,
            computed_at=now,
            score=evidence.score,
            values={name: str(value) for name, value in evidence.values.items()},
            flagged=evidence.flagged,
            requests_7d=evidence.requests_7d,
            flows_7d=evidence.flows_7d,
            distinct_ips_7d=evidence.distinct_ips_7d,
            daily=evidence.daily,
            top_models=evidence.top_models,
            top_keys=evidence.top_keys,
        )
        for account_id, evidence in found.items()
    ]
    fields = [f.name for f in AccountSignals._meta.concrete_fields if f.name != "account"]
    with transaction.atomic():
        AccountSignals.objects.bulk_create(
            rows, batch_size=500, update_conflicts=True, unique_fields=["account"], update_fields=fields
        )
        # Accounts without traffic in the period any more: every row this run wrote has computed_at = now.
        AccountSignals.objects.exclude(computed_at=now).delete()
    flagged = {account_id for account_id, evidence in found.items() if evidence.flagged}
    if not flagged:
        return []
    healthy = set(
        User.objects.filter(pk__in=flagged, status=AccountStatus.HEALTHY).values_list("pk", flat=True)
    )
    decided = set(
        AuditEvent.objects.filter(
            event_type=STATUS_EVENT,
            account_id__in=healthy,
            created_at__gte=now - timedelta(days=settings.FLOWPORT_ABUSE_LOOKBACK_DAYS),
        ).values_list("account_id", flat=True)
    )
    raised = []
    for account_id in sorted(healthy - decided):
        evidence = found[account_id]
        signals = {name: str(evidence.values[name]) for name in evidence.values}
        if account_raise_to_monitored(account_id=account_id, reason=_reason(evidence), signals=signals):
            raised.append(account_id)
    return raised


def insider_grant(*, account: User, actor: User, reason: str, multiplier: Decimal | None = None) -> User:
    """Staff grant insider status (SPEC §1): only to an account on a paid plan that is in good standing."""
    subscription = subscription_get_for_account(account=account)
    if subscription.plan.is_free or subscription.status != SubscriptionStatus.ACTIVE:
        raise ApplicationError(
            _("Insider status needs an active paid subscription."), code="insider_needs_paid_plan"
        )
    return account_insider_grant(account=account, actor=actor, reason=reason, multiplier=multiplier)
