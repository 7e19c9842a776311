from decimal import Decimal

import factory
from rest_framework.test import APIClient

from apps.plans.models import CatalogModel, Plan
from apps.usage.models import Decision, UsageEvent
from tests.accounts.factories import UserFactory
from tests.api_keys.factories import ApiKeyFactory
from tests.plans.factories import FlowRateFactory, PlanFactory, put_on_plan  # noqa: F401 -- shared setup

GATEWAY_HEADERS = {"HTTP_AUTHORIZATION": "Bearer test-gateway-token"}


def make_plan(*, tier="test", rank=10, q5h="10", weekly="30", monthly="50", rpm=1000, price="50") -> Plan:
    """Plans are data: a plan made for a test, ranked above every seeded plan (all models included)."""
    return PlanFactory(
        tier=tier,
        rank=rank,
        price_usd=Decimal(price),
        quota_5h_flows=Decimal(q5h),
        weekly_max_flows=Decimal(weekly),
        monthly_max_flows=Decimal(monthly),
        rpm=rpm,
    )


class UsageEventFactory(factory.django.DjangoModelFactory):
    """A settled request as the metering ledger records it (no windows or wallet touched).

    Billed to the subscription through a new key of the account unless told; trait: `payg=True`.
    """

    class Meta:
        model = UsageEvent

    request_id = factory.Sequence(lambda n: f"gen_test_{n}")
    account = factory.SubFactory(UserFactory)
    api_key = factory.SubFactory(ApiKeyFactory, account=factory.SelfAttribute("..account"))
    model = factory.LazyFunction(lambda: CatalogModel.objects.get(slug="deepseek/deepseek-chat"))
    cost_usd = Decimal("0")
    flows = Decimal("0")
    billed_to = Decision.SUBSCRIPTION

    class Params:
        payg = factory.Trait(billed_to=Decision.PAYG)


def cent_rate() -> Decimal:
    """Make the base rate $0.01 per Flow from now on, so $0.05 = 5 Flows exactly."""
    return FlowRateFactory(usd_per_flow=Decimal("0.01")).usd_per_flow


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
