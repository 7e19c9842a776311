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

# send(subscription=ProviderSubscription): mirror the provider's plan, period, status and cancel flag.
provider_subscription_changed = Hook("billing.provider_subscription_changed")

# send(external_id=...): the provider confirmed the subscription is canceled.
provider_subscription_ended = Hook("billing.provider_subscription_ended")

# send(external_id=..., provider_status="pending|succeeded|failed|canceled") -> [Refund | None]:
# a provider refund changed state.
provider_refund_changed = Hook("billing.provider_refund_changed")
