"""Sign-up, log-in, password reset and verification pages in Flowport's layout (issue 19), in both
languages; sign-up keeps the plan chosen on the pricing page in view."""

from urllib.parse import urlencode

import pytest

pytestmark = pytest.mark.django_db

PAGES = ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/", "/accounts/confirm-email/"]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("prefix", ["", "/zh-hans"])
def test_entrance_pages_use_the_site_layout(client, path, prefix):
    html = client.get(prefix + path).content.decode()
    assert 'data-testid="auth-page"' in html
    assert (
        'class="container site-header"' in html
    )  # the site's header and navigation, not allauth's bare page
    assert ("一个 API Key" in html) if prefix else ("One API key, many models." in html)


def test_sign_up_from_pricing_shows_the_chosen_plan(client):
    query = urlencode({"next": "/console/subscription/subscribe/?plan=pro"})
    html = client.get(f"/accounts/signup/?{query}").content.decode()
    assert "You chose Pro ($20.00/mo)." in html
    assert 'name="next" value="/console/subscription/subscribe/?plan=pro"' in html
    chinese = client.get(f"/zh-hans/accounts/signup/?{query}").content.decode()
    assert 'data-testid="signup-plan"' in chinese and "Pro" in chinese and "You chose" not in chinese


@pytest.mark.parametrize(
    "next_url", ["", "/console/", "/console/subscription/subscribe/?plan=free", "/x/?plan=nope"]
)
def test_sign_up_without_a_paid_plan_shows_none(client, next_url):
    html = client.get("/accounts/signup/?" + urlencode({"next": next_url})).content.decode()
    assert 'data-testid="signup-plan"' not in html
