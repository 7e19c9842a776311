from apps.billing.models import Payment, PaymentMethod, PaymentStatus


def payment_method_default(*, account) -> PaymentMethod | None:
    return PaymentMethod.objects.filter(account=account, is_default=True).first()


def payment_history(*, account):
    """The account's own settled charges (paid or failed), newest first; open checkouts are left out."""
    return Payment.objects.filter(
        account=account, status__in=[PaymentStatus.SUCCEEDED, PaymentStatus.FAILED]
    ).order_by("-created_at", "-id")


def payment_get_for_account(*, account, public_id) -> Payment:
    """The account's own payment (Payment.DoesNotExist otherwise, so views answer 404)."""
    return Payment.objects.get(account=account, public_id=public_id)
