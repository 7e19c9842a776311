from urllib.parse import urlencode

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from apps.management_api.selectors import management_key_example_prefix

register = template.Library()


@register.inclusion_tag("management_api/help.html", takes_context=True)
def management_api_help(context):
    """The "Management API" help section of /console/management-keys/: a curl example and the docs link."""
    request = context["request"]
    # The docs are outside the language prefixes; `?lang=` makes drf-spectacular build them translated.
    language = translation.get_language() or settings.LANGUAGE_CODE
    query = "" if language == settings.LANGUAGE_CODE else f"?{urlencode({'lang': language})}"
    return {
        "key_prefix": management_key_example_prefix(account=request.user),
        "example_url": request.build_absolute_uri(reverse("management_subscription_detail")),
        "docs_url": reverse("api_docs") + query,
        "schema_url": reverse("api_schema") + query,
    }
