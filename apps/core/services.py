from django.db import models

from apps.core.hooks import audit_recorded
from apps.core.models import AuditEvent


def audit_record(
    *,
    event_type: str,
    account=None,
    actor=None,
    subject: models.Model | None = None,
    details: dict | None = None,
) -> AuditEvent:
    """Write one audit event. Call inside the transaction of the change it records."""
    event = AuditEvent.objects.create(
        event_type=event_type,
        account=account,
        actor=actor if actor is not None and actor.pk else None,
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=str(subject.pk) if subject is not None else "",
        details=details or {},
    )
    audit_recorded.send(event=event)
    return event
