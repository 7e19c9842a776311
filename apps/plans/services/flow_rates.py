"""The base Flow rate's dated history (SPEC §1): staff add rates, never rewrite them."""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.exceptions import ApplicationError
from apps.core.money import round_rate
from apps.core.services import audit_record
from apps.plans.models import FlowRate

FLOW_RATE_NOT_POSITIVE = _("The Flow rate must be greater than 0 USD per Flow.")


def flow_rate_create(
    *, usd_per_flow: Decimal, effective_from: datetime | None = None, note: str = "", actor=None
) -> FlowRate:
    """Add a dated base rate (history is kept: a new rate never rewrites an old one), with an audit event."""
    rate = round_rate(usd_per_flow)
    if rate <= 0:
        raise ApplicationError(FLOW_RATE_NOT_POSITIVE, code="flow_rate_not_positive")
    with transaction.atomic():
        flow_rate = FlowRate.objects.create(
            usd_per_flow=rate,
            effective_from=effective_from or timezone.now(),
            note=note,
            created_by=actor if actor is not None and actor.pk else None,
        )
        audit_record(
            event_type="flow_rate.created",
            actor=actor,
            subject=flow_rate,
            details={
                "usd_per_flow": str(flow_rate.usd_per_flow),
                "effective_from": flow_rate.effective_from.isoformat(),
                "note": note,
            },
        )
    return flow_rate
