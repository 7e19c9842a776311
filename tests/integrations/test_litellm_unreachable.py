"""When Flowport cannot be reached the plug-in fails closed (503) by default, and serves unmetered when told to.

Runs the plug-in's real pre-call hook inside the integration's own environment (litellm installed there), with
FLOWPORT_URL pointing at a loopback port nobody listens on.
"""

import json
import subprocess

from tests.integrations.litellm_proxy import PROJECT, VENV, free_port, sync_environment

SCRIPT = r"""
import asyncio, json, os, sys
from flowport_litellm import FlowportMetering, user_api_key_auth
from litellm.proxy._types import ProxyException


class Request:
    headers = {}


async def main():
    secret = "sk-ss-v1-" + "a" * 64
    auth = await user_api_key_auth(Request(), "Bearer " + secret)
    data = {"litellm_call_id": "call-1", "model": "deepseek/deepseek-chat"}
    out = {}
    try:
        await FlowportMetering().async_pre_call_hook(auth, None, dict(data), "acompletion")
        out["closed"] = "passed"
    except ProxyException as error:
        out["closed"] = [error.code, error.type, error.message]
    passed = await FlowportMetering(fail_open=True).async_pre_call_hook(auth, None, dict(data), "acompletion")
    out["open"] = passed == data
    print(json.dumps(out))


asyncio.run(main())
"""


def test_unreachable_flowport_fails_closed_by_default():
    sync_environment()
    port = free_port()  # bound by nobody: connection refused on every attempt
    result = subprocess.run(
        [str(VENV / "bin" / "python"), "-c", SCRIPT],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": "/tmp",
            "PYTHONPATH": str(PROJECT),
            "FLOWPORT_URL": f"http://127.0.0.1:{port}",
            "FLOWPORT_GATEWAY_TOKEN": "token",
            "FLOWPORT_TIMEOUT": "1",
            "FLOWPORT_RETRIES": "1",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_TELEMETRY": "False",
        },
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "closed": ["503", "service_unavailable", "Metering is temporarily unavailable. Try again shortly."],
        "open": True,
    }
