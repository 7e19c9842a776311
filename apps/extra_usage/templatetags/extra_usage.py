from django import template

from apps.extra_usage.views import section_context

register = template.Library()


@register.inclusion_tag("extra_usage/section.html", takes_context=True)
def extra_usage_section(context):
    """The current user's Extra Usage switch and selected key: `{% extra_usage_section %}`."""
    return section_context(request=context["request"], windows=context.get("quota_windows"))
