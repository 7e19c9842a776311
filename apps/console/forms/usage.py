from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.plans.models import CatalogModel

MAX_RANGE_DAYS = 366
# Dates a filter accepts: the same window as the management API, far from date.min/date.max, so the
# day after `end` and the ranges computed from it always exist.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2999, 12, 31)
ISO_DATE_INPUT = {"type": "date"}


class UsageDateRangeForm(forms.Form):
    """A date range (UTC days, both inclusive), from a GET query string."""

    # An <input type="date"> only takes ISO dates: a localized value ("2026/11/30" on Chinese pages) shows empty.
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(ISO_DATE_INPUT, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(ISO_DATE_INPUT, format="%Y-%m-%d")
    )

    def _clean_day(self, name: str) -> date | None:
        day = self.cleaned_data.get(name)
        if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
            raise forms.ValidationError(
                _("Enter a date from %(earliest)s to %(latest)s.")
                % {"earliest": EARLIEST_DAY.isoformat(), "latest": LATEST_DAY.isoformat()}
            )
        return day

    def clean_start(self):
        return self._clean_day("start")

    def clean_end(self):
        return self._clean_day("end")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError(_("The start date must be on or before the end date."))
            if (end - start).days > MAX_RANGE_DAYS:
                raise forms.ValidationError(
                    _("Choose a range of at most %(days)d days.") % {"days": MAX_RANGE_DAYS}
                )
        return cleaned

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """[start 00:00, the day after end 00:00) in UTC."""
        start, end = self.cleaned_data.get("start"), self.cleaned_data.get("end")
        return (
            datetime.combine(start, time.min, tzinfo=UTC) if start else None,
            datetime.combine(end, time.min, tzinfo=UTC) + timedelta(days=1) if end else None,
        )


class UsageRangeForm(UsageDateRangeForm):
    """A date range and an optional model."""

    model = forms.ModelChoiceField(
        label=_("Model"),
        queryset=CatalogModel.objects.order_by("slug"),
        to_field_name="slug",
        required=False,
        empty_label=_("All models"),
        error_messages={"invalid_choice": _("Unknown model.")},
    )
