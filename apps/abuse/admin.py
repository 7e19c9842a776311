"""The "Abuse review" admin (SPEC §14): whom to look at, the evidence, and the status actions.

The list reads each account's signals, sparkline, top models and keys from its `AccountSignals` row
(joined in the one list query), so its query count does not grow with the number of accounts or
events. Every status change goes through `apps.accounts.services` with a required reason (audit trail).
"""

from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.abuse import selectors
from apps.abuse.forms import InsiderGrantForm, ReasonForm, StatusForm
from apps.abuse.models import ReviewAccount, Signal
from apps.abuse.services import insider_grant
from apps.accounts.models import AccountStatus
from apps.accounts.services import account_insider_revoke, account_set_status, account_set_status_many
from apps.core.exceptions import ApplicationError
from apps.plans.selectors import flow_value_multiplier

RESTRICTED = [AccountStatus.ABUSIVE, AccountStatus.SUSPENDED, AccountStatus.BANNED]


def sparkline(daily: list, *, width: int = 84, height: int = 24) -> str:
    """Two polylines (requests, Flows), each scaled to its own maximum, as inline SVG."""
    if not daily:
        return "—"
    step = width / max(len(daily) - 1, 1)

    def points(values):
        top = max(values) or 1
        return " ".join(
            f"{index * step:.1f},{height - 2 - (float(value) / float(top)) * (height - 4):.1f}"
            for index, value in enumerate(values)
        )

    requests = [row[1] for row in daily]
    flows = [Decimal(row[2]) for row in daily]
    title = gettext("Requests per day: %(requests)s; Flows per day: %(flows)s") % {
        "requests": ", ".join(str(n) for n in requests),
        "flows": ", ".join(f"{n:.2f}" for n in flows),
    }
    return format_html(
        '<svg class="abuse-sparkline" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
        'aria-label="{t}"><title>{t}</title>'
        '<polyline fill="none" stroke="#417690" stroke-width="1.5" points="{r}"/>'
        '<polyline fill="none" stroke="#c47900" stroke-width="1.5" stroke-dasharray="3 2" points="{f}"/>'
        "</svg>",
        w=width,
        h=height,
        t=title,
        r=points(requests),
        f=points(flows),
    )


class ReviewScopeFilter(admin.SimpleListFilter):
    title = _("review queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [
            ("review", _("Monitored and flagged")),
            ("restricted", _("Restricted (abusive, suspended, banned)")),
            ("all", _("All accounts with signals")),
            ("everyone", _("Every account")),
        ]

    def choices(self, changelist):
        value = self.value() or "review"
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or "review"
        if value == "restricted":
            return queryset.filter(status__in=RESTRICTED)
        if value == "everyone":
            return queryset
        if value == "all":
            return queryset.filter(Q(abuse_signals__isnull=False) | ~Q(status=AccountStatus.HEALTHY))
        # Monitored accounts, and healthy accounts with a score (the highest first).
        return queryset.filter(
            Q(status=AccountStatus.MONITORED) | Q(status=AccountStatus.HEALTHY, abuse_signals__score__gt=0)
        )


class FlaggedSignalFilter(admin.SimpleListFilter):
    title = _("signal over threshold")
    parameter_name = "signal"

    def lookups(self, request, model_admin):
        return Signal.choices

    def queryset(self, request, queryset):
        if self.value() in Signal.values:
            # A text search of the JSON list: the same on PostgreSQL and SQLite.
            return queryset.filter(abuse_signals__flagged__icontains=f'"{self.value()}"')
        return queryset


def _status_action(status: str, label):
    def action(modeladmin, request, queryset):
        return modeladmin.bulk_form(
            request,
            queryset,
            form_class=ReasonForm,
            action=f"set_{status}",
            title=gettext("Set status: %(status)s") % {"status": AccountStatus(status).label},
            apply=lambda accounts, form: account_set_status_many(
                accounts=accounts, status=status, reason=form.cleaned_data["reason"], actor=request.user
            ),
        )

    action.__name__ = f"set_{status}"
    return admin.action(description=label)(action)


@admin.register(ReviewAccount)
class AbuseReviewAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "status",
        "score",
        "signals",
        "activity",
        "distinct_ips",
        "top_models",
        "top_keys",
        "effective_multiplier",
    ]
    list_filter = [ReviewScopeFilter, FlaggedSignalFilter, "status", "is_insider"]
    search_fields = ["email"]
    list_per_page = 50
    actions = [
        _status_action(AccountStatus.HEALTHY, _("Set healthy…")),
        _status_action(AccountStatus.MONITORED, _("Set monitored…")),
        _status_action(AccountStatus.ABUSIVE, _("Set abusive…")),
        _status_action(AccountStatus.SUSPENDED, _("Set suspended…")),
        _status_action(AccountStatus.BANNED, _("Set banned…")),
        "grant_insider",
        "revoke_insider",
    ]

    def get_queryset(self, request):
        queryset = (
            self.model._default_manager.filter(is_staff=False)
            .select_related("abuse_signals")
            .annotate(
                review_order=Case(
                    When(status=AccountStatus.MONITORED, then=Value(0)),
                    default=Value(1),
                    output_field=IntegerField(),
                )
            )
        )
        return queryset.order_by(*self.get_ordering(request))

    def get_ordering(self, request):
        # Monitored first, then the highest score (annotated in get_queryset, so not `ordering`).
        return ["review_order", F("abuse_signals__score").desc(nulls_last=True), "email"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @staticmethod
    def _signals(obj):
        return getattr(obj, "abuse_signals", None)

    @admin.display(description=_("score"), ordering="abuse_signals__score")
    def score(self, obj):
        signals = self._signals(obj)
        return signals.score if signals else "—"

    @admin.display(description=_("signals"))
    def signals(self, obj):
        signals = self._signals(obj)
        if not signals:
            return "—"
        labels = dict(Signal.choices)
        return (
            format_html_join(
                mark_safe("<br>"),
                "<span{}>{}: {}</span>",
                (
                    (
                        mark_safe(' style="font-weight:bold;color:#ba2121"')
                        if name in signals.flagged
                        else "",
                        labels[name],
                        value,
                    )
                    for name, value in signals.values.items()
                    if name in labels and Decimal(value) > 0
                ),
            )
            or "—"
        )

    @admin.display(description=_("7 days: requests, Flows"))
    def activity(self, obj):
        signals = self._signals(obj)
        if not signals:
            return "—"
        return format_html(
            "{}<br><small>{} / {}</small>",
            sparkline(signals.daily),
            signals.requests_7d,
            f"{signals.flows_7d:.2f}",
        )

    @admin.display(description=_("distinct IPs"))
    def distinct_ips(self, obj):
        signals = self._signals(obj)
        return signals.distinct_ips_7d if signals else "—"

    @admin.display(description=_("top models"))
    def top_models(self, obj):
        signals = self._signals(obj)
        if not signals or not signals.top_models:
            return "—"
        return format_html_join(mark_safe("<br>"), "{} ({})", signals.top_models)

    @admin.display(description=_("top keys"))
    def top_keys(self, obj):
        signals = self._signals(obj)
        if not signals or not signals.top_keys:
            return "—"
        return format_html_join(
            mark_safe("<br>"), "{} ({})", ((name, n) for _id, name, n in signals.top_keys)
        )

    @admin.display(description=_("effective multiplier"))
    def effective_multiplier(self, obj):
        return f"{flow_value_multiplier(account=obj):.4f}"

    # --- Bulk actions with a required reason -------------------------------------------------------------

    def bulk_form(self, request, queryset, *, form_class, action: str, title: str, apply):
        """An intermediate page asking for the reason (and more); on a valid post, apply to every account."""
        form = form_class(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            try:
                changed = apply(list(queryset.order_by("pk")), form)
            except ApplicationError as error:
                self.message_user(request, error.message, level=messages.ERROR)
                return None
            self.message_user(
                request,
                gettext("%(count)d account(s) changed; the others already were so.")
                % {"count": len(changed)},
                level=messages.SUCCESS,
            )
            return None
        return TemplateResponse(
            request,
            "admin/abuse/bulk_action.html",
            {
                **self.admin_site.each_context(request),
                "title": title,
                "opts": self.model._meta,
                "accounts": queryset.order_by("email"),
                "form": form,
                "action": action,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description=_("Grant insider status…"))
    def grant_insider(self, request, queryset):
        def apply(accounts, form):
            return [
                insider_grant(
                    account=account,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                    multiplier=form.cleaned_data["multiplier"],
                )
                for account in accounts
            ]

        return self.bulk_form(
            request,
            queryset,
            form_class=InsiderGrantForm,
            action="grant_insider",
            title=gettext("Grant insider status"),
            apply=apply,
        )

    @admin.action(description=_("Revoke insider status…"))
    def revoke_insider(self, request, queryset):
        def apply(accounts, form):
            return [
                account
                for account in accounts
                if account_insider_revoke(
                    account_id=account.pk, reason=form.cleaned_data["reason"], actor=request.user
                )
            ]

        return self.bulk_form(
            request,
            queryset,
            form_class=ReasonForm,
            action="revoke_insider",
            title=gettext("Revoke insider status"),
            apply=apply,
        )

    # --- The detail page: the evidence and one status change ---------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        account = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_view_or_change_permission(request, account):
            raise PermissionDenied
        form = StatusForm(request.POST or None, initial={"status": account.status})
        if request.method == "POST" and self.has_change_permission(request, account) and form.is_valid():
            try:
                account_set_status(
                    account=account,
                    status=form.cleaned_data["status"],
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(request, gettext("Status changed."), level=messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:abuse_reviewaccount_change", args=[account.pk]))
        signals = self._signals(account)
        labels = dict(Signal.choices)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Abuse review: %(account)s") % {"account": account.email},
            "opts": self.model._meta,
            "original": account,
            "form": form,
            "signals": signals,
            "signal_rows": [
                (labels[name], value, signals and name in signals.flagged)
                for name, value in (signals.values.items() if signals else [])
                if name in labels
            ],
            "sparkline": sparkline(signals.daily, width=210, height=48) if signals else "",
            "effective_multiplier": f"{flow_value_multiplier(account=account):.4f}",
            "events": selectors.review_recent_events(account_id=account.pk),
            "windows": selectors.review_current_windows(account_id=account.pk),
            "window_history": selectors.review_window_history(account_id=account.pk),
            "audit": selectors.review_audit_trail(account_id=account.pk),
            "account_url": reverse("admin:accounts_user_change", args=[account.pk]),
        }
        return TemplateResponse(request, "admin/abuse/review_detail.html", context)
