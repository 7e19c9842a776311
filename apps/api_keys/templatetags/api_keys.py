from django import template

from apps.api_keys.views import section_context

register = template.Library()


@register.inclusion_tag("api_keys/section.html", takes_context=True)
def api_key_section(context, kind: str):
    """The current user's keys of one kind with their actions: `{% api_key_section kind="payg" %}`."""
    request = context["request"]
    return section_context(request=request, kind=kind, next_url=request.get_full_path())
