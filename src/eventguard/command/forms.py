"""The forms of the unified-command pages; the services have the last word."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class DispatchForm(forms.Form):
    assignee = forms.CharField(
        label=_("Assignee (username)"),
        required=False,
        help_text=_("Empty for a lift or escalator alarm: the person on post there now."),
    )
    deadline_minutes = forms.IntegerField(
        label=_("Deadline in minutes"), min_value=1, max_value=7 * 24 * 60, initial=30
    )
    instructions = forms.CharField(
        label=_("Instructions"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class StepForm(forms.Form):
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    photos = forms.FileField(
        label=_("Photos"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )


class _WhatReachesForm(forms.Form):
    """Severities and domains to filter on (a person's channel, a webhook)."""

    severities = forms.MultipleChoiceField(
        label=_("Severities (none ticked: all)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    domains = forms.MultipleChoiceField(
        label=_("Domains (none ticked: all)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, **kwargs):
        from eventguard.alerts.models import Severity
        from eventguard.core.models import Domain

        super().__init__(*args, **kwargs)
        self.fields["severities"].choices = Severity.choices
        self.fields["domains"].choices = [c for c in Domain.choices if c[0] != "audit"]


class PreferenceForm(_WhatReachesForm):
    """One channel's choice; empty lists mean every severity or domain."""

    enabled = forms.BooleanField(label=_("Send to me on this channel"), required=False)
    field_order = ["enabled", "severities", "domains"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)


class EscalationLevelForm(forms.Form):
    """One level of a chain; the level number only when adding one."""

    level = forms.IntegerField(
        label=_("Level"),
        help_text=_("The next number after the last level; move it up afterwards if needed."),
    )
    target = forms.ChoiceField(label=_("Who is told"))
    ack_within_seconds = forms.IntegerField(
        label=_("Acknowledge within (seconds)"),
        help_text=_("Unacknowledged longer than this, the alarm goes to the next level."),
    )
    remind_every_seconds = forms.IntegerField(
        label=_("Remind every (seconds)"),
        help_text=_("At the last level, how often the reminder repeats until acknowledged."),
    )

    def __init__(self, *args, adding: bool = False, **kwargs):
        from .models import EscalationTarget

        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [("", "---------"), *EscalationTarget.choices]
        if not adding:
            del self.fields["level"]


class WebhookForm(_WhatReachesForm):
    """A webhook's name, address and filters; the secret only when creating one."""

    name = forms.CharField(label=_("Name"), max_length=100)
    url = forms.CharField(
        label=_("URL"),
        max_length=500,
        widget=forms.URLInput(attrs={"inputmode": "url", "placeholder": "https://"}),
    )
    secret = forms.CharField(
        label=_("Signing secret"),
        required=False,
        max_length=128,
        help_text=_("Empty: a strong one is generated. It is shown once, after saving."),
    )
    field_order = ["name", "url", "severities", "domains", "secret"]

    def __init__(self, *args, creating: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not creating:
            del self.fields["secret"]
