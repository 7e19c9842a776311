import pytest
from django.urls import reverse

from apps.api_keys.models import ApiKey, ApiKeyKind, ApiKeyStatus
from apps.core.models import AuditEvent
from tests.api_keys.factories import make_key

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:api_keys_apikey_changelist"


def test_staff_see_keys_masked_never_the_hash(staff_client, user):
    key, secret = make_key(account=user, kind=ApiKeyKind.PAYG, name="prod")
    listing = staff_client.get(reverse(CHANGELIST)).content.decode()
    detail = staff_client.get(reverse("admin:api_keys_apikey_change", args=[key.pk])).content.decode()
    for html in (listing, detail):
        assert key.masked in html
        assert key.secret_hash not in html
        assert secret not in html
    assert (
        staff_client.get(reverse(CHANGELIST), {"kind__exact": "payg", "status__exact": "enabled"}).status_code
        == 200
    )


def test_staff_find_a_reported_key_by_its_full_secret(staff_client, user):
    key, secret = make_key(account=user, kind=ApiKeyKind.PAYG, name="leaked")
    make_key(account=user, kind=ApiKeyKind.PAYG, name="other")
    response = staff_client.get(reverse(CHANGELIST), {"q": secret})
    assert [k.pk for k in response.context["cl"].result_list] == [key.pk]


def test_the_disable_action_goes_through_the_service_with_the_staff_actor(staff_client, user):
    key, _ = make_key(account=user, kind=ApiKeyKind.SUBSCRIPTION, name="abused")
    untouched, _ = make_key(account=user, kind=ApiKeyKind.SUBSCRIPTION, name="fine")
    response = staff_client.post(
        reverse(CHANGELIST), {"action": "disable_keys", "_selected_action": [key.pk]}, follow=True
    )
    assert "1 key disabled." in response.content.decode()
    assert ApiKey.objects.get(pk=key.pk).status == ApiKeyStatus.DISABLED
    assert ApiKey.objects.get(pk=untouched.pk).status == ApiKeyStatus.ENABLED
    event = AuditEvent.objects.get(event_type="api_key.disabled")
    assert (event.actor_id, event.account_id, event.subject_id) == (
        staff_client.staff.pk,
        user.pk,
        str(key.pk),
    )


def test_customers_cannot_reach_the_admin(user_client, user):
    make_key(account=user)
    assert user_client.get(reverse(CHANGELIST)).status_code == 302
