from django.db import transaction
from django.utils.translation import gettext as _

from apps.accounts.models import AccountStatus, User
from apps.core.exceptions import ApplicationError
from apps.core.services import audit_record


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


def account_set_language(*, account: User, language: str) -> None:
    User.objects.filter(pk=account.pk).update(preferred_language=language)
