import pytest
from django.urls import reverse

from apps.api_keys.models import ApiKeyKind
from apps.api_keys.services import api_key_create

pytestmark = pytest.mark.django_db


def test_payg_page_lists_the_accounts_payg_keys_only(user_client, user):
    payg, _ = api_key_create(account=user, kind=ApiKeyKind.PAYG, name="batch-jobs")
    api_key_create(account=user, kind=ApiKeyKind.SUBSCRIPTION, name="ide-plugin")
    page = user_client.get(reverse("console:payg")).content.decode()
    assert "batch-jobs" in page
    assert f"{payg.prefix}" in page
    assert "ide-plugin" not in page


def test_subscription_page_lists_the_accounts_subscription_keys_only(user_client, user):
    api_key_create(account=user, kind=ApiKeyKind.PAYG, name="batch-jobs")
    key, _ = api_key_create(account=user, kind=ApiKeyKind.SUBSCRIPTION, name="ide-plugin")
    page = user_client.get(reverse("console:subscription")).content.decode()
    assert 'id="api-keys-subscription"' in page
    assert "ide-plugin" in page
    assert key.prefix in page
    assert "batch-jobs" not in page
