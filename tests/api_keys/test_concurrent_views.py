"""Keys created from the console in several tabs at once: every tab shows its new secret."""

import pytest
from django.test import Client

from apps.api_keys.models import ApiKey
from tests.helpers import sign_in
from tests.threads import run_together

TABS = 6


@pytest.mark.django_db(transaction=True)
def test_concurrent_key_creations_from_the_console_all_succeed(user):
    clients = []
    for _ in range(TABS):
        client = Client()
        sign_in(client, user)
        clients.append(client)

    def create(index: int) -> tuple[int, bool]:
        response = clients[index].post("/console/keys/subscription/create/", {"name": f"tab {index}"})
        return response.status_code, "sk-ss-v1-" in response.content.decode()

    assert run_together(TABS, create) == [(200, True)] * TABS
    names = sorted(ApiKey.objects.filter(account=user).values_list("name", flat=True))
    assert names == [f"tab {i}" for i in range(TABS)]
