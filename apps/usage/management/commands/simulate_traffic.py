"""Produce realistic demo usage by driving the real metering services (authorize → usage | release).

Requests are laid on a fixed time grid (aligned to the epoch) over the last days, with deterministic
request ids and a deterministic random choice per grid point, and each run continues from where the
previous one stopped (an audit event records it): re-running adds only the new grid points.
"""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.translation import gettext_noop

from apps.accounts.models import User
from apps.api_keys.models import ApiKey, ApiKeyKind
from apps.api_keys.services import api_key_create
from apps.core.models import AuditEvent
from apps.core.money import round_usage
from apps.core.services import audit_record
from apps.plans.models import CatalogModel, ModelCategory, ModelStatus, Subscription
from apps.usage.exceptions import MeteringRefused
from apps.usage.services import ClientInfo, meter_authorize, meter_release, meter_usage
from apps.wallet.models import GrantSource
from apps.wallet.services import wallet_credit

GRID = timedelta(minutes=17)
# Key names are the customer's data, stored once: the demo's read in both languages of the console. The
# English-only names of earlier demo databases still count (no second set of keys on a re-run).
SIMULATED_KEYS = [
    (ApiKeyKind.SUBSCRIPTION, "Simulated: laptop · 模拟：笔记本", "Simulated: laptop"),
    (ApiKeyKind.SUBSCRIPTION, "Simulated: CI · 模拟：CI", "Simulated: CI"),
    (ApiKeyKind.PAYG, "Simulated: batch jobs · 模拟：批处理", "Simulated: batch jobs"),
]
# Prices used when a model has no list prices (the gateway then reports cost_usd itself).
FALLBACK_USD_PER_MTOK = (Decimal("0.50"), Decimal("2.00"))
MILLION = Decimal("1000000")
EVENT = "usage.simulated"
DEMO_GIFT_USD = Decimal("20")


def _grid_points(start: datetime, end: datetime):
    step = int(GRID.total_seconds())
    first = (int(start.timestamp()) // step + 1) * step
    for ts in range(first, int(end.timestamp()) + 1, step):
        yield datetime.fromtimestamp(ts, tz=UTC)


class Command(BaseCommand):
    help = "Simulate gateway traffic for the demo accounts through the metering services (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=3, help="How far back to start on the first run.")
        parser.add_argument(
            "--email",
            action="append",
            help="Account(s) to simulate (default: the *@flowport.local customers).",
        )

    def handle(self, *args, days: int = 3, email=None, **options):
        now = timezone.now()
        accounts = User.objects.filter(is_staff=False)
        accounts = (
            accounts.filter(email__in=email) if email else accounts.filter(email__endswith="@flowport.local")
        )
        for account in accounts.order_by("pk"):
            self._simulate(account, now=now, days=days)

    def _keys(self, account) -> list[ApiKey]:
        keys = list(
            ApiKey.objects.live().filter(account=account, kind__in=[ApiKeyKind.SUBSCRIPTION, ApiKeyKind.PAYG])
        )
        names = {key.name for key in keys}
        for kind, name, legacy_name in SIMULATED_KEYS:
            if name not in names and legacy_name not in names:
                keys.append(api_key_create(account=account, kind=kind, name=name)[0])
        return sorted((key for key in keys if key.is_enabled), key=lambda key: key.pk)

    def _simulate(self, account, *, now: datetime, days: int) -> None:
        last = (
            AuditEvent.objects.filter(account=account, event_type=EVENT)
            .order_by("-created_at", "-id")
            .first()
        )
        start = datetime.fromisoformat(last.details["until"]) if last else now - timedelta(days=days)
        keys = self._keys(account)
        # Demo credits so the pay-as-you-go key has something to spend (once per account: idempotency key).
        wallet_credit(
            account=account,
            amount=DEMO_GIFT_USD,
            source_type=GrantSource.GIFT,
            idempotency_key=f"demo:simulate_traffic:{account.pk}",
            description=gettext_noop("Demo credits for simulated traffic"),  # shown translated
        )
        plan = Subscription.objects.select_related("plan").get(account=account).plan
        models = list(
            CatalogModel.objects.filter(status=ModelStatus.AVAILABLE, category=ModelCategory.TEXT)
            .select_related("min_plan")
            .order_by("provider", "sort_order", "slug")
        )
        counts = {"settled": 0, "released": 0, "refused": 0, "replayed": 0}
        for moment in _grid_points(start, now):
            rng = random.Random(f"{account.pk}:{int(moment.timestamp())}")  # noqa: S311 -- a reproducible demo stream
            busy = 0.75 if 8 <= moment.hour < 20 else 0.2  # more traffic in the (UTC) daytime
            if rng.random() > busy:
                continue
            key = rng.choice(keys)
            allowed = [m for m in models if key.kind == ApiKeyKind.PAYG or m.min_plan.rank <= plan.rank]
            if not allowed:
                continue
            model = rng.choice(allowed[:12])
            input_tokens, output_tokens = rng.randint(200, 6000), rng.randint(50, 1500)
            cost = None if model.has_list_prices else self._fallback_cost(input_tokens, output_tokens)
            estimate = round_usage(
                (cost or self._fallback_cost(input_tokens, output_tokens)) * Decimal("1.5")
            )
            request_id = f"sim-{account.pk}-{int(moment.timestamp())}"
            try:
                authorized = meter_authorize(
                    request_id=request_id,
                    api_key=key,
                    model=model.slug,
                    estimated_cost_usd=estimate,
                    now=moment,
                    # Two documentation addresses (RFC 5737), before and after noon UTC, for the Abuse review demo.
                    client=ClientInfo(ip=f"192.0.2.{10 + moment.hour // 12}", user_agent="flowport-demo/1.0"),
                )
            except MeteringRefused:
                counts["refused"] += 1
                continue
            if authorized.replayed:
                counts["replayed"] += 1
                continue
            done = moment + timedelta(seconds=rng.randint(1, 40))
            if rng.random() < 0.04:  # the upstream call failed
                meter_release(request_id=request_id, now=done)
                counts["released"] += 1
                continue
            meter_usage(
                request_id=request_id,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cost_usd=cost,
                now=done,
            )
            counts["settled"] += 1
        audit_record(event_type=EVENT, account=account, details={"until": now.isoformat(), **counts})
        self.stdout.write(
            f"{account.email}: {counts['settled']} settled, {counts['released']} released, "
            f"{counts['refused']} refused, {counts['replayed']} already simulated"
        )

    @staticmethod
    def _fallback_cost(input_tokens: int, output_tokens: int) -> Decimal:
        price_in, price_out = FALLBACK_USD_PER_MTOK
        return round_usage(
            Decimal(input_tokens) * price_in / MILLION + Decimal(output_tokens) * price_out / MILLION
        )
