"""Run the LiteLLM Proxy of integrations/litellm (its own uv environment) on loopback, for the end-to-end tests."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "integrations" / "litellm"
VENV = PROJECT / ".venv"
PORTS = range(8300, 8400)  # the loopback ports the suite's own servers use
START_TIMEOUT = 120  # seconds: importing litellm[proxy] on a busy 2-core machine


def sync_environment() -> Path:
    """`uv sync --locked` the integration's project (a no-op when it is up to date); returns its litellm CLI.

    A missing or broken environment fails the run: CI must never pass without the proxy having run.
    """
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is not installed: the LiteLLM integration tests need it to build their environment.")
    result = subprocess.run(
        [uv, "sync", "--locked", "--quiet"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"}},
    )
    if result.returncode != 0:
        pytest.fail(f"uv sync of {PROJECT} failed:\n{result.stdout}\n{result.stderr}")
    cli = VENV / "bin" / "litellm"
    if not cli.exists():
        pytest.fail(f"{cli} is missing after uv sync.")
    return cli


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail("No free loopback port in 8300-8399 for LiteLLM Proxy.")


class Proxy:
    def __init__(self, *, config: Path, flowport_url: str, gateway_token: str, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        env = {
            # A clean environment: the suite's DATABASE_URL / REDIS_URL must never reach LiteLLM (it would
            # take them for its own database and cache).
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": "C.UTF-8",
            "FLOWPORT_URL": flowport_url,
            "FLOWPORT_GATEWAY_TOKEN": gateway_token,
            "FLOWPORT_TIMEOUT": "10",
            "LITELLM_MASTER_KEY": "sk-" + secrets.token_hex(32),
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no download of the price map at start-up
            "LITELLM_TELEMETRY": "False",
            "LITELLM_LOG": "INFO",
        }
        self._log = open(log, "w")  # noqa: SIM115 (closed in stop())
        self._process = subprocess.Popen(
            [
                str(VENV / "bin" / "litellm"),
                "--config",
                str(config),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--num_workers",
                "1",
            ],
            cwd=config.parent,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_until_ready()

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-6000:]

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                pytest.fail(f"LiteLLM Proxy exited with {self._process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health/liveliness", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        self.stop()
        pytest.fail(f"LiteLLM Proxy did not start within {START_TIMEOUT}s:\n{self.log()}")

    def stop(self) -> None:
        if self._process.poll() is None:
            # Its own session: the proxy and any worker it forked.
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(timeout=10)
        self._log.close()
