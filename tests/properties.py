"""Shared pieces of the property-based tests (hypothesis): input strategies, the settings that keep the
suite fast and deterministic, and a snapshot of everything a request could change."""

from django.apps import apps
from django.http import QueryDict
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Deterministic (derandomize) and modest: the whole suite must stay a few minutes on 2 cores.
PROPERTY_SETTINGS = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# What probes send: extremes of money, counts and time, markup, NUL, and arbitrary text.
EDGE_STRINGS = [
    "",
    " ",
    "0",
    "-1",
    "0.01",
    "5",
    "10.005",
    "25000",
    "25000.01",
    "1e30",
    "-1e30",
    "NaN",
    "Infinity",
    "$1,000.00",
    "99999999999999999999999999999999",
    "9999-12-31",
    "0001-01-01",
    "2026-02-30",
    "2026-11-30",
    "<script>alert(1)</script>",
    "\x00",
    "x" * 101,
]
text_values = st.one_of(
    st.sampled_from(EDGE_STRINGS),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
    st.integers().map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(str),
    st.dates().map(str),
)
form_values = st.one_of(text_values, st.lists(text_values, min_size=2, max_size=3))


def form_data(fields: list[str]):
    """A POST/GET dict: each known field absent or set to a probe value, plus an unknown field sometimes."""
    return st.fixed_dictionaries({}, optional={name: form_values for name in [*fields, "unexpected"]})


SNAPSHOT_MODELS = [
    "wallet.Wallet",
    "wallet.LedgerEntry",
    "wallet.CreditGrant",
    "billing.Payment",
    "billing.PaymentMethod",
    "api_keys.ApiKey",
    "extra_usage.ExtraUsageSetting",
    "plans.Subscription",
    "refunds.Refund",
    "usage.Reservation",
    "usage.UsageEvent",
    "usage.QuotaWindow",
    "core.AuditEvent",
]


def snapshot(exclude: dict[str, set[str]] | None = None) -> dict:
    """Every row a console form or API call could change (fields in `exclude` left out)."""
    exclude = exclude or {}
    state = {}
    for label in SNAPSHOT_MODELS:
        model = apps.get_model(label)
        names = [f.attname for f in model._meta.concrete_fields if f.attname not in exclude.get(label, set())]
        state[label] = list(model.objects.order_by("pk").values(*names))
    return state


def assert_not_server_error(response):
    assert response.status_code < 500, (response.status_code, response.content[:500])


def changes(before: dict, after: dict) -> list:
    """The rows that differ between two snapshots, field by field (for a readable failure)."""
    found = []
    for label in before:
        old = {row["id"]: row for row in before[label]}
        new = {row["id"]: row for row in after[label]}
        for pk in old.keys() | new.keys():
            a, b = old.get(pk), new.get(pk)
            if a is None or b is None:
                found.append((label, pk, "added" if a is None else "removed"))
            elif a != b:
                found.append((label, pk, {f: (a[f], b[f]) for f in a if a[f] != b[f]}))
    return found


def assert_unchanged(before: dict, exclude: dict[str, set[str]] | None = None) -> None:
    found = changes(before, snapshot(exclude))
    assert not found, found


def as_querydict(data: dict) -> QueryDict:
    """The data as the view receives it (a list is a repeated field), for a form's validity oracle."""
    query = QueryDict(mutable=True)
    for name, value in data.items():
        query.setlist(name, value if isinstance(value, list) else [value])
    return query
