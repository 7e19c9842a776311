from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone
from rest_framework.test import APIClient

from apps.plans.models import FlowRate, Plan, Subscription

GATEWAY_HEADERS = {"HTTP_AUTHORIZATION": "Bearer test-gateway-token"}


def make_plan(*, tier="test", rank=10, q5h="10", weekly="30", monthly="50", rpm=1000, price="50") -> Plan:
    """Plans are data: a plan made for a test, ranked above every seeded plan (all models included)."""
    return Plan.objects.create(
        tier=tier,
        name=tier.title(),
        rank=rank,
        price_usd=Decimal(price),
        quota_5h_flows=Decimal(q5h),
        weekly_max_flows=Decimal(weekly),
        monthly_max_flows=Decimal(monthly),
        rpm=rpm,
    )


def put_on_plan(account, plan: Plan, *, start: datetime | None = None, months_end: datetime | None = None):
    start = start or timezone.now() - timedelta(days=1)
    end = months_end or start + timedelta(days=30)
    Subscription.objects.filter(account=account).update(
        plan=plan, current_period_start=start, current_period_end=end
    )
    return Subscription.objects.select_related("plan").get(account=account)


def cent_rate() -> Decimal:
    """Make the base rate $0.01 per Flow from now on, so $0.05 = 5 Flows exactly."""
    FlowRate.objects.create(usd_per_flow=Decimal("0.01"), effective_from=timezone.now())
    return Decimal("0.01")


def gateway_client() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer test-gateway-token")
    return client


def authorize(client, request_id, secret, model="deepseek/deepseek-chat", estimate="0.05"):
    body = {"request_id": request_id, "api_key": secret, "model": model}
    if estimate is not None:
        body["estimated_cost_usd"] = estimate
    return client.post("/api/v1/gateway/authorize", body, format="json")


def usage(client, request_id, cost="0.05", input_tokens=100, output_tokens=50):
    body = {"request_id": request_id, "input_tokens": input_tokens, "output_tokens": output_tokens}
    if cost is not None:
        body["cost_usd"] = cost
    return client.post("/api/v1/gateway/usage", body, format="json")


def release(client, request_id):
    return client.post("/api/v1/gateway/release", {"request_id": request_id}, format="json")
