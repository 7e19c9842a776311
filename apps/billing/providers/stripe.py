"""Stripe behind the PaymentProvider interface (Checkout, off-session charges, refunds, subscriptions).

Every call goes through one `stripe.StripeClient` configured from settings: the secret key, an HTTP
client with a bounded timeout, a few network retries, and `STRIPE_API_BASE` when set (tests point it
at a local fake). Every POST/DELETE carries a deterministic `Idempotency-Key`, so a retried request
returns Stripe's first answer instead of charging twice; reads (GET) are idempotent by nature and
Stripe ignores keys on them. Amounts travel as integer cents from Decimal (never floats).

One Stripe Customer per account, remembered in dj-stripe's `Customer` table (`subscriber` = the user),
created with an idempotency key derived from the account so two concurrent first checkouts converge.
"""

import logging
from datetime import UTC, datetime
from decimal import Decimal

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from apps.accounts.models import InvoiceDetails
from apps.billing.providers.base import (
    ChargeResult,
    CheckoutSession,
    PaymentInfo,
    PaymentProvider,
    RefundResult,
)
from apps.core.money import round_cents

logger = logging.getLogger(__name__)

# Stripe's PaymentIntent / Checkout statuses, mapped onto ours.
_INTENT_STATUS = {
    "succeeded": "succeeded",
    "canceled": "canceled",
    "requires_payment_method": "failed",
}
_REFUND_STATUS = {"succeeded": "succeeded", "failed": "failed", "canceled": "canceled"}


def to_cents(amount_usd: Decimal) -> int:
    """Decimal dollars -> integer cents, rounded only by apps.core.money."""
    return int(round_cents(amount_usd) * 100)


def from_cents(cents: int) -> Decimal:
    return round_cents(Decimal(int(cents)) / 100)


def from_timestamp(value: int) -> datetime:
    return datetime.fromtimestamp(int(value), tz=UTC)


def absolute_url(url: str) -> str:
    """Stripe needs absolute return URLs; ours may be paths (`/console/…`)."""
    if url.startswith(("http://", "https://")):
        return url
    return settings.SITE_URL.rstrip("/") + "/" + url.lstrip("/")


def price_lookup_key(plan) -> str:
    return f"flowport-{plan.tier}-{to_cents(plan.price_usd)}"


def stripe_client() -> stripe.StripeClient:
    """A client bound to our key, with a bounded timeout and STRIPE_API_BASE when set."""
    base = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        stripe_version=settings.STRIPE_API_VERSION,
        base_addresses=base,
        http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
    )


def configure_stripe_module() -> None:
    """dj-stripe calls the module-level API (event validation, customer sync): same base and timeout."""
    if settings.STRIPE_API_BASE:
        stripe.api_base = settings.STRIPE_API_BASE
    stripe.api_version = settings.STRIPE_API_VERSION
    stripe.default_http_client = stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS)
    stripe.max_network_retries = settings.STRIPE_MAX_NETWORK_RETRIES


def stripe_retryable(error: Exception) -> bool:
    """A conflict (409), rate limit (429), Stripe-side error (5xx) or lost connection: try again later
    with the same idempotency key. Any other 4xx is a final answer."""
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError):
        return True
    status = getattr(error, "http_status", None)
    return isinstance(status, int) and (status in (409, 429) or status >= 500)


def _first_item(subscription) -> dict:
    return subscription["items"]["data"][0]


def subscription_period(subscription) -> tuple[datetime, datetime]:
    """The current period: on the subscription item since API 2025-03 (on the subscription before)."""
    item = _first_item(subscription)
    start = item.get("current_period_start") or subscription.get("current_period_start")
    end = item.get("current_period_end") or subscription.get("current_period_end")
    return from_timestamp(start), from_timestamp(end)


def price_plan_tier(price) -> str | None:
    """The plan tier a Stripe Price stands for (our metadata, else our lookup_key)."""
    metadata = price.get("metadata") or {}
    if metadata.get("plan"):
        return metadata["plan"]
    lookup_key = price.get("lookup_key") or ""
    if lookup_key.startswith("flowport-"):
        return lookup_key.split("-")[1]
    return None


def invoice_subscription_id(invoice) -> str:
    """Invoice -> subscription id: `parent.subscription_details` since API 2025-03, `subscription` before."""
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return details.get("subscription") or invoice.get("subscription") or ""


TAX_ID_FIELD_NAME = "Tax ID"  # an invoice custom field: Stripe prints it on every invoice of the customer


def customer_invoice_params(account, *, creating: bool) -> dict:
    """The Customer fields that carry the account's invoice details: `name`, `address` and the tax ID
    as an invoice custom field (a typed `tax_id` object would need Stripe's per-country type, which the
    portal does not ask for). On update, empty values clear what Stripe holds ("" unsets in Stripe's API)."""
    details = InvoiceDetails.objects.filter(account=account).first() or InvoiceDetails(account=account)
    params: dict = {}
    if details.legal_name or not creating:
        params["name"] = details.legal_name
    has_address = details.address_line1 and details.country
    if has_address:
        params["address"] = {
            "line1": details.address_line1,
            "line2": details.address_line2,
            "city": details.city,
            "postal_code": details.postal_code,
            "state": details.region,
            "country": str(details.country.code),
        }
    elif not creating:
        params["address"] = ""
    if details.tax_id:
        params["invoice_settings"] = {"custom_fields": [{"name": TAX_ID_FIELD_NAME, "value": details.tax_id}]}
    elif not creating:
        params["invoice_settings"] = {"custom_fields": ""}
    return params


class StripeProvider(PaymentProvider):
    name = "stripe"

    def __init__(self, client: stripe.StripeClient | None = None):
        self.client = client or stripe_client()

    # -- customers -----------------------------------------------------------------------------
    def customer_id(self, account) -> str:
        """The account's Stripe Customer, created on first use (one per account, kept by dj-stripe)."""
        from djstripe.models import Customer

        livemode = bool(settings.STRIPE_LIVE_MODE)
        existing = Customer.objects.filter(subscriber=account, livemode=livemode).values_list("id", flat=True)
        if existing:
            return existing[0]
        data = self.client.v1.customers.create(
            params={
                "email": account.email,
                "metadata": {"flowport_account": str(account.pk)},
                **customer_invoice_params(account, creating=True),
            },
            options={"idempotency_key": f"flowport:customer:{account.pk}:{'live' if livemode else 'test'}"},
        )
        try:
            with transaction.atomic():
                Customer.objects.create(
                    id=data["id"], livemode=livemode, subscriber=account, email=account.email or ""
                )
        except IntegrityError:  # a concurrent first checkout stored it first (same idempotent customer)
            pass
        return Customer.objects.filter(subscriber=account, livemode=livemode).values_list("id", flat=True)[0]

    def customer_update_invoice_details(self, *, account) -> None:
        """Update the account's Stripe Customer (if it has one yet; a new one gets them at creation)."""
        from djstripe.models import Customer

        livemode = bool(settings.STRIPE_LIVE_MODE)
        customer_id = (
            Customer.objects.filter(subscriber=account, livemode=livemode)
            .values_list("id", flat=True)
            .first()
        )
        if customer_id:
            self.client.v1.customers.update(
                customer_id, params=customer_invoice_params(account, creating=False)
            )

    # -- one-off payments (top-ups) ----------------------------------------------------------------------
    def start_checkout(self, *, payment, methods=("card",), save_method=False) -> CheckoutSession:
        metadata = {"payment": str(payment.public_id), "purpose": payment.purpose}
        extra: dict = {}
        if save_method and "card" in methods:
            # Per card, so Alipay (which cannot be saved for off-session use) stays on offer.
            extra["payment_method_options"] = {"card": {"setup_future_usage": "off_session"}}
        session = self.client.v1.checkout.sessions.create(
            params={
                **extra,
                "mode": "payment",
                "customer": self.customer_id(payment.account),
                "payment_method_types": list(methods),
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": "usd",
                            "unit_amount": to_cents(payment.amount_usd),
                            "product_data": {"name": payment.description},
                        },
                    }
                ],
                "payment_intent_data": {"metadata": metadata},
                "client_reference_id": str(payment.public_id),
                "metadata": metadata,
                "success_url": absolute_url(payment.return_url or "/console/"),
                "cancel_url": absolute_url(payment.cancel_url or payment.return_url or "/console/"),
            },
            options={"idempotency_key": f"{payment.idempotency_key}:checkout"},
        )
        return CheckoutSession(url=session["url"], external_id=session["id"])

    def checkout_expire(self, *, payment) -> bool:
        """Expire an open Checkout Session; a session already completed is left to its webhook."""
        if not payment.external_id.startswith("cs_"):
            return False
        try:
            session = self.client.v1.checkout.sessions.expire(
                payment.external_id, options={"idempotency_key": f"{payment.idempotency_key}:expire"}
            )
        except stripe.InvalidRequestError:  # not open any more: completed (paid or paying) or expired
            session = self.read_checkout_session(payment.external_id)
        return session["status"] == "expired" and session["payment_status"] not in (
            "paid",
            "no_payment_required",
        )

    def charge_saved_method(self, *, payment, payment_method) -> ChargeResult:
        """Confirm off-session with a saved card. Stripe refuses a redirect-capable off-session confirmation,
        so the intent is card-only; any refusal (decline, `authentication_required`, a 400) fails the payment:
        nobody is there to complete 3-D Secure, and retrying the same refusal would never end."""
        try:
            intent = self.client.v1.payment_intents.create(
                params={
                    "amount": to_cents(payment.amount_usd),
                    "currency": "usd",
                    "customer": self.customer_id(payment.account),
                    "payment_method": payment_method.external_id,
                    "payment_method_types": ["card"],
                    "off_session": True,
                    "confirm": True,
                    "description": payment.description,
                    "metadata": {"payment": str(payment.public_id), "purpose": payment.purpose},
                },
                options={"idempotency_key": payment.idempotency_key},
            )
        except stripe.CardError as error:
            intent = (error.json_body or {}).get("error", {}).get("payment_intent") or {}
            message = error.user_message or _("Your card was declined.")
            if error.code == "authentication_required":
                message = _("Your bank asks you to confirm this payment, which cannot happen automatically.")
            return ChargeResult(status="failed", external_id=intent.get("id", ""), failure_message=message)
        except stripe.StripeError as error:
            if stripe_retryable(error):
                raise  # 409/429/5xx/network: the same idempotency key may be tried again
            logger.error("Stripe refused the off-session charge of payment %s: %s", payment.pk, error)
            return ChargeResult(
                status="failed", failure_message=_("The payment provider refused the charge.")
            )
        status = _INTENT_STATUS.get(intent["status"], "processing")
        message = ""
        if intent["status"] == "requires_action":  # 3-D Secure wanted: cannot be done off-session
            status = "failed"
            message = _("Your bank asks you to confirm this payment, which cannot happen automatically.")
        if status == "failed" and not message:
            message = (intent.get("last_payment_error") or {}).get("message") or _("Your card was declined.")
        return ChargeResult(status=status, external_id=intent["id"], failure_message=message)

    def refund(self, *, payment, amount_usd: Decimal, idempotency_key: str) -> RefundResult:
        refund = self.client.v1.refunds.create(
            params={
                **self.paid_by(payment),
                "amount": to_cents(amount_usd),
                "metadata": {"payment": str(payment.public_id)},
            },
            options={"idempotency_key": idempotency_key},
        )
        return RefundResult(status=_REFUND_STATUS.get(refund["status"], "pending"), external_id=refund["id"])

    def read_refund(self, *, external_id: str) -> RefundResult:
        refund = self.client.v1.refunds.retrieve(external_id)
        return RefundResult(status=_REFUND_STATUS.get(refund["status"], "pending"), external_id=refund["id"])

    def list_refunds(self, *, payment_intent: str) -> list:
        """Refunds of a PaymentIntent (a `charge.refunded` event names the charge's intent)."""
        return list(
            self.client.v1.refunds.list(params={"payment_intent": payment_intent, "limit": 100})["data"]
        )

    def paid_by(self, payment) -> dict:
        """What took the money, as refund parameters: `{"payment_intent": …}` or `{"charge": …}`.

        One-off payments name their PaymentIntent. Subscription, upgrade and renewal payments were paid
        through a Stripe invoice (its id in `metadata["invoice"]`, or the payment's own `in_…` reference);
        since API 2025-03 the invoice no longer carries `payment_intent`: its paid `InvoicePayment` records
        name the PaymentIntent (or, for some methods, the Charge). An invoice is never a refund target.
        """
        if payment.metadata.get("payment_intent"):
            return {"payment_intent": payment.metadata["payment_intent"]}
        invoice_id = payment.metadata.get("invoice") or ""
        if not invoice_id and payment.external_id.startswith("in_"):
            invoice_id = payment.external_id
        if invoice_id:
            paid = self.client.v1.invoice_payments.list(
                params={"invoice": invoice_id, "status": "paid", "limit": 10}
            )
            for record in paid["data"]:
                kind = record["payment"].get("type")
                if kind in ("payment_intent", "charge") and record["payment"].get(kind):
                    target = record["payment"][kind]
                    return {kind: target if isinstance(target, str) else target["id"]}
            raise stripe.InvalidRequestError(
                f"Invoice {invoice_id} has no paid payment to refund.", "invoice"
            )
        if payment.external_id.startswith("pi_"):
            return {"payment_intent": payment.external_id}
        if payment.external_id.startswith(("ch_", "py_")):
            return {"charge": payment.external_id}
        raise stripe.InvalidRequestError(f"Payment {payment.pk} names nothing Stripe can refund.", "payment")

    def read_payment(self, *, external_id: str) -> PaymentInfo:
        """Re-read a Checkout Session (`cs_…`) or PaymentIntent (`pi_…`): the truth we credit on."""
        if external_id.startswith("cs_"):
            session = self.client.v1.checkout.sessions.retrieve(external_id)
            paid = session["payment_status"] in ("paid", "no_payment_required")
            status = "succeeded" if paid else ("canceled" if session["status"] == "expired" else "pending")
            method_id = ""
            if session.get("payment_intent"):
                method_id = self.read_intent(session["payment_intent"]).get("payment_method") or ""
            return PaymentInfo(
                external_id=session["id"],
                status=status,
                amount_usd=from_cents(session["amount_total"]),
                metadata=dict(session.get("metadata") or {}),
                payment_method_id=method_id,
            )
        intent = self.read_intent(external_id)
        return PaymentInfo(
            external_id=intent["id"],
            status=_INTENT_STATUS.get(intent["status"], "pending"),
            amount_usd=from_cents(intent["amount_received"] or intent["amount"]),
            metadata=dict(intent.get("metadata") or {}),
            payment_method_id=intent.get("payment_method") or "",
        )

    # -- plain reads used by the webhook services ------------------------------------------------------
    def read_checkout_session(self, session_id: str):
        return self.client.v1.checkout.sessions.retrieve(session_id)

    def read_intent(self, intent_id: str):
        return self.client.v1.payment_intents.retrieve(intent_id)

    def read_payment_method(self, method_id: str):
        return self.client.v1.payment_methods.retrieve(method_id)

    def read_subscription(self, subscription_id: str):
        return self.client.v1.subscriptions.retrieve(subscription_id)

    def read_invoice(self, invoice_id: str):
        return self.client.v1.invoices.retrieve(invoice_id)

    # -- subscriptions (SUBSCRIPTION_CONTRACT) ----------------------------------------------------------
    def plan_price_id(self, plan) -> str:
        """The plan's recurring monthly Price, found by lookup_key or created once."""
        lookup_key = price_lookup_key(plan)
        found = self.client.v1.prices.list(params={"lookup_keys": [lookup_key], "active": True, "limit": 1})
        if found["data"]:
            return found["data"][0]["id"]
        price = self.client.v1.prices.create(
            params={
                "currency": "usd",
                "unit_amount": to_cents(plan.price_usd),
                "recurring": {"interval": "month"},
                "lookup_key": lookup_key,
                "metadata": {"plan": plan.tier},
                "product_data": {"name": f"Flowport {plan.name}", "metadata": {"plan": plan.tier}},
            },
            options={"idempotency_key": f"flowport:price:{lookup_key}"},
        )
        return price["id"]

    def subscription_start_checkout(self, *, payment, plan) -> CheckoutSession:
        metadata = {"payment": str(payment.public_id), "purpose": payment.purpose, "plan": plan.tier}
        session = self.client.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "customer": self.customer_id(payment.account),
                "payment_method_types": ["card"],
                "line_items": [{"price": self.plan_price_id(plan), "quantity": 1}],
                "client_reference_id": str(payment.public_id),
                "metadata": metadata,
                "subscription_data": {"metadata": {"plan": plan.tier, "account": str(payment.account_id)}},
                "success_url": absolute_url(payment.return_url or "/console/"),
                "cancel_url": absolute_url(payment.cancel_url or payment.return_url or "/console/"),
            },
            options={"idempotency_key": f"{payment.idempotency_key}:checkout"},
        )
        return CheckoutSession(url=session["url"], external_id=session["id"])

    def subscription_upgrade(self, *, subscription, new_plan, payment) -> ChargeResult:
        """Switch the price now with an invoiced proration; a scheduled downgrade or cancel is undone first.

        A schedule would move the subscription to the cheaper phase at period end, and a schedule-managed
        subscription refuses a direct change of its cancel flag, so the schedule is released (the
        subscription stays as it is) and `cancel_at_period_end` cleared in the same update as the price.
        The amount returned is what Stripe invoiced (prorated to the second, rounded per line, customer
        balance applied), not our own preview.
        """
        remote = self.read_subscription(subscription.external_id)
        if remote.get("schedule"):
            schedule_id = (
                remote["schedule"] if isinstance(remote["schedule"], str) else remote["schedule"]["id"]
            )
            schedule = self.client.v1.subscription_schedules.retrieve(schedule_id)
            if schedule["status"] in ("not_started", "active"):
                self.client.v1.subscription_schedules.release(
                    schedule_id, options={"idempotency_key": f"{payment.idempotency_key}:release"}
                )
        try:
            updated = self.client.v1.subscriptions.update(
                subscription.external_id,
                params={
                    "items": [{"id": _first_item(remote)["id"], "price": self.plan_price_id(new_plan)}],
                    "proration_behavior": "always_invoice",
                    "payment_behavior": "error_if_incomplete",
                    "cancel_at_period_end": False,
                    "metadata": {"plan": new_plan.tier},
                    "expand": ["latest_invoice"],
                },
                options={"idempotency_key": payment.idempotency_key},
            )
        except stripe.CardError as error:
            return ChargeResult(
                status="failed", failure_message=error.user_message or _("Your card was declined.")
            )
        invoice = updated.get("latest_invoice") or {}
        if isinstance(invoice, str):
            invoice = self.read_invoice(invoice)
        status = {"paid": "succeeded", "void": "failed", "uncollectible": "failed"}.get(
            invoice.get("status"), "processing"
        )
        charged = invoice.get("amount_paid") if status == "succeeded" else invoice.get("amount_due")
        return ChargeResult(
            status=status,
            external_id=invoice.get("id", ""),
            amount_usd=from_cents(charged) if charged is not None else None,
            metadata={"invoice": invoice["id"]} if invoice.get("id") else {},
        )

    def subscription_schedule_change(self, *, subscription, plan) -> None:
        """Apply `plan` at period end (Free = cancel at period end), or undo with plan=None."""
        remote = self.read_subscription(subscription.external_id)
        # Deterministic for a retry of this change, distinct for the next one (the plans app saves the
        # scheduled plan with each change): a key seen before would replay Stripe's first answer.
        version = int(subscription.updated_at.timestamp() * 1_000_000)
        key = f"flowport:{remote['id']}:{version}"
        if plan is None or plan.is_free:
            if remote.get("schedule"):
                self.client.v1.subscription_schedules.release(
                    remote["schedule"], options={"idempotency_key": f"{key}:release"}
                )
            self.client.v1.subscriptions.update(
                remote["id"],
                params={"cancel_at_period_end": plan is not None},
                options={"idempotency_key": f"{key}:cancel_at_period_end:{plan is not None}"},
            )
            return
        if remote["cancel_at_period_end"]:
            self.client.v1.subscriptions.update(
                remote["id"],
                params={"cancel_at_period_end": False},
                options={"idempotency_key": f"{key}:cancel_at_period_end:False"},
            )
        schedule_id = remote.get("schedule")
        if not schedule_id:
            schedule_id = self.client.v1.subscription_schedules.create(
                params={"from_subscription": remote["id"]},
                options={"idempotency_key": f"{key}:schedule"},
            )["id"]
        schedule = self.client.v1.subscription_schedules.retrieve(schedule_id)
        current = schedule["phases"][0]
        self.client.v1.subscription_schedules.update(
            schedule_id,
            params={
                "end_behavior": "release",
                "phases": [
                    {
                        "items": [{"price": current["items"][0]["price"], "quantity": 1}],
                        "start_date": current["start_date"],
                        "end_date": current["end_date"],
                    },
                    {
                        "items": [{"price": self.plan_price_id(plan), "quantity": 1}],
                        "duration": {"interval": "month", "interval_count": 1},
                        "metadata": {"plan": plan.tier},
                    },
                ],
            },
            options={"idempotency_key": f"{key}:phases:{plan.tier}"},
        )

    def subscription_cancel_now(self, *, subscription) -> None:
        self.client.v1.subscriptions.cancel(
            subscription.external_id,
            params={"prorate": False},
            options={"idempotency_key": f"flowport:{subscription.external_id}:cancel_now"},
        )

    def subscription_renew(self, *, subscription, payment) -> ChargeResult:
        # Stripe renews on its own; `invoice.paid` / `invoice.payment_failed` webhooks report it.
        return ChargeResult(status="processing")
