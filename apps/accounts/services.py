from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts import hooks
from apps.accounts.models import INVOICE_FIELDS, AccountStatus, InvoiceDetails, User
from apps.core.exceptions import ApplicationError
from apps.core.services import audit_record
from apps.core.side_effects import enqueue_safely


@transaction.atomic
def account_create(*, email: str, password: str | None = None, account: User | None = None, **fields) -> User:
    """Create an account, and everything every account has, in one transaction.

    The one way an account comes to exist (sign-up through the allauth adapter, `create_user`,
    `createsuperuser`, the admin). `account_created` handlers run in this transaction: plans gives
    the account its Free subscription there, so the account never exists without one.
    `account` is an unsaved User an interface has already filled in (allauth's sign-up form hashes
    the password into it); otherwise one is built from `email`, `password` and `fields`.
    """
    if not email:
        raise ValueError("An e-mail address is required.")
    if account is None:
        account = User(**fields)
        account.set_password(password)  # None: an unusable password, as Django's create_user does
    account.email = User.objects.normalize_email(email).lower()
    account.save()
    hooks.account_created.send(account=account)
    return account


@transaction.atomic
def account_set_status(*, account: User, status: str, reason: str, actor: User | None) -> User:
    """Change an account's status (staff only). Needs a reason; writes exactly one audit event."""
    if status not in AccountStatus.values:
        raise ApplicationError(_("Unknown account status."), code="invalid_status")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            _("A reason is required to change an account's status."), code="reason_required"
        )
    locked = User.objects.select_for_update().get(pk=account.pk)
    previous = locked.status
    if previous == status:
        raise ApplicationError(_("The account already has this status."), code="unchanged")
    locked.status = status
    locked.save(update_fields=["status"])
    audit_record(
        event_type="account.status_changed",
        account=locked,
        actor=actor,
        subject=locked,
        details={"from": previous, "to": status, "reason": reason},
    )
    account.status = status
    return locked


def account_set_status_many(*, accounts, status: str, reason: str, actor: User | None) -> list[User]:
    """The same status change for several accounts (admin bulk action): one audit event per account.

    Accounts already at `status` are left alone; returns the accounts that changed. All or nothing.
    """
    changed = []
    with transaction.atomic():
        for account in sorted(accounts, key=lambda a: a.pk):  # one lock order: no deadlock between two runs
            if account.status == status:
                continue
            try:
                changed.append(account_set_status(account=account, status=status, reason=reason, actor=actor))
            except ApplicationError as error:
                if error.code != "unchanged":
                    raise
    return changed


def account_raise_to_monitored(*, account_id: int, reason: str, signals: dict) -> bool:
    """The anomaly job's one power (SPEC §3): `healthy` → `monitored`, never further, never twice.

    One conditional UPDATE: an account that is not healthy any more (staff or a concurrent run changed
    it) is left alone. The audit event (actor: none, the job) carries the signal values.
    """
    with transaction.atomic():
        if not User.objects.filter(pk=account_id, status=AccountStatus.HEALTHY).update(
            status=AccountStatus.MONITORED
        ):
            return False
        audit_record(
            event_type="account.status_changed",
            account=User(pk=account_id),
            actor=None,
            subject=User(pk=account_id),
            details={
                "from": AccountStatus.HEALTHY,
                "to": AccountStatus.MONITORED,
                "reason": reason,
                "signals": signals,
                "automatic": True,
            },
        )
    return True


# --- Insider program (SPEC §1, §14) -------------------------------------------------------------------


def account_insider_grant(
    *, account: User, actor: User | None, reason: str, multiplier: Decimal | None = None
) -> User:
    """Make an account an insider with a flow value multiplier above 1 (default: the setting).

    The caller (the abuse app) has checked that the account has a continuous paid subscription.
    """
    multiplier = settings.FLOWPORT_INSIDER_FLOW_MULTIPLIER if multiplier is None else multiplier
    if not isinstance(multiplier, Decimal) or not multiplier.is_finite() or not (1 < multiplier < 10000):
        raise ApplicationError(_("The insider multiplier must be above 1."), code="invalid_multiplier")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("A reason is required."), code="reason_required")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=account.pk)
        if locked.is_insider and locked.flow_value_multiplier == multiplier:
            raise ApplicationError(_("The account is an insider already."), code="unchanged")
        previous = str(locked.flow_value_multiplier)
        locked.is_insider = True
        locked.flow_value_multiplier = multiplier
        locked.save(update_fields=["is_insider", "flow_value_multiplier"])
        audit_record(
            event_type="account.insider_granted",
            account=locked,
            actor=actor,
            subject=locked,
            details={"multiplier_from": previous, "multiplier_to": str(multiplier), "reason": reason},
        )
    return locked


def account_insider_revoke(*, account_id: int, reason: str, actor: User | None = None) -> bool:
    """End an account's insider status: multiplier back to 1. Idempotent (False: was not an insider).

    Called by staff, and by plans whenever a paid subscription lapses (drop to Free, refund, grace
    expiry) inside that change's transaction; the customer is told after the commit.
    """
    with transaction.atomic():
        locked = User.objects.select_for_update().filter(pk=account_id, is_insider=True).first()
        if locked is None:
            return False
        previous = str(locked.flow_value_multiplier)
        locked.is_insider = False
        locked.flow_value_multiplier = Decimal("1.0000")
        locked.save(update_fields=["is_insider", "flow_value_multiplier"])
        audit_record(
            event_type="account.insider_revoked",
            account=locked,
            actor=actor,
            subject=locked,
            details={"multiplier_from": previous, "multiplier_to": "1.0000", "reason": reason},
        )
        transaction.on_commit(lambda: _insider_revoked_notice(account_id))
    return True


def _insider_revoked_notice(account_id: int) -> None:
    from apps.accounts import tasks  # tasks call services: imported lazily, no cycle

    enqueue_safely(tasks.account_send_insider_revoked, account_id)


def account_set_language(*, account: User, language: str) -> None:
    User.objects.filter(pk=account.pk).update(preferred_language=language)


def deleted_account_email(account_id: int) -> str:
    return f"deleted-{account_id}@deleted.invalid"


@transaction.atomic
def account_delete(*, account: User, now: datetime | None = None) -> User:
    """The owner deletes their account. One transaction, one audit event.

    `account_closing` handlers close what other apps hold (subscription, keys, wallet settings, saved
    cards). Then the personal data goes: e-mail replaced by a placeholder (the address can sign up
    again), name cleared, password unusable, account inactive; e-mail addresses, authenticators (TOTP,
    recovery codes, passkeys) and sessions deleted. Kept, as the law requires, for
    FLOWPORT_DELETED_ACCOUNT_RETENTION_DAYS: payments, receipts, refunds, the wallet ledger, usage events,
    the audit trail and the invoice details printed on receipts (`account_purge_retained` clears those).
    """
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.usersessions.models import UserSession

    now = now or timezone.now()
    locked = User.objects.select_for_update().get(pk=account.pk)
    if locked.deleted_at is not None:
        raise ApplicationError(_("This account has already been deleted."), code="account_deleted")
    facts: dict = {}
    for result in hooks.account_closing.send(account=locked, now=now):
        facts.update(result or {})
    locked.email = deleted_account_email(locked.pk)
    locked.name = ""
    locked.set_unusable_password()
    locked.is_active = False
    locked.deleted_at = now
    locked.save(update_fields=["email", "name", "password", "is_active", "deleted_at"])
    EmailAddress.objects.filter(user=locked).delete()
    Authenticator.objects.filter(user=locked).delete()
    for session in UserSession.objects.filter(user=locked):
        session.end()
    audit_record(event_type="account.deleted", account=locked, actor=locked, subject=locked, details=facts)
    return locked


def account_record_security_event(*, account: User, event_type: str, details: dict | None = None) -> None:
    """A sign-in or security change the owner sees in their activity log (no secrets, no staff data)."""
    audit_record(
        event_type=event_type, account=account, actor=account, subject=account, details=details or {}
    )


@transaction.atomic
def invoice_details_update(*, account: User, **fields: str) -> InvoiceDetails:
    """Save the account's invoice details (every field optional, bounded and validated by the model).

    Unchanged details write nothing. A change is audited (which fields, not their values) and sent to the
    payment provider's customer after commit (`invoice_details_changed`).
    """
    unknown = set(fields) - set(INVOICE_FIELDS)
    if unknown:
        raise ValueError(f"unknown invoice fields: {sorted(unknown)}")
    User.objects.select_for_update().filter(pk=account.pk).exists()  # one writer per account at a time
    details, _created = InvoiceDetails.objects.get_or_create(account=account)
    before = {name: str(getattr(details, name)) for name in INVOICE_FIELDS}
    for name, value in fields.items():
        setattr(details, name, (value or "").strip())
    if details.tax_id:
        details.tax_id = details.tax_id.upper()
    details.full_clean(exclude=["account"])
    changed = [name for name in INVOICE_FIELDS if str(getattr(details, name)) != before[name]]
    if not changed:
        return details
    details.save()
    audit_record(
        event_type="account.invoice_details_updated",
        account=account,
        actor=account,
        subject=details,
        details={"fields": changed},
    )
    hooks.invoice_details_changed.send(account=account)
    return details


def account_purge_retained(*, now: datetime | None = None) -> int:
    """Clear what deleted accounts kept for the retention period and no longer need: their invoice
    details (the legal name and address printed on receipts). Safe to run late or twice."""
    from datetime import timedelta

    from django.conf import settings

    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.FLOWPORT_DELETED_ACCOUNT_RETENTION_DAYS)
    removed, _per_model = InvoiceDetails.objects.filter(
        account__deleted_at__isnull=False, account__deleted_at__lt=cutoff
    ).delete()
    return removed


def account_login_locked(*, email: str, ip: str) -> bool:
    """allauth refused a sign-in for too many failed attempts: tell the owner of that address, once per
    lock-out window (the first refusal in it), with an activity-log entry. Unknown addresses: nothing
    (no e-mail to a stranger, no sign that the address has an account). True when the owner is told."""
    from django.conf import settings
    from django.core.cache import cache

    from apps.accounts import jobs

    account = User.objects.filter(email__iexact=(email or "").strip()[:254], is_active=True).first()
    if account is None:
        return False
    if not cache.add(
        f"accounts:login-lockout-notice:{account.pk}", 1, settings.FLOWPORT_LOGIN_LOCKOUT_SECONDS
    ):
        return False
    with transaction.atomic():
        audit_record(
            event_type="account.login_locked",
            account=account,
            subject=account,
            details={"ip": (ip or "")[:45]},
        )
        account_id = account.pk
        transaction.on_commit(lambda: jobs.login_lockout_notice_due.send(account_id=account_id, ip=ip or ""))
    return True
