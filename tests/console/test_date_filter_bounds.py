"""Issue 13 (4): date filters at the ends of the calendar are a field error, never a 500."""

import pytest

from tests.api_keys.factories import make_key

pytestmark = pytest.mark.django_db
MESSAGE = "Enter a date from 2000-01-01 to 2999-12-31."


@pytest.mark.parametrize(
    "query",
    [
        "start=9999-12-31",
        "end=9999-12-31",
        "start=9999-12-31&end=9999-12-31",
        "start=0001-01-01",
        "end=0001-01-01",
        "start=0001-01-01&end=0001-01-01",
        "start=1999-12-31&end=2000-01-01",
    ],
)
@pytest.mark.parametrize("page", ["usage", "key"])
def test_dates_outside_the_supported_range_are_a_field_error(user, user_client, page, query):
    key, _secret = make_key(account=user, name="laptop")
    url = "/console/usage/" if page == "usage" else f"/console/keys/{key.pk}/"
    response = user_client.get(f"{url}?{query}")
    assert response.status_code == 200
    assert MESSAGE in response.content.decode()


@pytest.mark.parametrize("page", ["usage", "key"])
def test_the_ends_of_the_supported_range_are_accepted(user, user_client, page):
    key, _secret = make_key(account=user, name="laptop")
    url = "/console/usage/" if page == "usage" else f"/console/keys/{key.pk}/"
    for query in ("start=2000-01-01&end=2000-01-01", "start=2999-12-31&end=2999-12-31"):
        response = user_client.get(f"{url}?{query}")
        assert response.status_code == 200
        assert MESSAGE not in response.content.decode()
