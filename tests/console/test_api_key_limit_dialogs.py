"""Limits in the key dialogs (issue #22): optional limits when creating a subscription or pay-as-you-go
key, and a "Limits" entry in each key row's menu that opens the limits form in a dialog. Bad input
creates or changes nothing and names the field."""

from decimal import Decimal

import pytest

from apps.api_keys.models import ApiKey, ApiKeyKind
from apps.api_keys.services import api_key_set_limits
from apps.core.models import AuditEvent
from tests.accounts.factories import UserFactory
from tests.api_keys.factories import make_key

CHAT = "deepseek/deepseek-chat"
HTMX = {"HTTP_HX_REQUEST": "true"}
PAGES = {ApiKeyKind.SUBSCRIPTION: "/console/subscription/", ApiKeyKind.PAYG: "/console/payg/"}


def _limits(key):
    key.refresh_from_db()
    return (key.spend_limit, key.spend_limit_period, key.allowed_models, key.rpm_limit, key.has_limits)


# --- create with limits ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", [ApiKeyKind.SUBSCRIPTION, ApiKeyKind.PAYG])
def test_the_create_form_offers_the_limits_and_a_key_starts_with_them(user, user_client, kind):
    page = user_client.get(PAGES[kind])
    assert b'data-testid="create-key-limits"' in page.content
    assert f'id="create-{kind}-limits-spend_limit"'.encode() in page.content

    response = user_client.post(
        f"/console/keys/{kind}/create/",
        {
            "name": "ci",
            "next": PAGES[kind],
            "spend_limit": "2.5",
            "spend_limit_period": "week",
            "allowed_models": [CHAT],
            "rpm_limit": "30",
        },
        **HTMX,
    )

    assert response.status_code == 200
    assert b'data-testid="reveal-done"' in response.content  # the secret, shown once
    key = ApiKey.objects.get(account=user, kind=kind)
    assert _limits(key) == (Decimal("2.5"), "week", [CHAT], 30, True)
    assert list(
        AuditEvent.objects.filter(subject_id=key.pk).order_by("id").values_list("event_type", flat=True)
    ) == ["api_key.created", "api_key.limits_changed"]
    assert AuditEvent.objects.get(event_type="api_key.limits_changed").details["rpm_limit"] == 30


@pytest.mark.django_db
def test_a_key_created_without_limits_has_none(user, user_client):
    response = user_client.post(
        "/console/keys/payg/create/", {"name": "plain", "spend_limit_period": ""}, **HTMX
    )
    assert response.status_code == 200
    key = ApiKey.objects.get(account=user)
    assert _limits(key) == (None, "", [], None, False)
    assert not AuditEvent.objects.filter(event_type="api_key.limits_changed").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field", "label"),
    [
        ({"spend_limit": "0", "spend_limit_period": "day"}, "spend_limit", "Spend limit"),
        ({"spend_limit": "1000000000000", "spend_limit_period": "day"}, "spend_limit", "Spend limit"),
        ({"spend_limit": "5"}, "spend_limit_period", "Per"),
        ({"spend_limit_period": "year"}, "spend_limit_period", "Per"),
        ({"allowed_models": ["nope/nope"]}, "allowed_models", "Allowed models"),
        ({"rpm_limit": "0"}, "rpm_limit", "Requests per minute"),
        ({"rpm_limit": "10000001"}, "rpm_limit", "Requests per minute"),
        ({"rpm_limit": "many"}, "rpm_limit", "Requests per minute"),
    ],
)
def test_bad_limits_create_nothing_and_name_the_field(user, user_client, data, field, label):
    response = user_client.post("/console/keys/subscription/create/", {"name": "ci", **data}, **HTMX)
    assert response.status_code == 200  # HTMX: the section again, the error next to its field
    assert response.context["limits_form"].errors[field]
    assert f"{label}: ".encode() in response.content
    assert b"open" in response.content.split(b'data-testid="create-key-limits"')[1][:80]
    assert not ApiKey.objects.filter(account=user).exists()

    plain = user_client.post("/console/keys/subscription/create/", {"name": "ci", **data})
    assert plain.status_code == 302
    shown = [str(message) for message in plain.wsgi_request._messages]
    assert any(message.startswith(f"{label}: ") for message in shown), shown
    assert not ApiKey.objects.filter(account=user).exists()
    assert not AuditEvent.objects.filter(event_type__startswith="api_key.").exists()


@pytest.mark.django_db
def test_the_management_key_form_has_no_limits(user_client):
    page = user_client.get("/console/management-keys/")
    assert page.status_code == 200
    assert b'data-testid="create-key-limits"' not in page.content


# --- the Limits dialog from a key's row -----------------------------------------------------------------


@pytest.mark.django_db
def test_each_inference_key_row_has_a_limits_entry_that_opens_the_dialog(user, user_client):
    key, _secret = make_key(account=user, kind=ApiKeyKind.PAYG, name="batch")
    api_key_set_limits(
        account=user,
        key_id=key.pk,
        spend_limit=Decimal("3"),
        spend_limit_period="month",
        allowed_models=[],
        rpm_limit=7,
    )
    page = user_client.get("/console/payg/")
    assert b'data-testid="key-limits-open"' in page.content
    assert f'hx-get="/console/keys/{key.pk}/limits/?next=/console/payg/"'.encode() in page.content
    assert b'id="api-key-dialog-payg"' in page.content

    fragment = user_client.get(f"/console/keys/{key.pk}/limits/?next=/console/payg/", **HTMX)
    assert fragment.status_code == 200
    body = fragment.content.decode()
    assert body.lstrip().startswith("<dialog open")
    assert 'data-testid="key-limits-dialog"' in body
    assert "Limits of “batch”" in body
    assert 'value="3.000000"' in body and 'value="7"' in body
    assert '<option value="month" selected>' in body
    assert "<html" not in body

    full = user_client.get(f"/console/keys/{key.pk}/limits/")  # without JavaScript: the dialog on a page
    assert full.status_code == 200
    assert b"<html" in full.content and b'data-testid="key-limits-dialog"' in full.content


@pytest.mark.django_db
def test_saving_in_the_dialog_returns_the_section_with_a_notice(user, user_client):
    key, _secret = make_key(account=user, name="ci")
    response = user_client.post(
        f"/console/keys/{key.pk}/limits/",
        {
            "source": "dialog",
            "next": "/console/subscription/",
            "spend_limit": "40",
            "spend_limit_period": "day",
        },
        **HTMX,
    )
    assert response.status_code == 200
    assert "HX-Retarget" not in response
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="api-keys-subscription"')
    assert "Limits of “ci” saved." in body
    assert _limits(key) == (Decimal("40"), "day", [], None, True)

    plain = user_client.post(
        f"/console/keys/{key.pk}/limits/",
        {"source": "dialog", "next": "/console/subscription/", "rpm_limit": "5"},
    )
    assert plain.status_code == 302 and plain["Location"] == "/console/subscription/"
    assert _limits(key) == (None, "", [], 5, True)


@pytest.mark.django_db
def test_bad_input_in_the_dialog_shows_the_dialog_again_and_changes_nothing(user, user_client):
    key, _secret = make_key(account=user)
    api_key_set_limits(
        account=user,
        key_id=key.pk,
        spend_limit=Decimal("9"),
        spend_limit_period="day",
        allowed_models=[],
        rpm_limit=None,
    )
    before = _limits(key)
    audits = AuditEvent.objects.count()
    data = {
        "source": "dialog",
        "next": "/console/subscription/",
        "spend_limit": "-1",
        "spend_limit_period": "day",
    }

    response = user_client.post(f"/console/keys/{key.pk}/limits/", data, **HTMX)

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#api-key-dialog-subscription"
    assert response["HX-Reswap"] == "innerHTML"
    assert response.context["limits_form"].errors["spend_limit"]
    assert "Spend limit: " in response.content.decode()
    plain = user_client.post(f"/console/keys/{key.pk}/limits/", data)
    assert plain.status_code == 400
    assert b'data-testid="key-limits-dialog"' in plain.content
    assert _limits(key) == before
    assert AuditEvent.objects.count() == audits


@pytest.mark.django_db
def test_another_accounts_key_and_management_keys_have_no_limits_dialog(user, user_client):
    other, _secret = make_key(account=UserFactory())
    management, _secret = make_key(account=user, kind=ApiKeyKind.MANAGEMENT)
    for key in (other, management):
        assert user_client.get(f"/console/keys/{key.pk}/limits/", **HTMX).status_code == 404
        response = user_client.post(f"/console/keys/{key.pk}/limits/", {"source": "dialog", "rpm_limit": "5"})
        assert response.status_code == 404
        assert _limits(key) == (None, "", [], None, False)
    page = user_client.get("/console/management-keys/")
    assert b'data-testid="key-limits-open"' not in page.content
