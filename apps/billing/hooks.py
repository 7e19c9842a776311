"""What a payment provider reports, handed up to the app whose state it changes.

Billing verifies the webhook, re-reads the object from the provider and translates the provider's
vocabulary; it never decides what that means for a subscription or a refund. The app that owns that
state registers handlers here in its AppConfig.ready() (plans for subscriptions, refunds for refunds).
Handlers run inside the caller's transaction (the webhook's), so a failure rolls the event back and
the provider retries. Payment fulfilment has its own purpose-keyed registry in `apps.billing.services`.
"""

from dataclasses import dataclass
from datetime import datetime

from apps.core.hooks import Hook


@dataclass(frozen=True)
class ProviderSubscription:
    """A provider-side subscription as just re-read from the provider."""

    external_id: str
    status: str  # "active" or "past_due" (our vocabulary); ended ones go to `provider_subscription_ended`
    plan_tier: str | None  # the plan its price stands for, when the provider's price names one
    period_start: datetime
    period_end: datetime
    cancel_at_period_end: bool


@dataclass(frozen=True)
class SubscriptionOwner:
    """Whose provider subscription this is, and the plan our side has it on."""

    account: object  # accounts.User
    plan_tier: str


# send_one(external_id=...) -> SubscriptionOwner | None: who owns the provider subscription (renewal
# invoices become that account's RENEWAL payments; the payment handlers then apply them).
provider_subscription_owner = Hook("billing.provider_subscription_owner")


@dataclass(frozen=True)
class CurrentSubscription:
    """The provider subscription an account pays for now, as our side knows it."""

    external_id: str
    active: bool  # False: past due (a new paid checkout replaces it)


class ProviderSubscriptionConflict(Exception):
    """Raised by a SUBSCRIPTION payment handler (under the subscription row lock, so two completions at
    once are serialised) when the account already pays for another active provider subscription: the
    payment is not applied, and billing cancels and refunds the newer provider subscription."""

    def __init__(self, current: str):
        super().__init__(current)
        self.current = current


# send_one(account=...) -> CurrentSubscription | None: the provider subscription the account pays for now,
# or None when it has none (Free). A second paid subscription checkout is reconciled against it.
provider_subscription_current = Hook("billing.provider_subscription_current")

# send(subscription=ProviderSubscription): mirror the provider's plan, period, status and cancel flag.
provider_subscription_changed = Hook("billing.provider_subscription_changed")

# send(external_id=...): the provider confirmed the subscription is canceled.
provider_subscription_ended = Hook("billing.provider_subscription_ended")

# send(external_id=..., provider_status="pending|succeeded|failed|canceled") -> [Refund | None]:
# a provider refund changed state.
provider_refund_changed = Hook("billing.provider_refund_changed")

# send(payment=Payment, dispute_id=..., status="open|won|lost", amount_usd=Decimal, reason=...): a charge
# was disputed (status "open": the money is held by the bank), or the dispute closed. The app that
# credited the payment decides what to freeze, claw back or restore (the wallet for top-ups).
provider_payment_disputed = Hook("billing.provider_payment_disputed")
