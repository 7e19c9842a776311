"""The reusable gateway client (integrations/litellm/flowport_gateway.py), sync and async.

Retries are exercised against a real local HTTP server that drops connections, stalls and answers 503 on cue;
the wire format against the real portal (live server).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings

from apps.usage.models import Reservation, ReservationStatus, UsageEvent
from integrations.litellm.flowport_gateway import (
    AsyncGatewayClient,
    Authorization,
    GatewayClient,
    GatewayConfig,
    GatewayRefused,
    GatewayUnavailable,
    Release,
    Settlement,
)
from tests.api_keys.factories import make_key
from tests.integrations.litellm_proxy import free_port
from tests.usage.factories import cent_rate, make_plan, put_on_plan

GRANT = {
    "request_id": "gen_1",
    "decision": "subscription",
    "extra_usage": False,
    "account_id": 7,
    "key_id": 9,
    "reserved_flows": "5.000000",
    "rpm_remaining": 14,
}
AUTHORIZE = {"request_id": "gen_1", "api_key": "sk-ss-v1-abc", "model": "deepseek/deepseek-chat"}


class ScriptedServer:
    """Answers each POST with the next step of its script; records every request it read."""

    def __init__(self, script: list):
        self.script = list(script)
        self.requests: list[tuple[str, dict, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append((self.path, body, self.headers.get("Authorization")))
                step = server.script.pop(0) if server.script else ("json", 500, {})
                if step[0] == "drop":  # close the connection without an answer
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if step[0] == "stall":  # answer only after the client's timeout
                    time.sleep(step[1])
                    step = ("json", 200, {"success": True, "data": GRANT})
                _kind, status, payload, *headers = step
                data = json.dumps(payload).encode() if isinstance(payload, dict) else payload
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers[0] if headers else {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.httpd.handle_error = lambda request, address: None  # a stalled answer to a gone client
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    servers = []

    def start(*script):
        servers.append(ScriptedServer(list(script)))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def config(url: str, **kwargs) -> GatewayConfig:
    return GatewayConfig(
        base_url=url, token="tok", **{"timeout": 0.5, "retries": 2, "backoff": 0.01, **kwargs}
    )


def ok(data=GRANT):
    return ("json", 200, {"success": True, "data": data})


EXPECTED_GRANT = Authorization(
    request_id="gen_1",
    decision="subscription",
    extra_usage=False,
    account_id=7,
    key_id=9,
    reserved_flows=Decimal("5.000000"),
    reserved_usd=None,
    rpm_remaining=14,
)


def authorize_sync(url, **kwargs):
    with GatewayClient(config(url, **kwargs)) as client:
        return client.authorize(**AUTHORIZE)


def authorize_async(url, **kwargs):
    async def run():
        async with AsyncGatewayClient(config(url, **kwargs)) as client:
            return await client.authorize(**AUTHORIZE)

    # A loop of its own in another thread: the browser tests' Playwright keeps one running in this thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


BOTH = pytest.mark.parametrize("authorize", [authorize_sync, authorize_async], ids=["sync", "async"])


@BOTH
def test_dropped_connections_and_503_are_retried_with_the_same_request(server, authorize):
    s = server(("drop",), ("json", 503, b"busy"), ok())
    assert authorize(s.url) == EXPECTED_GRANT
    assert len(s.requests) == 3
    assert {json.dumps(body, sort_keys=True) for _path, body, _auth in s.requests} == {
        json.dumps(AUTHORIZE, sort_keys=True)
    }
    assert {(path, auth) for path, _body, auth in s.requests} == {("/api/v1/gateway/authorize", "Bearer tok")}


@BOTH
def test_a_read_timeout_is_retried(server, authorize):
    s = server(("stall", 1.5), ok())
    assert authorize(s.url) == EXPECTED_GRANT
    assert len(s.requests) == 2


@BOTH
def test_gives_up_after_the_retries(server, authorize):
    s = server(("drop",), ("drop",), ("drop",), ok())
    with pytest.raises(GatewayUnavailable):
        authorize(s.url)
    assert len(s.requests) == 3  # 1 + retries; the fourth step was never asked for


@BOTH
def test_a_refusal_is_final_and_carries_status_type_message_and_retry_after(server, authorize):
    error = {"code": "429", "type": "rate_limit", "message": "Rate limit exceeded."}
    s = server(("json", 429, {"success": False, "error": error}, {"Retry-After": "17"}), ok())
    with pytest.raises(GatewayRefused) as caught:
        authorize(s.url)
    refused = caught.value
    assert (refused.status, refused.type, refused.message, refused.retry_after) == (
        429,
        "rate_limit",
        "Rate limit exceeded.",
        17,
    )
    assert len(s.requests) == 1


@BOTH
def test_an_answer_that_is_not_flowports_is_not_retried(server, authorize):
    s = server(("json", 500, b"<html>oops</html>"), ok())
    with pytest.raises(GatewayUnavailable):
        authorize(s.url)
    assert len(s.requests) == 1


@BOTH
def test_nobody_listening_is_unavailable(authorize):
    port = free_port()  # bound by nobody
    with pytest.raises(GatewayUnavailable):
        authorize(f"http://127.0.0.1:{port}", retries=1)


def test_config_from_env():
    env = {"FLOWPORT_URL": "http://p.example/", "FLOWPORT_GATEWAY_TOKEN": "t", "FLOWPORT_TIMEOUT": "2.5"}
    cfg = GatewayConfig.from_env(env)
    assert (cfg.url("usage"), cfg.token, cfg.timeout, cfg.retries) == (
        "http://p.example/api/v1/gateway/usage",
        "t",
        2.5,
        2,
    )
    with pytest.raises(ValueError, match="FLOWPORT_URL"):
        GatewayConfig.from_env({"FLOWPORT_GATEWAY_TOKEN": "t"})
    with pytest.raises(ValueError, match="FLOWPORT_GATEWAY_TOKEN"):
        GatewayConfig.from_env({"FLOWPORT_URL": "http://p.example"})
    with pytest.raises(ValueError, match="FLOWPORT_TIMEOUT"):
        GatewayConfig.from_env({**env, "FLOWPORT_TIMEOUT": "soon"})
    with pytest.raises(ValueError, match="FLOWPORT_RETRIES"):
        GatewayConfig.from_env({**env, "FLOWPORT_RETRIES": "-1"})


@pytest.mark.django_db(transaction=True)
def test_round_trip_against_the_portal(live_server, user):
    """authorize → usage (replayed) and authorize → release, over HTTP against the real gateway API."""
    cent_rate()
    put_on_plan(user, make_plan())
    key, secret = make_key(account=user)
    cfg = GatewayConfig(base_url=live_server.url, token=settings.GATEWAY_TOKEN)
    with GatewayClient(cfg) as client:
        grant = client.authorize(
            request_id="rt-1",
            api_key=secret,
            model="deepseek/deepseek-chat",
            estimated_cost_usd=Decimal("0.05"),
        )
        assert grant == Authorization(
            request_id="rt-1",
            decision="subscription",
            extra_usage=False,
            account_id=user.pk,
            key_id=key.pk,
            reserved_flows=Decimal("5"),
            reserved_usd=None,
            rpm_remaining=grant.rpm_remaining,
        )
        settlement = client.usage(request_id="rt-1", input_tokens=10, output_tokens=20, cost_usd="0.000420")
        expected = Settlement(
            request_id="rt-1",
            billed_to="subscription",
            extra_usage=False,
            flows=Decimal("0.042"),
            cost_usd=Decimal("0.00042"),
        )
        assert settlement == expected
        assert client.usage(request_id="rt-1", input_tokens=10, output_tokens=20, cost_usd="9") == expected

        client.authorize(request_id="rt-2", api_key=secret, model="deepseek/deepseek-chat")
        assert client.release(request_id="rt-2") == Release(request_id="rt-2", status="released")
        assert client.release(request_id="rt-2") == Release(request_id="rt-2", status="released")  # replay
        assert client.release(request_id="rt-1") == Release(request_id="rt-1", status="settled")  # too late
        with pytest.raises(GatewayRefused) as caught:
            client.release(request_id="never-authorized")
        assert (caught.value.status, caught.value.type) == (409, "not_authorized")

    assert list(UsageEvent.objects.values_list("request_id", "cost_usd")) == [("rt-1", Decimal("0.00042"))]
    assert dict(Reservation.objects.values_list("request_id", "status")) == {
        "rt-1": ReservationStatus.SETTLED,
        "rt-2": ReservationStatus.RELEASED,
    }
