from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class CheckoutSession:
    """Where to send the customer to pay, and the provider's reference for the session."""

    url: str
    external_id: str


@dataclass(frozen=True)
class ChargeResult:
    """Outcome of an off-session charge: succeeded, processing (a webhook will tell) or failed."""

    status: str  # "succeeded" | "processing" | "failed"
    external_id: str = ""
    failure_message: str = ""
    amount_usd: Decimal | None = None  # what the provider charged, when it decides the amount (prorations)
    metadata: dict = field(default_factory=dict)  # provider facts to keep on the payment (its invoice id)


@dataclass(frozen=True)
class RefundResult:
    status: str  # "pending" | "succeeded" | "failed" | "canceled"
    external_id: str = ""


@dataclass(frozen=True)
class PaymentInfo:
    """A payment as the provider knows it (re-read before crediting anything)."""

    external_id: str
    status: str  # "succeeded" | "pending" | "failed" | "canceled"
    amount_usd: Decimal
    metadata: dict = field(default_factory=dict)
    payment_method_id: str = ""
    invoice_url: str = ""
    invoice_pdf_url: str = ""


class PaymentProvider(ABC):
    """Start a checkout, charge a saved method, refund, read a payment. Payments are our `Payment` rows."""

    name: str

    @abstractmethod
    def start_checkout(
        self, *, payment, methods: tuple[str, ...] = ("card",), save_method: bool = False
    ) -> CheckoutSession:
        """Begin a hosted checkout for `payment` (its amount, description, return and cancel URLs)."""

    @abstractmethod
    def charge_saved_method(self, *, payment, payment_method) -> ChargeResult:
        """Charge a saved payment method off-session, idempotent on `payment.idempotency_key`."""

    @abstractmethod
    def refund(self, *, payment, amount_usd: Decimal, idempotency_key: str) -> RefundResult:
        """Refund part or all of a succeeded payment."""

    @abstractmethod
    def read_refund(self, *, external_id: str) -> RefundResult:
        """Re-read a refund (its status now) from the provider."""

    @abstractmethod
    def read_payment(self, *, external_id: str) -> PaymentInfo:
        """Re-read a payment (checkout session or payment intent) from the provider."""

    def checkout_expire(self, *, payment) -> bool:
        """Close `payment`'s open hosted checkout so it can no longer be paid. True when it is closed
        unpaid; False when it may still be (or was) paid: then its webhook settles it. Providers that
        cannot close a checkout answer False and it stays open."""
        return False

    def customer_update_invoice_details(self, *, account) -> None:
        """Send the account's invoice details (legal name, address, tax ID) to the provider's customer,
        so the provider's own invoices carry them. Providers without customers do nothing."""
        return

    # Subscriptions (SUBSCRIPTION_CONTRACT). Our `Subscription` and `Plan` rows; amounts come from `payment`.

    @abstractmethod
    def subscription_start_checkout(self, *, payment, plan) -> CheckoutSession:
        """Hosted checkout for a new subscription (purpose subscription, amount = plan price); saves the card."""

    @abstractmethod
    def subscription_upgrade(self, *, subscription, new_plan, payment) -> ChargeResult:
        """Charge the prorated Δ (`payment.amount_usd`) now and switch to `new_plan`, keeping the cycle anchor."""

    @abstractmethod
    def subscription_schedule_change(self, *, subscription, plan) -> None:
        """Apply `plan` (cheaper paid plan, or Free = cancel) at period end; `None` undoes a scheduled change."""

    @abstractmethod
    def subscription_cancel_now(self, *, subscription) -> None:
        """End the provider's subscription immediately, without proration."""

    @abstractmethod
    def subscription_renew(self, *, subscription, payment) -> ChargeResult:
        """Charge a renewal (`payment.amount_usd`); providers that renew by themselves answer "processing"."""
