"""The console's section tags only render: the view's page selectors read everything beforehand."""

from datetime import timedelta

import pytest
from django.template import Context, Template
from django.utils import timezone

from apps.api_keys.models import ApiKeyKind
from apps.console.selectors import api_key_section, extra_usage_section, management_api_help, refund_cells
from apps.plans.models import Subscription
from tests.api_keys.factories import make_key
from tests.refunds.factories import paid_cycle

pytestmark = pytest.mark.django_db


def _render(source: str, **context) -> str:
    return Template("{% load console %}" + source).render(Context(context))


def test_section_tags_render_without_a_query(rf, user, django_assert_num_queries):
    make_key(account=user, kind=ApiKeyKind.PAYG, name="render-me")
    request = rf.get("/console/payg/")
    request.user = user
    keys = api_key_section(request=request, kind=ApiKeyKind.PAYG, next_url="/console/payg/")
    extra = extra_usage_section(request=request)
    help_context = management_api_help(request=request)
    with django_assert_num_queries(0):
        html = _render(
            "{% api_key_section keys %}{% extra_usage_section extra %}{% management_api_help help %}",
            request=request,
            keys=keys,
            extra=extra,
            help=help_context,
        )
    assert "render-me" in html
    assert 'id="api-keys-payg"' in html
    assert 'id="extra-usage"' in html


def test_refund_cells_render_without_a_query(rf, user, django_assert_num_queries):
    payment = paid_cycle(user, paid_at=timezone.now() - timedelta(hours=2))
    request = rf.get("/console/subscription/")
    request.user = user
    cells = refund_cells(account=user, subscription=Subscription.objects.get(account=user))
    with django_assert_num_queries(0):
        html = _render("{% refund_cell cells payment %}", request=request, cells=cells, payment=payment)
    assert f"/console/subscription/refund/{payment.public_id}/" in html
