"""The Extra Usage section: HTMX and plain-POST flows, refusals, notices, balance warnings."""

import pytest

from apps.api_keys.models import ApiKey, ApiKeyKind
from apps.api_keys.services import api_key_set_status
from apps.extra_usage.models import ExtraUsageSetting
from apps.extra_usage.services import extra_usage_enable
from tests.accounts.factories import UserFactory
from tests.api_keys.factories import make_key
from tests.wallet.factories import credit

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def setting(user):
    return ExtraUsageSetting.objects.filter(account=user).values("enabled", "payg_key_id").first()


def test_switch_opens_the_dialog_listing_only_enabled_payg_keys(user, user_client):
    good, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="production-app")
    off, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="old-app")
    api_key_set_status(account=user, key_id=off.pk, status="disabled")
    make_key(account=user, name="laptop")  # a subscription key is never offered
    response = user_client.get("/console/extra-usage/select/", **HTMX)
    html = response.content.decode()
    assert 'data-testid="extra-usage-dialog"' in html
    assert f'value="{good.pk}"' in html and "production-app" in html
    assert "old-app" not in html and "laptop" not in html
    # Plain GET: the standalone page.
    page = user_client.get("/console/extra-usage/select/")
    assert page.status_code == 200 and b"production-app" in page.content


def test_select_turns_it_on_and_shows_the_key_card(user, user_client):
    key, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="production-app")
    response = user_client.post("/console/extra-usage/enable/", {"payg_key": key.pk}, **HTMX)
    html = response.content.decode()
    assert setting(user) == {"enabled": True, "payg_key_id": key.pk}
    assert 'data-testid="extra-usage-key"' in html and key.masked in html
    assert 'data-testid="extra-usage-spent">\n            $0.00' in html
    # The subscription page shows it too.
    page = user_client.get("/console/subscription/").content.decode()
    assert 'data-enabled="true"' in page and "production-app" in page


def test_plain_post_flow_redirects_back(user, user_client):
    key, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="production-app")
    response = user_client.post("/console/extra-usage/enable/", {"payg_key": key.pk})
    assert response.status_code == 302 and response["Location"] == "/console/subscription/#extra-usage"
    response = user_client.post("/console/extra-usage/disable/")
    assert response.status_code == 302
    assert setting(user) == {"enabled": False, "payg_key_id": key.pk}


@pytest.mark.parametrize("kind", ["other", "subscription", "garbage"])
def test_refused_selection_shows_the_error_and_changes_nothing(user, user_client, kind):
    if kind == "other":
        key_id = make_key(account=UserFactory(), kind=ApiKeyKind.PAYG)[0].pk
    elif kind == "subscription":
        key_id = make_key(account=user)[0].pk
    else:
        key_id = "not-a-number"
    response = user_client.post("/console/extra-usage/enable/", {"payg_key": key_id}, **HTMX)
    assert response.status_code == 200
    assert 'data-testid="extra-usage-error"' in response.content.decode()
    assert setting(user) is None
    plain = user_client.post("/console/extra-usage/enable/", {"payg_key": key_id})
    assert plain.status_code == 302 and plain["Location"] == "/console/extra-usage/select/"


def test_create_key_in_the_dialog_selects_it_and_shows_the_secret_once(user, user_client):
    response = user_client.post("/console/extra-usage/create-key/", {"name": "production-app"}, **HTMX)
    key = ApiKey.objects.get(account=user, kind=ApiKeyKind.PAYG)
    html = response.content.decode()
    assert setting(user) == {"enabled": True, "payg_key_id": key.pk}
    assert 'data-testid="extra-usage-reveal"' in html and "sk-ai-v1-" in html
    assert "no-store" in response["Cache-Control"]
    # The secret is never shown again.
    assert "sk-ai-v1-" not in user_client.get("/console/subscription/").content.decode().replace(
        key.prefix, ""
    )


def test_create_key_with_no_name_leaves_it_off(user, user_client):
    response = user_client.post("/console/extra-usage/create-key/", {"name": "  "}, **HTMX)
    assert 'data-testid="extra-usage-error"' in response.content.decode()
    assert setting(user) is None
    assert not ApiKey.objects.filter(account=user).exists()


def test_cancelling_the_dialog_leaves_it_off(user, user_client):
    response = user_client.get("/console/extra-usage/", **HTMX)
    html = response.content.decode()
    assert 'data-enabled="false"' in html and "extra-usage-dialog" not in html
    assert setting(user) is None


def test_disabling_the_selected_key_shows_a_notice(user, user_client):
    key, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="production-app")
    extra_usage_enable(account=user, payg_key_id=key.pk)
    user_client.post(f"/console/keys/{key.pk}/status/", {"status": "disabled", "confirm": "1"}, **HTMX)
    html = user_client.get("/console/subscription/").content.decode()
    assert 'data-testid="extra-usage-auto-off"' in html
    assert "because its key “production-app” was disabled" in html
    assert 'data-enabled="false"' in html


@pytest.mark.parametrize(
    ("balance", "warning"),
    [(None, "is $0.00"), ("2.50", "is low ($2.50)"), ("3.00", None), ("50.00", None)],
)
def test_balance_warning(user, user_client, balance, warning):
    key, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="production-app")
    extra_usage_enable(account=user, payg_key_id=key.pk)
    if balance:
        credit(user, balance)
    html = user_client.get("/console/extra-usage/", **HTMX).content.decode()
    if warning is None:
        assert "extra-usage-balance-warning" not in html
    else:
        assert 'data-testid="extra-usage-balance-warning"' in html and warning in html


def test_chinese_page_uses_the_reference_terms(user, user_client):
    key, _ = make_key(account=user, kind=ApiKeyKind.PAYG, name="production-app")
    extra_usage_enable(account=user, payg_key_id=key.pk)
    html = user_client.get("/zh-hans/console/subscription/").content.decode()
    assert "额外用量 (Extra Usage)" in html
    assert "重新选择" in html and "额外用量已消费" in html
    assert "未开始 — 将在您的下一次请求时开始。" in html
