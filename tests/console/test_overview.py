"""The console overview onboards (issue 19): plan, quota glance, wallet balance, key count, and a "get
started" checklist with the inference base URL and curl / OpenAI SDK / Anthropic SDK snippets."""

from decimal import Decimal

import pytest

from apps.api_keys.models import ApiKeyKind
from tests.api_keys.factories import make_key
from tests.wallet.factories import credit

pytestmark = pytest.mark.django_db


def step(html: str, name: str) -> str:
    return html.split(f'data-testid="step-{name}"')[1].split("</li>")[0]


def test_a_new_account_sees_what_to_do_first(user_client, settings):
    settings.FLOWPORT_INFERENCE_BASE_URL = "https://api.example.test/v1"
    html = user_client.get("/console/").content.decode()
    assert "Create a subscription key" in step(html, "key")
    assert "Done" not in step(html, "key") and "Done" not in step(html, "request")
    base = step(html, "base-url")
    assert 'id="inference-base-url" class="base-url">https://api.example.test/v1<' in base
    assert "curl https://api.example.test/v1/chat/completions" in base
    assert 'OpenAI(base_url="https://api.example.test/v1"' in base
    assert 'Anthropic(base_url="https://api.example.test/v1"' in base
    assert 'data-testid="overview-balance">$0.00<' in html
    assert 'data-testid="overview-key-count">0<' in html


def test_steps_are_ticked_off_and_the_cards_show_the_account(user_client, user):
    from django.utils import timezone

    from tests.refunds.factories import use_flows

    make_key(account=user, kind=ApiKeyKind.PAYG, name="laptop")
    make_key(account=user, kind=ApiKeyKind.MANAGEMENT, name="ops")
    credit(user, "12.50")
    use_flows(user, Decimal("1"), at=timezone.now())
    html = user_client.get("/console/").content.decode()
    assert "Done" in step(html, "key") and "Done" in step(html, "request")
    assert 'data-testid="overview-balance">$12.50<' in html
    assert 'data-testid="overview-key-count">2<' in html  # use_flows made a key too; management keys aside
    assert "1 management" in html


def test_the_overview_is_in_chinese(user_client):
    html = user_client.get("/zh-hans/console/").content.decode()
    assert "快速开始" in html and "创建 API Key" in html
