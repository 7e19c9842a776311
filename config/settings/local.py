"""The embedded default for `make run`: SQLite under var/, eager Celery, console e-mail, sandbox payments."""

import secrets

from config.env import VAR_DIR

from .base import *  # noqa: F403

DEBUG = True
VAR_DIR.mkdir(exist_ok=True)
FLOWPORT_DEMO_ACCOUNTS = True  # bootstrap_demo may create the demo customer and staff user (README)
FLOWPORT_WEBHOOK_ALLOW_PRIVATE_URLS = True  # webhook endpoints on this machine (e.g. http://127.0.0.1:9000/)


def _local_gateway_token() -> str:
    """A service token generated once for this checkout and kept in var/gateway_token (0600)."""
    path = VAR_DIR / "gateway_token"
    if path.exists():
        token = path.read_text().strip()
        if token:
            return token
    token = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return token


if not GATEWAY_TOKEN:  # noqa: F405
    GATEWAY_TOKEN = _local_gateway_token()

# The in-process scheduler runs every job each minute: keep Celery's per-task success lines out of the console.
LOGGING["loggers"] = {"celery.app.trace": {"level": "WARNING"}}  # noqa: F405

# Passkeys over plain http://localhost (browsers allow WebAuthn there; allauth's fido2 server must too).
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
