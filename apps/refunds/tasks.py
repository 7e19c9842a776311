"""Refund jobs: each takes an id, calls one service, is idempotent and safe to run twice or late."""

from smtplib import SMTPException

from celery import shared_task
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from apps.core.templatetags.flowport import usd
from apps.refunds import services
from apps.refunds.models import Refund, RefundStatus


@shared_task
def refund_submit_task(refund_id: int) -> str:
    """After the refund's transaction commits: ask the provider to refund each part (idempotent keys)."""
    return services.refund_submit(refund_id=refund_id).status


@shared_task
def refunds_sync_processing() -> int:
    return services.refund_sync_processing()


@shared_task
def refund_sync_task(refund_id: int) -> str:
    """Sandbox: settles the refund (FLOWPORT_SANDBOX_REFUND_OUTCOME). Stripe: re-reads it (webhooks drive)."""
    return services.refund_sync(refund_id=refund_id).status


@shared_task(autoretry_for=(OSError, SMTPException), retry_backoff=True, max_retries=5)
def refund_send_confirmation(refund_id: int) -> None:
    refund = Refund.objects.select_related("account").get(pk=refund_id)
    if refund.status != RefundStatus.SUCCEEDED:
        return
    account = refund.account
    with translation.override(account.preferred_language):
        body = _(
            "Your refund of %(amount)s has succeeded. It returns to your original payment method within "
            "1-3 business days.\nYour subscription is now on the Free plan; your API keys keep working "
            "under Free limits: %(url)s"
        ) % {"amount": usd(refund.amount_usd), "url": reverse("console:subscription")}
        send_mail(
            _("Flowport: your refund of %(amount)s succeeded") % {"amount": usd(refund.amount_usd)},
            body,
            None,
            [account.email],
        )
