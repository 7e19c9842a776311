"""Forms for the notification preferences and webhook endpoint pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.notifications import kinds
from apps.usage.hooks import QUOTA_ALERT_MIN_PERCENT


def field_name(kind: str, channel: str) -> str:
    return f"{kind.replace('.', '__')}__{channel}"


class PreferencesForm(forms.Form):
    """A checkbox per event kind and channel, and the quota thresholds as a comma-separated list."""

    quota_thresholds = forms.CharField(
        label=_("Alert thresholds (percent of a quota window, an API key's spend limit or a spend cap)"),
        max_length=40,
        help_text=_("Comma-separated whole percentages from %(min)s to 100, e.g. 80, 95, 100.")
        % {"min": QUOTA_ALERT_MIN_PERCENT},
    )

    def __init__(self, *args, settings_row, **kwargs):
        from apps.notifications.services import channels_for, thresholds_for

        initial = {
            "quota_thresholds": ", ".join(str(value) for value in thresholds_for(settings_row=settings_row))
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.rows = []
        for code, kind in kinds.KINDS.items():
            current = channels_for(settings_row=settings_row, kind=code)
            cells = []
            for channel in kinds.CHANNELS:
                if channel == kinds.WEBHOOK and not kind.webhook:
                    cells.append(None)
                    continue
                name = field_name(code, channel)
                self.fields[name] = forms.BooleanField(
                    required=False,
                    initial=current[channel],
                    label=f"{kind.label} — {kinds.CHANNEL_LABELS[channel]}",
                )
                cells.append(name)
            self.rows.append(
                {"code": code, "kind": kind, "category": kinds.CATEGORY_LABELS[kind.category], "cells": cells}
            )

    def table(self):
        return [
            {**row, "cells": [self[name] if name else None for name in row["cells"]]} for row in self.rows
        ]

    def clean_quota_thresholds(self) -> list[int]:
        parts = [part.strip().rstrip("%") for part in self.cleaned_data["quota_thresholds"].split(",")]
        try:
            return [int(part) for part in parts if part]
        except ValueError as error:
            raise forms.ValidationError(_("Enter whole numbers separated by commas.")) from error

    def channels(self) -> dict[str, dict[str, bool]]:
        result: dict[str, dict[str, bool]] = {}
        for row in self.rows:
            chosen = {}
            for channel, name in zip(kinds.CHANNELS, row["cells"], strict=True):
                if name:
                    chosen[channel] = bool(self.cleaned_data.get(name))
            result[row["code"]] = chosen
        return result


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(label=_("Endpoint URL"), max_length=500, assume_scheme="https")
    description = forms.CharField(label=_("Description"), max_length=100, required=False)
    events = forms.MultipleChoiceField(
        label=_("Events"),
        widget=forms.CheckboxSelectMultiple,
        choices=[(code, kinds.KINDS[code].label) for code in kinds.WEBHOOK_KINDS],
    )
