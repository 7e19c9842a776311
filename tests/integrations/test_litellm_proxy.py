"""End to end: the openai SDK → LiteLLM Proxy (integrations/litellm, pinned version, own uv env) → Flowport.

The portal runs as pytest-django's live server; LiteLLM Proxy runs once for this module on loopback with mock
models (`mock_response`: no upstream is called), loaded with the shipped config.yaml's plug-in settings. Success
callbacks run after the response is sent, so settlement is awaited (polling the database) before asserting.
"""

from __future__ import annotations

import shutil
import time
from decimal import Decimal

import httpx
import openai
import pytest
import yaml
from django.conf import settings

from apps.api_keys.models import ApiKeyKind, ApiKeyStatus
from apps.api_keys.services import api_key_set_status
from apps.usage.models import QuotaWindow, Reservation, ReservationStatus, UsageEvent
from apps.usage.services import meter_authorize, meter_usage
from tests.api_keys.factories import make_key
from tests.integrations.litellm_proxy import PROJECT, Proxy, sync_environment
from tests.usage.factories import cent_rate, gateway_client, make_plan, put_on_plan
from tests.wallet.factories import assert_ledger_consistent, credit

pytestmark = pytest.mark.django_db(transaction=True)

# Prices of the mock deployments (USD per token): LiteLLM computes response_cost from these.
INPUT_USD = Decimal("0.000001")
OUTPUT_USD = Decimal("0.000002")
CHAT = "deepseek/deepseek-chat"  # a Free-plan model
FAILING = "z-ai/glm-4.7"  # a Free-plan model whose mock deployment fails upstream
SLOW = "z-ai/glm-4.6v-flash"  # a Free-plan model whose mock deployment answers after 5 s
LONG = "z-ai/glm-4.6"  # a Free-plan model whose mock deployment streams a very long answer
MAX_ONLY = "openai/gpt-5-pro"  # needs Max or Ultra
REPLY = "Hello from the mock model."
SETTLE_TIMEOUT = 60  # a deadline for the callbacks that run after the response, not a measurement


def mock(model_name: str, response: str, **params) -> dict:
    return {
        "model_name": model_name,
        "litellm_params": {
            "model": "openai/flowport-mock",
            "api_key": "not-used",
            "mock_response": response,
            "input_cost_per_token": float(INPUT_USD),
            "output_cost_per_token": float(OUTPUT_USD),
            **params,
        },
    }


@pytest.fixture(scope="module")
def proxy(live_server, tmp_path_factory):
    sync_environment()
    shipped = yaml.safe_load((PROJECT / "config.yaml").read_text())
    config = {
        # The plug-in wiring exactly as shipped; only the models are mocks.
        "general_settings": shipped["general_settings"],
        "litellm_settings": {**shipped["litellm_settings"], "num_retries": 0},
        "router_settings": {"disable_cooldowns": True},
        "model_list": [
            mock(CHAT, REPLY),
            mock(MAX_ONLY, REPLY),
            mock(FAILING, "litellm.InternalServerError"),
            mock(SLOW, REPLY, mock_delay=5),
            mock(LONG, "word " * 1_000),
        ],
    }
    directory = tmp_path_factory.mktemp("litellm")
    for module in ("flowport_litellm.py", "flowport_gateway.py"):  # beside config.yaml, as the README says
        shutil.copy(PROJECT / module, directory / module)
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    server = Proxy(
        config=path,
        flowport_url=live_server.url,
        gateway_token=settings.GATEWAY_TOKEN,
        log=directory / "proxy.log",
    )
    yield server
    server.stop()


@pytest.fixture
def sdk(proxy):
    def client(secret: str) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=secret, max_retries=0, timeout=60)

    return client


@pytest.fixture
def on_plan(user):
    """$0.01 per Flow (so $0.000050 = 0.005 Flows) on a plan with room for everything but what a test uses up."""
    cent_rate()
    return put_on_plan(user, make_plan(q5h="10", weekly="30", monthly="50", rpm=1000))


def messages():
    return [{"role": "user", "content": "Say hello."}]


def cost(input_tokens: int, output_tokens: int) -> Decimal:
    return input_tokens * INPUT_USD + output_tokens * OUTPUT_USD


def settled(request_id: str, proxy) -> Reservation:
    """Wait for the proxy's callback to settle or release the reservation (it runs after the response)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        reservation = Reservation.objects.filter(request_id=request_id).first()
        if reservation is not None and reservation.status != ReservationStatus.ACTIVE:
            return reservation
        time.sleep(0.1)
    pytest.fail(f"Reservation {request_id} was not settled or released:\n{proxy.log()}")


def windows(user) -> dict:
    return {w.kind: (w.used_flows, w.reserved_flows) for w in QuotaWindow.objects.filter(account=user)}


def refusal(error: openai.APIStatusError) -> dict:
    return error.response.json()["error"]


def flowport_refusal(secret: str, model: str = CHAT) -> dict:
    """What Flowport itself answers for this key right now (a refusal reserves nothing)."""
    response = gateway_client().post(
        "/api/v1/gateway/authorize",
        {"request_id": "probe", "api_key": secret, "model": model},
        format="json",
    )
    assert response.status_code >= 400, response.json()
    return response.json()["error"]


def test_chat_completion_is_one_usage_event_with_litellms_cost_and_tokens(proxy, sdk, user, on_plan):
    key, secret = make_key(account=user)
    raw = sdk(secret).chat.completions.with_raw_response.create(model=CHAT, messages=messages())
    completion = raw.parse()
    request_id = raw.headers["x-litellm-call-id"]
    assert completion.choices[0].message.content == REPLY

    reservation = settled(request_id, proxy)
    assert reservation.status == ReservationStatus.SETTLED
    event = UsageEvent.objects.get(api_key=key)
    expected = cost(completion.usage.prompt_tokens, completion.usage.completion_tokens)
    assert (event.request_id, event.input_tokens, event.output_tokens) == (
        request_id,
        completion.usage.prompt_tokens,
        completion.usage.completion_tokens,
    )
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (10, 20)
    assert expected == Decimal("0.000050")
    assert (event.billed_to, event.cost_usd, event.flows) == ("subscription", expected, Decimal("0.005"))
    assert windows(user) == {
        kind: (Decimal("0.005"), Decimal("0")) for kind in ("five_hour", "weekly", "monthly")
    }
    key.refresh_from_db()
    assert (key.request_count, key.used_flows) == (1, Decimal("0.005"))


def test_streamed_completion_is_settled_once_when_the_stream_ends(proxy, sdk, user, on_plan):
    key, secret = make_key(account=user)
    with sdk(secret).chat.completions.with_streaming_response.create(
        model=CHAT, messages=messages(), stream=True, stream_options={"include_usage": True}
    ) as raw:
        request_id = raw.headers["x-litellm-call-id"]
        chunks = list(raw.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == REPLY
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens > 0

    reservation = settled(request_id, proxy)
    assert reservation.status == ReservationStatus.SETTLED
    events = list(UsageEvent.objects.filter(api_key=key))
    assert len(events) == 1
    expected = cost(usage.prompt_tokens, usage.completion_tokens)
    assert (events[0].request_id, events[0].input_tokens, events[0].output_tokens, events[0].cost_usd) == (
        request_id,
        usage.prompt_tokens,
        usage.completion_tokens,
        expected,
    )
    assert events[0].flows == expected / Decimal("0.01")


def test_pay_as_you_go_request_is_charged_to_the_wallet(proxy, sdk, user):
    key, secret = make_key(account=user, kind=ApiKeyKind.PAYG)
    credit(user, "1.00")
    raw = sdk(secret).chat.completions.with_raw_response.create(model=MAX_ONLY, messages=messages())
    completion = raw.parse()
    reservation = settled(raw.headers["x-litellm-call-id"], proxy)
    assert reservation.status == ReservationStatus.SETTLED

    expected = cost(completion.usage.prompt_tokens, completion.usage.completion_tokens)
    assert expected == Decimal("0.000050")
    event = UsageEvent.objects.get(api_key=key)
    assert (event.billed_to, event.cost_usd, event.flows) == ("payg", expected, Decimal("0"))
    wallet = assert_ledger_consistent(user)
    assert (wallet.total_balance, wallet.reserved_usd) == (Decimal("0.999950"), Decimal("0"))
    assert QuotaWindow.objects.filter(account=user, used_flows__gt=0).count() == 0


def test_used_up_window_gets_402_with_flowports_message(proxy, sdk, user, on_plan):
    key, secret = make_key(account=user)
    meter_authorize(request_id="earlier", api_key=key, model=CHAT)
    meter_usage(request_id="earlier", input_tokens=1, output_tokens=1, cost_usd=Decimal("0.10"))  # 10 Flows
    expected = flowport_refusal(secret)
    before = (windows(user), Reservation.objects.count(), UsageEvent.objects.count())

    with pytest.raises(openai.APIStatusError) as caught:
        sdk(secret).chat.completions.create(model=CHAT, messages=messages())
    assert caught.value.status_code == 402
    error = refusal(caught.value)
    assert (error["type"], error["message"]) == ("quota_exceeded", expected["message"])
    assert error["message"] == "Your subscription quota is used up until its window resets."
    assert (windows(user), Reservation.objects.count(), UsageEvent.objects.count()) == before


def test_disabled_key_gets_403(proxy, sdk, user, on_plan):
    key, secret = make_key(account=user)
    api_key_set_status(account=user, key_id=key.pk, status=ApiKeyStatus.DISABLED)
    with pytest.raises(openai.PermissionDeniedError) as caught:
        sdk(secret).chat.completions.create(model=CHAT, messages=messages())
    assert caught.value.status_code == 403
    assert refusal(caught.value)["type"] == "access_denied"
    assert refusal(caught.value)["message"] == "This API key is disabled."
    assert Reservation.objects.count() == 0


def test_model_outside_the_plan_gets_404(proxy, sdk, user):
    key, secret = make_key(account=user)  # a new account is on Free
    expected = flowport_refusal(secret, MAX_ONLY)
    with pytest.raises(openai.NotFoundError) as caught:
        sdk(secret).chat.completions.create(model=MAX_ONLY, messages=messages())
    error = refusal(caught.value)
    assert (caught.value.status_code, error["type"], error["message"]) == (
        404,
        "model_not_available",
        expected["message"],
    )
    assert f"Model {MAX_ONLY} is not included in the Free plan." in error["message"]
    assert Reservation.objects.count() == 0


def test_rpm_over_the_limit_gets_429_with_retry_after(proxy, sdk, user):
    cent_rate()
    put_on_plan(user, make_plan(rpm=2))
    key, secret = make_key(account=user)
    client = sdk(secret)
    client.chat.completions.create(model=CHAT, messages=messages())
    client.chat.completions.create(model=CHAT, messages=messages())
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model=CHAT, messages=messages())
    assert caught.value.status_code == 429
    error = refusal(caught.value)
    assert (error["type"], error["message"]) == (
        "rate_limit",
        "Rate limit exceeded: at most 2 requests per minute on your plan.",
    )
    assert 1 <= int(caught.value.response.headers["retry-after"]) <= 60
    assert Reservation.objects.filter(api_key=key).count() == 2


def test_upstream_failure_releases_the_reservation(proxy, sdk, user, on_plan):
    key, secret = make_key(account=user)
    with pytest.raises(openai.InternalServerError) as caught:
        sdk(secret).chat.completions.with_raw_response.create(model=FAILING, messages=messages())
    reservation = Reservation.objects.get(api_key=key)
    assert caught.value.response.headers["x-litellm-call-id"] == reservation.request_id
    assert settled(reservation.request_id, proxy).status == ReservationStatus.RELEASED
    assert UsageEvent.objects.count() == 0
    assert all(reserved == Decimal("0") for _used, reserved in windows(user).values())
    key.refresh_from_db()
    assert key.request_count == 0


def test_non_flowport_key_and_client_chosen_call_id_are_refused(proxy, user, on_plan):
    key, secret = make_key(account=user)
    body = {"model": CHAT, "messages": messages()}
    url = f"{proxy.url}/v1/chat/completions"
    response = httpx.post(url, json=body, headers={"Authorization": "Bearer sk-1234"}, timeout=30)
    assert response.status_code == 401
    # A client-chosen call id could replay an earlier request's (settled once) id: refused before metering.
    response = httpx.post(
        url,
        json=body,
        headers={"Authorization": f"Bearer {secret}", "x-litellm-call-id": "replayed-id"},
        timeout=30,
    )
    assert response.status_code == 400
    assert "x-litellm-call-id" in response.json()["error"]["message"]
    assert Reservation.objects.count() == 0


def test_client_disconnect_releases_the_reservation(proxy, user, on_plan):
    key, secret = make_key(account=user)
    with pytest.raises(httpx.ReadTimeout):  # the client gives up and closes the connection
        httpx.post(
            f"{proxy.url}/v1/chat/completions",
            json={"model": SLOW, "messages": messages()},
            headers={"Authorization": f"Bearer {secret}"},
            timeout=httpx.Timeout(30, read=1),
        )
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while not Reservation.objects.filter(api_key=key).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    reservation = Reservation.objects.get(api_key=key)
    assert settled(reservation.request_id, proxy).status == ReservationStatus.RELEASED
    assert UsageEvent.objects.count() == 0
    assert all(reserved == Decimal("0") for _used, reserved in windows(user).values())


def test_client_disconnect_mid_stream_releases_the_reservation(proxy, user, on_plan):
    key, secret = make_key(account=user)
    with httpx.stream(
        "POST",
        f"{proxy.url}/v1/chat/completions",
        json={"model": LONG, "messages": messages(), "stream": True},
        headers={"Authorization": f"Bearer {secret}"},
        timeout=30,
    ) as response:
        assert response.status_code == 200
        request_id = response.headers["x-litellm-call-id"]
        next(response.iter_lines())  # the first chunk, then the client goes away
    assert settled(request_id, proxy).status == ReservationStatus.RELEASED
    assert UsageEvent.objects.count() == 0
    assert all(reserved == Decimal("0") for _used, reserved in windows(user).values())


def test_the_end_clients_address_and_user_agent_reach_flowport_bounded(proxy, user, on_plan):
    """The plug-in passes LiteLLM's requester IP and User-Agent as `client` (SPEC §7); a User-Agent longer
    than Flowport's bound is cut, never a refused request."""
    key, secret = make_key(account=user)
    response = httpx.post(
        f"{proxy.url}/v1/chat/completions",
        json={"model": CHAT, "messages": messages()},
        headers={"Authorization": f"Bearer {secret}", "User-Agent": "agent/" + "x" * 700},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    reservation = settled(response.headers["x-litellm-call-id"], proxy)
    assert reservation.status == ReservationStatus.SETTLED
    event = UsageEvent.objects.get(api_key=key)
    assert event.client_user_agent == ("agent/" + "x" * 700)[:512]
    assert event.client_ip in (None, "127.0.0.1")
