from datetime import datetime, timedelta
from decimal import Decimal
from itertools import count

from django.utils import timezone
from rest_framework.test import APIClient

from apps.api_keys.models import ApiKeyKind
from apps.plans.models import Subscription
from apps.usage.services import meter_authorize, meter_usage
from tests.api_keys.factories import make_key
from tests.plans.factories import put_on_plan

BASE = "/api/v1/management/"
MODEL = "deepseek/deepseek-chat"
_request_ids = count(1)


def management_client(account, *, name="Scripts") -> tuple[APIClient, object]:
    """An API client sending a fresh management key of `account`; returns (client, key)."""
    key, secret = make_key(account=account, kind=ApiKeyKind.MANAGEMENT, name=name)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client, key


def get(client, path: str, **params):
    return client.get(BASE + path, params)


def on_plan(account, tier: str, *, start: datetime, days: int = 30) -> Subscription:
    """Put the account on a seeded plan with a cycle [start, start + days)."""
    return put_on_plan(account, tier, start=start, end=start + timedelta(days=days))


def metered(
    secret_or_key,
    *,
    cost: str,
    at: datetime | None = None,
    model: str = MODEL,
    input_tokens: int = 100,
    output_tokens: int = 50,
    request_id: str | None = None,
):
    """One request through the metering services (authorize + usage) at a controlled time."""
    at = at or timezone.now()
    request_id = request_id or f"gen_{next(_request_ids)}"
    meter_authorize(
        request_id=request_id, api_key=secret_or_key, model=model, estimated_cost_usd=Decimal(cost), now=at
    )
    return meter_usage(
        request_id=request_id,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=Decimal(cost),
        now=at,
    )


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
