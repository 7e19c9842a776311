import re

import pytest
from django.test import Client
from django.urls import reverse

from apps.api_keys.models import ApiKey, ApiKeyKind, ApiKeyStatus
from apps.api_keys.services import api_key_authenticate, api_key_hash
from apps.core.models import AuditEvent
from tests.accounts.factories import UserFactory
from tests.api_keys.factories import make_key
from tests.helpers import sign_in

pytestmark = pytest.mark.django_db

PAGE = "/console/management-keys/"
SECRET_RE = re.compile(r"sk-(?:ss|ai|mg)-v1-[0-9a-f]{64}")
HTMX = {"HTTP_HX_REQUEST": "true"}


def state(account):
    return (
        list(ApiKey.objects.filter(account=account).order_by("pk").values()),
        AuditEvent.objects.filter(event_type__startswith="api_key.").count(),
    )


def test_management_keys_page_lists_live_keys_masked(user_client, user, django_assert_max_num_queries):
    key, secret = make_key(account=user, kind=ApiKeyKind.MANAGEMENT, name="deploy bot")
    gone, _ = make_key(account=user, kind=ApiKeyKind.MANAGEMENT, name="old one")
    make_key(account=user, kind=ApiKeyKind.PAYG, name="payg key")
    client_url = reverse("console:management_keys")
    assert client_url == PAGE
    from apps.api_keys.services import api_key_delete

    api_key_delete(account=user, key_id=gone.pk)
    with django_assert_max_num_queries(6):
        response = user_client.get(PAGE)
    html = response.content.decode()
    assert response.status_code == 200
    assert "deploy bot" in html
    assert f"{secret[:13]}…{secret[-4:]}" in html
    assert secret not in html and secret[13:-4] not in html
    assert "old one" not in html  # deleted keys never show
    assert "payg key" not in html  # other kinds live in their own sections
    assert 'href="/console/management-keys/"' in html  # the console nav shows the page


def test_the_page_needs_a_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_htmx_create_shows_the_secret_exactly_once_and_never_after_reload(user_client, user):
    response = user_client.post(
        reverse("console:api_key_create", args=["management"]), {"name": "CI", "next": PAGE}, **HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    secrets_ = SECRET_RE.findall(html)
    assert len(secrets_) == 1
    secret = secrets_[0]
    assert secret.startswith("sk-mg-v1-")
    assert "<dialog" in html and "data-copy-target" in html
    assert "it will not be shown again" in html
    assert "no-store" in response["Cache-Control"]
    assert response["HX-Trigger"] == "apiKeysChanged"
    assert "<html" not in html  # a fragment, not a page
    key = ApiKey.objects.get(account=user)
    assert (key.name, key.kind, key.secret_hash) == ("CI", "management", api_key_hash(secret))

    again = user_client.get(PAGE).content.decode()
    assert secret not in again
    assert SECRET_RE.findall(again) == []
    assert key.masked in again


def test_plain_post_create_shows_the_secret_on_its_own_page_once(user_client, user):
    response = user_client.post(
        reverse("console:api_key_create", args=["payg"]), {"name": "server", "next": "/console/"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert len(SECRET_RE.findall(html)) == 1
    assert SECRET_RE.findall(html)[0].startswith("sk-ai-v1-")
    assert 'href="/console/"' in html  # Done goes back where the user came from
    assert "no-store" in response["Cache-Control"]
    assert ApiKey.objects.get(account=user).kind == "payg"


def test_create_without_a_name_changes_nothing(user_client, user):
    response = user_client.post(
        reverse("console:api_key_create", args=["management"]), {"name": "  ", "next": PAGE}, **HTMX
    )
    assert response.status_code == 200
    assert "A key needs a name." in response.content.decode()
    response = user_client.post(reverse("console:api_key_create", args=["management"]), {"name": ""})
    assert response.status_code == 302 and response["Location"] == PAGE
    assert ApiKey.objects.count() == 0


def test_create_of_an_unknown_kind_is_404(user_client):
    response = user_client.post("/console/keys/admin/create/", {"name": "x"})
    assert response.status_code == 404
    assert ApiKey.objects.count() == 0


def test_the_21st_key_is_refused_with_a_clear_message(user_client, user):
    for i in range(20):
        make_key(account=user, kind=ApiKeyKind.MANAGEMENT, name=f"k{i}")
    before = state(user)
    page = user_client.get(PAGE).content.decode()
    assert "You have 20 keys of this kind, the most allowed." in page
    assert 'action="/console/keys/management/create/"' not in page
    response = user_client.post(
        reverse("console:api_key_create", args=["management"]), {"name": "k21", "next": PAGE}, **HTMX
    )
    html = response.content.decode()
    assert "You already have 20 keys of this kind, the most allowed. Delete one to create another." in html
    assert SECRET_RE.findall(html) == []
    response = user_client.post(
        reverse("console:api_key_create", args=["management"]), {"name": "k21"}, follow=True
    )
    assert "You already have 20 keys of this kind" in response.content.decode()
    assert state(user) == before


def test_unsafe_next_falls_back_to_the_kinds_page(user_client, user):
    key, _ = make_key(account=user, kind=ApiKeyKind.MANAGEMENT)
    response = user_client.post(
        reverse("console:api_key_rename", args=[key.pk]), {"name": "x", "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == PAGE


def test_rename_plain_post_redirects_to_next_with_a_message(user_client, user):
    key, _ = make_key(account=user, kind=ApiKeyKind.SUBSCRIPTION, name="old")
    response = user_client.post(
        reverse("console:api_key_rename", args=[key.pk]), {"name": "new", "next": "/console/"}, follow=True
    )
    assert response.redirect_chain == [("/console/", 302)]
    assert "Key renamed to “new”." in response.content.decode()
    key.refresh_from_db()
    assert key.name == "new"


def test_rename_to_an_empty_name_changes_nothing(user_client, user):
    key, _ = make_key(account=user, kind=ApiKeyKind.MANAGEMENT, name="old")
    before = state(user)
    response = user_client.post(
        reverse("console:api_key_rename", args=[key.pk]), {"name": " ", "next": PAGE}, **HTMX
    )
    assert "A key needs a name." in response.content.decode()
    assert state(user) == before


@pytest.mark.parametrize("action", ["api_key_set_status", "api_key_rotate", "api_key_delete"])
def test_without_js_a_destructive_action_asks_first_and_changes_nothing(user_client, user, action):
    key, _ = make_key(account=user, kind=ApiKeyKind.MANAGEMENT, name="ops")
    before = state(user)
    data = {"status": "disabled", "next": PAGE}
    response = user_client.post(reverse(f"console:{action}", args=[key.pk]), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="confirm" value="1"' in html
    assert "“ops”" in html and key.masked in html
    assert user_client.get(reverse(f"console:{action}", args=[key.pk]), data).status_code == 200
    assert state(user) == before


def test_plain_post_disable_enable_rotate_delete_after_confirmation(user_client, user):
    key, secret = make_key(account=user, kind=ApiKeyKind.MANAGEMENT, name="ops")
    url = reverse("console:api_key_set_status", args=[key.pk])
    response = user_client.post(url, {"status": "disabled", "confirm": "1", "next": PAGE})
    assert response.status_code == 302 and response["Location"] == PAGE
    assert ApiKey.objects.get(pk=key.pk).status == ApiKeyStatus.DISABLED
    user_client.post(url, {"status": "enabled", "confirm": "1", "next": PAGE})
    assert ApiKey.objects.get(pk=key.pk).status == ApiKeyStatus.ENABLED
    assert user_client.post(url, {"status": "bogus", "confirm": "1"}).status_code == 400

    response = user_client.post(
        reverse("console:api_key_rotate", args=[key.pk]), {"confirm": "1", "next": PAGE}
    )
    assert response.status_code == 200
    new_secrets = SECRET_RE.findall(response.content.decode())
    assert len(new_secrets) == 1 and new_secrets[0] != secret
    assert api_key_authenticate(secret=new_secrets[0]).pk == key.pk

    response = user_client.post(
        reverse("console:api_key_delete", args=[key.pk]), {"confirm": "1", "next": PAGE}
    )
    assert response.status_code == 302
    assert ApiKey.objects.get(pk=key.pk).deleted_at is not None
    html = user_client.get(PAGE).content.decode()
    assert "Key “ops” deleted." in html
    assert f"api-key-{key.pk}" not in html and "No keys yet." in html


def test_htmx_rotate_returns_the_section_with_the_new_secret_once(user_client, user):
    key, secret = make_key(account=user, kind=ApiKeyKind.MANAGEMENT, name="ops")
    response = user_client.post(
        reverse("console:api_key_rotate", args=[key.pk]), {"confirm": "1", "next": PAGE}, **HTMX
    )
    html = response.content.decode()
    found = SECRET_RE.findall(html)
    assert len(found) == 1 and found[0] != secret
    assert "The previous secret has stopped working." in html
    assert 'id="api-keys-management"' in html


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("api_key_rename", {"name": "pwned"}),
        ("api_key_set_status", {"status": "disabled", "confirm": "1"}),
        ("api_key_rotate", {"confirm": "1"}),
        ("api_key_delete", {"confirm": "1"}),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_another_accounts_key_is_404_and_unchanged(user_client, action, data, htmx):
    other = UserFactory()
    key, secret = make_key(account=other, kind=ApiKeyKind.MANAGEMENT, name="theirs")
    before = state(other)
    response = user_client.post(reverse(f"console:{action}", args=[key.pk]), data, **(HTMX if htmx else {}))
    assert response.status_code == 404
    assert state(other) == before
    if action != "api_key_rename":
        assert user_client.get(reverse(f"console:{action}", args=[key.pk]), data).status_code == 404
    assert "theirs" not in user_client.get(PAGE).content.decode()


@pytest.mark.parametrize(
    ("action", "args", "data"),
    [
        ("api_key_create", ["management"], {"name": "x"}),
        ("api_key_rename", None, {"name": "pwned"}),
        ("api_key_set_status", None, {"status": "disabled", "confirm": "1"}),
        ("api_key_rotate", None, {"confirm": "1"}),
        ("api_key_delete", None, {"confirm": "1"}),
    ],
)
def test_every_mutation_needs_csrf(user, action, args, data):
    key, _ = make_key(account=user, kind=ApiKeyKind.MANAGEMENT, name="mine")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    before = state(user)
    response = client.post(reverse(f"console:{action}", args=args or [key.pk]), data, **HTMX)
    assert response.status_code == 403
    assert state(user) == before


def test_the_csrf_token_in_the_section_lets_an_htmx_post_through(user):
    client = Client(enforce_csrf_checks=True)
    sign_in(client, user)
    html = client.get(PAGE).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    response = client.post(
        reverse("console:api_key_create", args=["management"]),
        {"name": "x", "csrfmiddlewaretoken": token, "next": PAGE},
        **HTMX,
    )
    assert response.status_code == 200
    assert ApiKey.objects.filter(account=user).count() == 1


@pytest.mark.parametrize(
    ("kind", "field", "value", "shown"),
    [
        ("subscription", "used_flows", "2160.500000", "2,160.5"),
        ("payg", "used_usd", "12.345678", "$12.35"),
        ("management", "request_count", 1234, "1234"),
    ],
)
def test_the_section_renders_usage_in_the_kinds_unit(rf, user, kind, field, value, shown):
    from django.template import Context, Template

    from apps.console.selectors import api_key_section

    key, _ = make_key(account=user, kind=kind, name="k")
    ApiKey.objects.filter(pk=key.pk).update(**{field: value})
    request = rf.get("/console/somewhere/?tab=1")
    request.user = user
    section = api_key_section(request=request, kind=kind, next_url=request.get_full_path())
    html = Template("{% load console %}{% api_key_section section %}").render(
        Context({"request": request, "section": section})
    )
    assert f'<td class="num"> {shown} </td>' in re.sub(r"\s+", " ", html)
    assert 'value="/console/somewhere/?tab=1"' in html  # actions come back to the embedding page
    assert f'id="api-keys-{kind}"' in html


def test_key_names_are_escaped_everywhere(user_client, user):
    evil = '"><script>alert(1)</script>'
    key, _ = make_key(account=user, kind=ApiKeyKind.MANAGEMENT, name=evil)
    for response in (
        user_client.get(PAGE),
        user_client.get(reverse("console:api_key_delete", args=[key.pk])),
        user_client.post(reverse("console:api_key_rotate", args=[key.pk]), {"confirm": "1"}, **HTMX),
    ):
        html = response.content.decode()
        assert "<script>alert(1)" not in html
        assert "&lt;script&gt;alert(1)" in html


def test_the_page_query_count_does_not_grow_with_keys(user_client, user, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_key(account=user, kind=ApiKeyKind.MANAGEMENT, name="one")
    with CaptureQueriesContext(connection) as one:
        user_client.get(PAGE)
    for i in range(19):
        make_key(account=user, kind=ApiKeyKind.MANAGEMENT, name=f"k{i}")
    with django_assert_num_queries(len(one.captured_queries)):
        html = user_client.get(PAGE).content.decode()
    assert html.count('class="api-key-masked"') == 20
