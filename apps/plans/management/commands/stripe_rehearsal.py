"""Rehearse Flowport's Stripe flows against a Stripe *test-mode* account before going live.

It lives in plans (which may use billing's provider and its own Plan rows; billing may not import plans).

    uv run python manage.py stripe_rehearsal

Everything runs on its own test clock (a throwaway customer attached to it), through the same
`StripeProvider` code the portal uses: subscribe, upgrade, a scheduled downgrade undone by an upgrade,
a renewal (the clock is advanced past the period end), a refund after an upgrade (each invoice refunded
by the payment that paid it), off-session auto top-ups with `pm_card_visa` and
`pm_card_authenticationRequired`, and a dispute with `pm_card_createDispute`. It prints PASS or FAIL per
step, then deletes the test clock (which deletes its customer and subscriptions). No database row is
written. It refuses a live key.
"""

import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.billing.providers.stripe import StripeProvider, subscription_period
from apps.plans.models import Plan

DAY = 24 * 3600


class RehearsalFailed(Exception):
    pass


def _check(condition, detail) -> None:
    """A rehearsal expectation (not an `assert`: it must hold under `python -O` too)."""
    if not condition:
        raise RehearsalFailed(str(detail))


class RehearsalProvider(StripeProvider):
    """Our provider, bound to the rehearsal's own test-clock customer instead of an account's."""

    def __init__(self, customer: str = "", **kwargs):
        super().__init__(**kwargs)
        self.customer = customer

    def customer_id(self, account) -> str:
        return self.customer


@dataclass
class Rehearsal:
    provider: RehearsalProvider
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    clock: str = ""
    subscription: str = ""
    invoices: list = field(default_factory=list)

    @property
    def client(self):
        return self.provider.client

    def key(self, step: str) -> str:
        return f"flowport:rehearsal:{self.run}:{step}"

    def payment(self, step: str, *, amount="0.00", **metadata):
        return SimpleNamespace(
            idempotency_key=self.key(step),
            public_id=uuid.uuid4(),
            purpose="rehearsal",
            description=f"Flowport rehearsal: {step}",
            amount_usd=Decimal(amount),
            account=None,
            pk=0,
            metadata=metadata,
            external_id="",
        )

    def local(self):
        return SimpleNamespace(external_id=self.subscription, updated_at=timezone.now())

    def card(self, token: str) -> str:
        method = self.client.v1.payment_methods.attach(
            token, params={"customer": self.provider.customer}, options={"idempotency_key": self.key(token)}
        )
        return method["id"]

    def wait_for_clock(self) -> None:
        for _attempt in range(60):
            if self.client.v1.test_helpers.test_clocks.retrieve(self.clock)["status"] == "ready":
                return
            time.sleep(settings.STRIPE_REHEARSAL_POLL_SECONDS)
        raise RehearsalFailed("the test clock did not finish advancing")

    # -- steps: each returns a short detail, or raises AssertionError / StripeError -----------------
    def setup(self) -> str:
        clock = self.client.v1.test_helpers.test_clocks.create(
            params={"frozen_time": int(time.time()), "name": f"flowport-rehearsal-{self.run}"},
            options={"idempotency_key": self.key("clock")},
        )
        self.clock = clock["id"]
        customer = self.client.v1.customers.create(
            params={
                "test_clock": self.clock,
                "email": "rehearsal@example.com",
                "metadata": {"rehearsal": self.run},
            },
            options={"idempotency_key": self.key("customer")},
        )
        self.provider.customer = customer["id"]
        card = self.card("pm_card_visa")
        self.client.v1.customers.update(
            customer["id"],
            params={"invoice_settings": {"default_payment_method": card}},
            options={"idempotency_key": self.key("default_card")},
        )
        return f"clock {self.clock}, customer {customer['id']}"

    def subscribe(self) -> str:
        sub = self.client.v1.subscriptions.create(
            params={
                "customer": self.provider.customer,
                "items": [{"price": self.provider.plan_price_id(Plan.objects.get(tier="pro"))}],
                "payment_behavior": "error_if_incomplete",
                "metadata": {"plan": "pro", "rehearsal": self.run},
            },
            options={"idempotency_key": self.key("subscribe")},
        )
        _check(sub["status"] == "active", sub["status"])
        self.subscription = sub["id"]
        self.invoices.append(sub["latest_invoice"])
        return sub["id"]

    def upgrade(self) -> str:
        result = self.provider.subscription_upgrade(
            subscription=self.local(), new_plan=Plan.objects.get(tier="max"), payment=self.payment("upgrade")
        )
        _check(result.status == "succeeded", result)
        self.invoices.append(result.external_id)
        return f"charged {result.amount_usd} USD ({result.external_id})"

    def downgrade_then_upgrade(self) -> str:
        self.provider.subscription_schedule_change(
            subscription=self.local(), plan=Plan.objects.get(tier="pro")
        )
        _check(self.provider.read_subscription(self.subscription)["schedule"], "no schedule was created")
        result = self.provider.subscription_upgrade(
            subscription=self.local(),
            new_plan=Plan.objects.get(tier="ultra"),
            payment=self.payment("upgrade2"),
        )
        _check(result.status == "succeeded", result)
        self.invoices.append(result.external_id)
        remote = self.provider.read_subscription(self.subscription)
        _check(
            not remote["schedule"] and not remote["cancel_at_period_end"], "the downgrade is still scheduled"
        )
        return "schedule released, cancel flag clear"

    def renewal(self) -> str:
        _start, end = subscription_period(self.provider.read_subscription(self.subscription))
        self.client.v1.test_helpers.test_clocks.advance(
            self.clock,
            params={"frozen_time": int(end.timestamp()) + DAY},
            options={"idempotency_key": self.key("advance")},
        )
        self.wait_for_clock()
        remote = self.provider.read_subscription(self.subscription)
        invoice = self.provider.read_invoice(remote["latest_invoice"])
        _check(
            (invoice["billing_reason"], invoice["status"]) == ("subscription_cycle", "paid"),
            invoice["status"],
        )
        return f"renewed by {invoice['id']}"

    def refund_after_upgrade(self) -> str:
        refunded = []
        for index, invoice_id in enumerate(self.invoices[1:], start=1):  # the upgrades: one refund each
            target = self.provider.paid_by(
                SimpleNamespace(metadata={"invoice": invoice_id}, external_id=invoice_id, pk=0)
            )
            refund = self.client.v1.refunds.create(
                params={**target, "metadata": {"rehearsal": self.run}},
                options={"idempotency_key": self.key(f"refund:{index}")},
            )
            _check(refund["status"] in ("succeeded", "pending"), refund["status"])
            refunded.append(refund["id"])
        return ", ".join(refunded)

    def auto_topup(self, token: str, expect: str) -> str:
        method = SimpleNamespace(external_id=self.card(token))
        result = self.provider.charge_saved_method(
            payment=self.payment(f"topup:{token}", amount="5.00"), payment_method=method
        )
        _check(result.status == expect, f"{result.status}: {result.failure_message}")
        return result.external_id or result.failure_message

    def dispute(self) -> str:
        intent = self.auto_topup("pm_card_createDispute", "succeeded")
        for _attempt in range(30):
            found = self.client.v1.disputes.list(params={"payment_intent": intent, "limit": 1})["data"]
            if found:
                return f"{found[0]['id']} ({found[0]['reason']})"
            time.sleep(settings.STRIPE_REHEARSAL_POLL_SECONDS)
        raise RehearsalFailed("Stripe opened no dispute")

    def cleanup(self) -> str:
        if self.clock:
            self.client.v1.test_helpers.test_clocks.delete(self.clock)
        return "test clock deleted"


class Command(BaseCommand):
    help = "Run Flowport's Stripe flows on a test clock in Stripe test mode; prints PASS/FAIL per step."

    def handle(self, *args, **options):
        if not settings.STRIPE_SECRET_KEY:
            raise CommandError("Set STRIPE_SECRET_KEY to a Stripe test-mode key (sk_test_…).")
        if settings.STRIPE_LIVE_MODE or settings.STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_")):
            raise CommandError("The rehearsal runs in test mode only: use an sk_test_… key.")
        rehearsal = Rehearsal(provider=RehearsalProvider())
        steps = [
            ("set up a test clock and a customer", rehearsal.setup),
            ("subscribe (Pro)", rehearsal.subscribe),
            ("upgrade (Pro -> Max)", rehearsal.upgrade),
            ("scheduled downgrade, then upgrade (Max -> Ultra)", rehearsal.downgrade_then_upgrade),
            ("renewal at the period end", rehearsal.renewal),
            ("refund after an upgrade", rehearsal.refund_after_upgrade),
            ("auto top-up with pm_card_visa", lambda: rehearsal.auto_topup("pm_card_visa", "succeeded")),
            (
                "auto top-up with pm_card_authenticationRequired fails",
                lambda: rehearsal.auto_topup("pm_card_authenticationRequired", "failed"),
            ),
            ("dispute with pm_card_createDispute", rehearsal.dispute),
        ]
        failed = 0
        blocked = False
        try:
            for name, step in steps:
                if blocked:
                    self.stdout.write(f"SKIP  {name}")
                    continue
                try:
                    detail = step()
                except Exception as error:  # report and go on: the rehearsal is a checklist
                    failed += 1
                    blocked = step in (rehearsal.setup, rehearsal.subscribe)
                    self.stdout.write(f"FAIL  {name}: {error}")
                else:
                    self.stdout.write(f"PASS  {name}: {detail}")
        finally:
            try:
                self.stdout.write(f"PASS  clean up: {rehearsal.cleanup()}")
            except Exception as error:
                failed += 1
                self.stdout.write(f"FAIL  clean up: {error} (delete test clock {rehearsal.clock} by hand)")
        if failed:
            raise CommandError(f"{failed} rehearsal step(s) failed.")
        self.stdout.write("All rehearsal steps passed.")
