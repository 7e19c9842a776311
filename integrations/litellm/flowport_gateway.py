"""A small client for Flowport's gateway metering API (SPEC §7), sync and async, for any inference gateway.

    client = GatewayClient.from_env()            # FLOWPORT_URL, FLOWPORT_GATEWAY_TOKEN
    grant = client.authorize(request_id="gen_1", api_key="sk-ss-v1-…", model="deepseek/deepseek-chat")
    ... call the model ...
    client.usage(request_id="gen_1", input_tokens=10, output_tokens=20, cost_usd=Decimal("0.0004"))
    # or, if the upstream call failed: client.release(request_id="gen_1")

Every call is idempotent on `request_id` (a replayed authorize reserves nothing more, a replayed usage bills
nothing more, a replayed release changes nothing), so the client retries a call whose answer it did not get:
connection errors, timeouts, and 502/503/504 from a proxy in front of Flowport. Any other answer is final.

Only depends on httpx. Errors:
- `GatewayRefused`: Flowport answered with its error body (402 quota_exceeded, 403 access_denied, 429 rate_limit
  with `retry_after`, 409 not_authorized, ...). Pass `status`, `type` and `message` on to the end client.
- `GatewayUnavailable`: no usable answer after the retries (Flowport down, timing out, or answering garbage).
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

__all__ = [
    "AsyncGatewayClient",
    "Authorization",
    "GatewayClient",
    "GatewayConfig",
    "GatewayError",
    "GatewayRefused",
    "GatewayUnavailable",
    "Release",
    "Settlement",
]

RETRY_STATUSES = frozenset({502, 503, 504})


class GatewayError(Exception):
    """Base class of the client's errors."""


class GatewayRefused(GatewayError):
    """Flowport answered with an error body: the request is refused (or the call was invalid)."""

    def __init__(
        self,
        status: int,
        type: str,
        message: str,
        *,
        retry_after: int | None = None,
        resets_at: str | None = None,
    ):
        super().__init__(f"{status} {type}: {message}")
        self.status = status
        self.type = type
        self.message = message
        self.retry_after = retry_after
        self.resets_at = resets_at


class GatewayUnavailable(GatewayError):
    """No usable answer from Flowport after every attempt (connection error, timeout, 5xx, not our JSON)."""


@dataclass(frozen=True)
class Authorization:
    request_id: str
    decision: str  # "subscription" | "payg"
    extra_usage: bool
    account_id: int
    key_id: int
    reserved_flows: Decimal | None
    reserved_usd: Decimal | None
    rpm_remaining: int | None


@dataclass(frozen=True)
class Settlement:
    request_id: str
    billed_to: str
    extra_usage: bool
    flows: Decimal
    cost_usd: Decimal


@dataclass(frozen=True)
class Release:
    request_id: str
    status: str  # the reservation's state after the call: "released", or "settled" if usage came first


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@dataclass(frozen=True)
class GatewayConfig:
    """Where Flowport is, how to authenticate, and how long to wait.

    `timeout` bounds each attempt (connect, read, write, pool); `retries` is how many more attempts a call
    gets after the first one failed without an answer; `backoff` is the first pause between attempts
    (doubled each time, at most 2 s).
    """

    base_url: str
    token: str
    timeout: float = 5.0
    retries: int = 2
    backoff: float = 0.2

    def __post_init__(self):
        if not self.base_url:
            raise ValueError("Flowport URL is not set (FLOWPORT_URL)")
        if not self.token:
            raise ValueError("Flowport gateway token is not set (FLOWPORT_GATEWAY_TOKEN)")
        if self.retries < 0:
            raise ValueError("retries must not be negative")

    @classmethod
    def from_env(cls, environ: dict | None = None) -> GatewayConfig:
        env = os.environ if environ is None else environ
        retries_raw = (env.get("FLOWPORT_RETRIES") or "2").strip()
        if not retries_raw.isdigit():
            raise ValueError(f"FLOWPORT_RETRIES must be a whole number, not {retries_raw!r}")
        return cls(
            base_url=(env.get("FLOWPORT_URL") or "").strip(),
            token=(env.get("FLOWPORT_GATEWAY_TOKEN") or "").strip(),
            timeout=_float(env, "FLOWPORT_TIMEOUT", 5.0),
            retries=int(retries_raw),
            backoff=_float(env, "FLOWPORT_RETRY_BACKOFF", 0.2),
        )

    def pause(self, attempt: int) -> float:
        return min(2.0, self.backoff * (2**attempt))

    def url(self, operation: str) -> str:
        return f"{self.base_url.rstrip('/')}/api/v1/gateway/{operation}"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}


def _float(env, name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as error:
        raise ValueError(f"{name} must be a number of seconds, not {raw!r}") from error
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return value


def _authorize_body(request_id, api_key, model, estimated_cost_usd, client) -> dict:
    body: dict[str, Any] = {"request_id": request_id, "api_key": api_key, "model": model}
    if estimated_cost_usd is not None:
        body["estimated_cost_usd"] = str(estimated_cost_usd)
    if client:
        body["client"] = client
    return body


def _usage_body(request_id, input_tokens, output_tokens, cost_usd) -> dict:
    body: dict[str, Any] = {
        "request_id": request_id,
        "input_tokens": int(input_tokens),
        "output_tokens": int(output_tokens),
    }
    if cost_usd is not None:
        body["cost_usd"] = str(cost_usd)
    return body


def _authorization(data: dict) -> Authorization:
    return Authorization(
        request_id=data["request_id"],
        decision=data["decision"],
        extra_usage=bool(data.get("extra_usage")),
        account_id=data["account_id"],
        key_id=data["key_id"],
        reserved_flows=_decimal(data.get("reserved_flows")),
        reserved_usd=_decimal(data.get("reserved_usd")),
        rpm_remaining=data.get("rpm_remaining"),
    )


def _settlement(data: dict) -> Settlement:
    return Settlement(
        request_id=data["request_id"],
        billed_to=data["billed_to"],
        extra_usage=bool(data.get("extra_usage")),
        flows=Decimal(str(data["flows"])),
        cost_usd=Decimal(str(data["cost_usd"])),
    )


def _release(data: dict) -> Release:
    return Release(request_id=data["request_id"], status=data["status"])


def _retry_after(response: httpx.Response) -> int | None:
    raw = response.headers.get("Retry-After", "").strip()
    return int(raw) if raw.isdigit() else None


def _read(response: httpx.Response) -> dict:
    """The `data` of a success body; raises GatewayRefused for Flowport's error body, None-able otherwise."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "success" not in body:
        raise _NotOurAnswer(f"HTTP {response.status_code} without Flowport's JSON body")
    if body["success"] is True and response.status_code == 200:
        return body["data"]
    error = body.get("error") or {}
    raise GatewayRefused(
        response.status_code,
        str(error.get("type") or "error"),
        str(error.get("message") or ""),
        retry_after=_retry_after(response),
        resets_at=error.get("resets_at"),
    )


class _NotOurAnswer(Exception):
    pass


class GatewayClient:
    """Synchronous client. Thread-safe (one httpx.Client with its connection pool); close() when done."""

    def __init__(self, config: GatewayConfig, *, transport: httpx.BaseTransport | None = None):
        self.config = config
        self._http = httpx.Client(timeout=config.timeout, headers=config.headers(), transport=transport)

    @classmethod
    def from_env(cls) -> GatewayClient:
        return cls(GatewayConfig.from_env())

    def close(self) -> None:
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def authorize(
        self,
        *,
        request_id: str,
        api_key: str,
        model: str,
        estimated_cost_usd: Decimal | str | None = None,
        client: dict | None = None,
    ) -> Authorization:
        body = _authorize_body(request_id, api_key, model, estimated_cost_usd, client)
        return _authorization(self._post("authorize", body))

    def usage(
        self,
        *,
        request_id: str,
        input_tokens: int,
        output_tokens: int,
        cost_usd: Decimal | str | None = None,
    ) -> Settlement:
        return _settlement(
            self._post("usage", _usage_body(request_id, input_tokens, output_tokens, cost_usd))
        )

    def release(self, *, request_id: str) -> Release:
        return _release(self._post("release", {"request_id": request_id}))

    def _post(self, operation: str, body: dict) -> dict:
        last: Exception | None = None
        for attempt in range(self.config.retries + 1):
            if attempt:
                time.sleep(self.config.pause(attempt - 1))
            try:
                response = self._http.post(self.config.url(operation), json=body)
            except httpx.TransportError as error:  # connect/read/write errors and timeouts
                last = error
                continue
            if response.status_code in RETRY_STATUSES:
                last = _NotOurAnswer(f"HTTP {response.status_code}")
                continue
            try:
                return _read(response)
            except _NotOurAnswer as error:
                last = error
                break
        raise GatewayUnavailable(f"Flowport {operation} failed: {last}") from last


class AsyncGatewayClient:
    """Asynchronous twin of GatewayClient (one httpx.AsyncClient); `await aclose()` when done."""

    def __init__(self, config: GatewayConfig, *, transport: httpx.AsyncBaseTransport | None = None):
        self.config = config
        self._http = httpx.AsyncClient(timeout=config.timeout, headers=config.headers(), transport=transport)

    @classmethod
    def from_env(cls) -> AsyncGatewayClient:
        return cls(GatewayConfig.from_env())

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info):
        await self.aclose()

    async def authorize(
        self,
        *,
        request_id: str,
        api_key: str,
        model: str,
        estimated_cost_usd: Decimal | str | None = None,
        client: dict | None = None,
    ) -> Authorization:
        body = _authorize_body(request_id, api_key, model, estimated_cost_usd, client)
        return _authorization(await self._post("authorize", body))

    async def usage(
        self,
        *,
        request_id: str,
        input_tokens: int,
        output_tokens: int,
        cost_usd: Decimal | str | None = None,
    ) -> Settlement:
        body = _usage_body(request_id, input_tokens, output_tokens, cost_usd)
        return _settlement(await self._post("usage", body))

    async def release(self, *, request_id: str) -> Release:
        return _release(await self._post("release", {"request_id": request_id}))

    async def _post(self, operation: str, body: dict) -> dict:
        last: Exception | None = None
        for attempt in range(self.config.retries + 1):
            if attempt:
                await asyncio.sleep(self.config.pause(attempt - 1))
            try:
                response = await self._http.post(self.config.url(operation), json=body)
            except httpx.TransportError as error:
                last = error
                continue
            if response.status_code in RETRY_STATUSES:
                last = _NotOurAnswer(f"HTTP {response.status_code}")
                continue
            try:
                return _read(response)
            except _NotOurAnswer as error:
                last = error
                break
        raise GatewayUnavailable(f"Flowport {operation} failed: {last}") from last
