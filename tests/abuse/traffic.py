"""Generated gateway traffic for the anomaly tests: every request goes through authorize and usage."""

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from apps.usage.services import client_info_clean, meter_authorize, meter_usage
from tests.api_keys.factories import make_key
from tests.usage.factories import cent_rate, make_plan, put_on_plan

CHAT = "deepseek/deepseek-chat"
_ids = itertools.count()
# A fixed "now" for the job, with the whole look-back period inside the accounts' billing period.
NOW = timezone.now().replace(minute=30, second=0, microsecond=0)


def customer(account, *, q5h="1000", rpm=1000):
    """Put an account on a plan at $0.01 per Flow (1 cent = 1 Flow); returns a subscription key's secret."""
    cent_rate()
    n = next(_ids)
    plan = make_plan(tier=f"t{n}", rank=100 + n, q5h=q5h, weekly="100000", monthly="100000", rpm=rpm)
    put_on_plan(account, plan, start=NOW - timedelta(days=20), end=NOW + timedelta(days=20))
    return make_key(account=account)[1]


def request(secret: str, at: datetime, *, ip: str | None = None, cost: str = "0.01") -> None:
    request_id = f"gen_abuse_{next(_ids)}"
    meter_authorize(
        request_id=request_id,
        api_key=secret,
        model=CHAT,
        estimated_cost_usd=Decimal(cost),
        now=at,
        client=client_info_clean(ip=ip, user_agent="test-agent/1.0" if ip else None),
    )
    meter_usage(request_id=request_id, input_tokens=10, output_tokens=5, cost_usd=Decimal(cost), now=at)
