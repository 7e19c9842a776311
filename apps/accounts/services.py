from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from apps.accounts import hooks
from apps.accounts.models import AccountStatus, User
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
