"""Flowport metering for LiteLLM Proxy: custom auth plus one callback object. See config.yaml beside this file.

    general_settings:
      custom_auth: flowport_litellm.user_api_key_auth
    litellm_settings:
      callbacks: ["flowport_litellm.flowport_metering"]

Clients present their Flowport key (`sk-ss-v1-…` subscription, `sk-ai-v1-…` pay-as-you-go) as the bearer token.
For every inference request the plug-in calls Flowport's gateway API, keyed by LiteLLM's call id:

- before the upstream call (`async_pre_call_hook`): `authorize`. A refusal is raised as a ProxyException carrying
  Flowport's HTTP status, type and message (402, 403, 404, 429 with `Retry-After`), which LiteLLM returns as is;
- after a success (`async_log_success_event`, which LiteLLM calls once per request, for a stream when it ends):
  `usage` with LiteLLM's computed cost (`response_cost`) and token counts;
- after a failure (`async_post_call_failure_hook` on the request path, `async_log_failure_event` from LiteLLM's
  logging; a client that disconnects before the response is a 499 failure with `cancel_on_disconnect`), or when a
  stream ends before its last chunk (`async_post_call_streaming_iterator_hook`: the client went away): `release`.

Settings (environment):
  LITELLM_MASTER_KEY           LiteLLM's own admin key (LiteLLM refuses to start without one); with it, admin
                               routes work as usual, but it is not an inference key
  FLOWPORT_URL                 Flowport's base URL, e.g. https://portal.example.com (required)
  FLOWPORT_GATEWAY_TOKEN       the portal's GATEWAY_TOKEN (required)
  FLOWPORT_TIMEOUT             seconds per attempt (default 5); FLOWPORT_RETRIES more attempts (default 2)
  FLOWPORT_FAIL_OPEN           "true" lets requests through unmetered when Flowport cannot be reached; default
                               false: such requests are refused with 503 (fail closed)
  FLOWPORT_ESTIMATED_COST_USD  the estimate reserved by `authorize` before the cost is known (default 0)

Calls are idempotent on the request id, so the gateway client retries them when no answer arrives. The call id
must be LiteLLM's own: a client-chosen `x-litellm-call-id` could replay an earlier request's id (and its one
settlement), so requests carrying that header are refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import os
import sys
import threading
import types
from collections import OrderedDict
from decimal import Decimal, InvalidOperation

try:
    from flowport_gateway import AsyncGatewayClient, GatewayConfig, GatewayRefused, GatewayUnavailable
except ImportError:  # LiteLLM loads this file by path (next to config.yaml): make its sibling importable.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from flowport_gateway import AsyncGatewayClient, GatewayConfig, GatewayRefused, GatewayUnavailable

from litellm.constants import NON_INFERENCE_CALL_TYPES
from litellm.integrations.custom_logger import CustomLogger
from litellm.proxy._types import LitellmUserRoles, ProxyException, UserAPIKeyAuth

logger = logging.getLogger("flowport.litellm")

KEY_PREFIXES = ("sk-ss-v1-", "sk-ai-v1-")
CALL_ID_HEADER = "x-litellm-call-id"
MAX_KEY_LENGTH = 256
MAX_TRACKED = 100_000  # open requests (authorized, not yet settled) remembered per proxy worker


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _estimate() -> Decimal:
    raw = os.environ.get("FLOWPORT_ESTIMATED_COST_USD", "").strip() or "0"
    try:
        value = Decimal(raw)
    except InvalidOperation as error:
        raise ValueError(f"FLOWPORT_ESTIMATED_COST_USD must be a USD amount, not {raw!r}") from error
    if not value.is_finite() or value < 0:
        raise ValueError("FLOWPORT_ESTIMATED_COST_USD must be a USD amount ≥ 0")
    return value


def _token_hash(secret: str) -> str:
    """How LiteLLM's UserAPIKeyAuth stores an `sk-` key: sha256 hex of the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


class _Bounded:
    """A small thread-safe LRU map: oldest entries drop out past `limit` (Flowport's sweeper releases those)."""

    def __init__(self, limit: int):
        self._items: OrderedDict[str, str] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def put(self, key: str, value: str) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._limit:
                self._items.popitem(last=False)

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._items.get(key)

    def pop(self, key: str) -> str | None:
        with self._lock:
            return self._items.pop(key, None)


# The proxy hashes `sk-` keys on the UserAPIKeyAuth it hands to hooks; the hook needs the secret for `authorize`.
# LiteLLM loads this file once per setting naming it (custom_auth, callbacks) when it sits next to config.yaml,
# as separate module objects: the map lives in one shared place so that both copies see it.
_shared = sys.modules.setdefault("_flowport_litellm_shared", types.ModuleType("_flowport_litellm_shared"))
if not hasattr(_shared, "secrets"):
    _shared.secrets = _Bounded(MAX_TRACKED)
_secrets = _shared.secrets


def _refusal(status: int, type: str, message: str, headers: dict | None = None) -> ProxyException:
    return ProxyException(message=message, type=type, param=None, code=status, headers=headers)


async def user_api_key_auth(request, api_key: str) -> UserAPIKeyAuth:
    """LiteLLM custom auth: accept a Flowport inference key; Flowport decides per request in the pre-call hook."""
    if request.headers.get(CALL_ID_HEADER):
        raise _refusal(
            400,
            "invalid_request_error",
            f"The {CALL_ID_HEADER} header is not accepted: requests are metered under the proxy's own call id.",
        )
    secret = (api_key or "").strip()
    if secret[:7].lower() == "bearer ":
        secret = secret[7:].strip()
    master_key = os.environ.get("LITELLM_MASTER_KEY", "")
    if master_key and hmac.compare_digest(secret.encode(), master_key.encode()):
        # The operator's master key keeps LiteLLM's admin routes; it is not an inference key (no Flowport account).
        return UserAPIKeyAuth(api_key=secret, user_role=LitellmUserRoles.PROXY_ADMIN)
    if not secret.startswith(KEY_PREFIXES) or len(secret) > MAX_KEY_LENGTH:
        raise _refusal(
            401,
            "unauthorized",
            "Pass a Flowport API key (sk-ss-v1-… or sk-ai-v1-…) as the bearer token.",
        )
    _secrets.put(_token_hash(secret), secret)
    kind = "subscription" if secret.startswith("sk-ss-") else "payg"
    return UserAPIKeyAuth(api_key=secret, key_alias=f"flowport-{kind}")  # LiteLLM logs only the key's hash


class FlowportMetering(CustomLogger):
    """authorize before the upstream call, usage after a success, release after a failure."""

    def __init__(self, config: GatewayConfig | None = None, *, fail_open: bool | None = None):
        super().__init__()
        self._config = config
        self.fail_open = _env_flag("FLOWPORT_FAIL_OPEN") if fail_open is None else fail_open
        self._background: set[asyncio.Task] = set()
        self._clients: dict[int, AsyncGatewayClient] = {}
        # call id → "open" while authorized and neither settled nor released
        self._open = _Bounded(MAX_TRACKED)

    def client(self) -> AsyncGatewayClient:
        """One gateway client per event loop (httpx's async pool belongs to the loop it was made on)."""
        loop = id(asyncio.get_running_loop())
        if loop not in self._clients:
            self._clients[loop] = AsyncGatewayClient(self._config or GatewayConfig.from_env())
        return self._clients[loop]

    # --- before the upstream call -------------------------------------------------------------------------

    async def async_pre_call_hook(self, user_api_key_dict, cache, data, call_type):
        if call_type in NON_INFERENCE_CALL_TYPES:
            return data
        call_id = data.get("litellm_call_id")
        secret = _secrets.get(getattr(user_api_key_dict, "token", None) or "")
        if not call_id or secret is None:
            raise _refusal(401, "unauthorized", "Pass a Flowport API key as the bearer token.")
        try:
            await self.client().authorize(
                request_id=call_id,
                api_key=secret,
                model=str(data.get("model") or ""),
                estimated_cost_usd=_estimate(),
                client=_client_info(data),
            )
        except GatewayRefused as refused:
            headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else None
            raise _refusal(refused.status, refused.type, refused.message, headers) from None
        except GatewayUnavailable as error:
            if not self.fail_open:
                logger.error("Flowport unreachable, refusing request %s (fail closed): %s", call_id, error)
                raise _refusal(
                    503, "service_unavailable", "Metering is temporarily unavailable. Try again shortly."
                ) from None
            logger.warning(
                "Flowport unreachable, serving request %s UNMETERED (fail open): %s", call_id, error
            )
            return data
        self._open.put(call_id, "open")
        return data

    # --- after the call --------------------------------------------------------------------------------------

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        call_id = kwargs.get("litellm_call_id")
        if not call_id or self._open.pop(call_id) is None:
            return  # not authorized by us (fail open, non-inference) or already settled/released
        logged = kwargs.get("standard_logging_object") or {}
        if _client_disconnected(kwargs, logged):
            await self._release(call_id)
            return
        cost = kwargs.get("response_cost")
        if cost is None:
            cost = logged.get("response_cost")
        input_tokens, output_tokens = _tokens(logged, response_obj)
        try:
            await self.client().usage(
                request_id=call_id,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cost_usd=None if cost is None else format(Decimal(str(cost)), "f"),
            )
        except (GatewayRefused, GatewayUnavailable) as error:
            # The response is already with the client: log for reconciliation. Flowport's sweeper releases an
            # unsettled reservation after 15 minutes.
            logger.error(
                "Flowport usage for %s failed: %s (input_tokens=%s output_tokens=%s cost_usd=%s)",
                call_id,
                error,
                input_tokens,
                output_tokens,
                cost,
            )

    async def async_post_call_streaming_iterator_hook(self, user_api_key_dict, response, request_data):
        """Pass a stream through; if it stops before its end (client gone, upstream error), release."""
        completed = False
        try:
            async for chunk in response:
                yield chunk
            completed = True
        finally:
            if not completed:
                # In a task of its own: the request's task is being cancelled and may not await any more.
                task = asyncio.get_running_loop().create_task(
                    self._release(request_data.get("litellm_call_id"))
                )
                self._background.add(task)
                task.add_done_callback(self._background.discard)

    async def async_log_failure_event(self, kwargs, response_obj, start_time, end_time):
        await self._release(kwargs.get("litellm_call_id"))

    async def async_post_call_failure_hook(
        self, request_data, original_exception, user_api_key_dict, traceback_str=None
    ):
        await self._release(request_data.get("litellm_call_id"))

    async def _release(self, call_id: str | None) -> None:
        if not call_id or self._open.pop(call_id) is None:
            return
        try:
            await self.client().release(request_id=call_id)
        except (GatewayRefused, GatewayUnavailable) as error:
            logger.error("Flowport release for %s failed: %s", call_id, error)


def _client_info(data: dict) -> dict | None:
    metadata = data.get("metadata") or {}
    headers = (data.get("proxy_server_request") or {}).get("headers") or {}
    info = {
        "ip": metadata.get("requester_ip_address"),
        "user_agent": headers.get("user-agent"),
    }
    info = {k: v for k, v in info.items() if isinstance(v, str) and v}
    # Flowport refuses a malformed `client` (400): send only a valid address and at most 512 characters.
    try:
        ipaddress.ip_address(info.get("ip", ""))
    except ValueError:
        info.pop("ip", None)
    if "user_agent" in info:
        info["user_agent"] = info["user_agent"][:512]
    return info or None


def _client_disconnected(kwargs: dict, logged: dict) -> bool:
    for metadata in (
        (kwargs.get("litellm_params") or {}).get("metadata") or {},
        logged.get("metadata") or {},
    ):
        if isinstance(metadata, dict) and metadata.get("client_disconnected"):
            return True
    return False


def _tokens(logged: dict, response_obj) -> tuple[int, int]:
    prompt, completion = logged.get("prompt_tokens"), logged.get("completion_tokens")
    if prompt is None or completion is None:
        usage = getattr(response_obj, "usage", None)
        prompt = getattr(usage, "prompt_tokens", 0) if prompt is None else prompt
        completion = getattr(usage, "completion_tokens", 0) if completion is None else completion
    return int(prompt or 0), int(completion or 0)


flowport_metering = FlowportMetering()
