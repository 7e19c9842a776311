"""bootstrap_demo creates accounts whose passwords the README publishes: local settings only."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from apps.accounts.models import User
from apps.api_keys.models import ApiKey

REFUSAL = "runs only under the local settings"


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.django_db
def test_without_demo_accounts_enabled_it_refuses_and_creates_nothing(settings):
    settings.FLOWPORT_DEMO_ACCOUNTS = False
    with pytest.raises(CommandError, match=REFUSAL):
        call_command("bootstrap_demo")
    assert not User.objects.exists()
    assert not ApiKey.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_under_production_settings_it_refuses_and_creates_nothing():
    """The real command line, as an operator would type it on a deployment, against this test database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "test-only-not-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ",
        "ALLOWED_HOSTS": "flowport.example",
        "DATABASE_URL": _database_url(),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "bootstrap_demo"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert REFUSAL in result.stderr
    assert "demo-flowport-2026" not in result.stdout + result.stderr
    assert not User.objects.exists()
    assert not ApiKey.objects.exists()
