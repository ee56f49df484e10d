"""Forms of the dual-prevention pages: they parse input; the services hold the rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from eventguard.core.models import User

from .models import (
    CONSEQUENCE_CHOICES,
    EXPOSURE_CHOICES,
    LIKELIHOOD_CHOICES,
    HazardGrade,
    RiskDomain,
)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several photos in one input; type and size are checked by the service."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"})
        )
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Photos"))
        kwargs.setdefault("help_text", _("JPEG, PNG or WebP."))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class HazardReportForm(forms.Form):
    title = forms.CharField(label=_("Hidden danger"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    grade = forms.ChoiceField(label=_("Grade"), choices=HazardGrade.choices)
    zone = forms.ModelChoiceField(label=_("Zone"), queryset=None, required=False)
    unit = forms.ModelChoiceField(label=_("Responsible unit"), queryset=None, required=False)
    equipment = forms.ModelChoiceField(label=_("Equipment"), queryset=None, required=False)
    photos = PhotosField()

    def __init__(self, *args, zones, units, equipment, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = zones
        self.fields["unit"].queryset = units
        self.fields["equipment"].queryset = equipment


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("Responsible person"), queryset=User.objects.none())
    measure = forms.CharField(
        label=_("Rectification measure"), widget=forms.Textarea(attrs={"rows": 2})
    )
    deadline = forms.DateTimeField(
        label=pgettext_lazy("rectification", "Deadline"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    grade = forms.ChoiceField(label=_("Grade"), choices=HazardGrade.choices)
    note = forms.CharField(label=_("Note"), required=False)

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = people
        self.fields["assignee"].label_from_instance = lambda u: f"{u} ({u.username})"


class RectifyForm(forms.Form):
    note = forms.CharField(
        label=_("Rectification evidence"),
        help_text=_("What was done, by whom; add photos of the result."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    photos = PhotosField()


class VerifyForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False)


class RejectForm(forms.Form):
    note = forms.CharField(
        label=_("Reason for the rejection"), widget=forms.Textarea(attrs={"rows": 2})
    )


ACTION_FORMS = {
    "assign": AssignForm,
    "rectify": RectifyForm,
    "accept": VerifyForm,
    "reject": RejectForm,
}


class RiskPointForm(forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=40)
    title = forms.CharField(label=_("Risk point"), max_length=200)
    domain = forms.ChoiceField(label=_("Area of work"), choices=RiskDomain.choices)
    hazard_description = forms.CharField(
        label=_("Hazard description"), widget=forms.Textarea(attrs={"rows": 3})
    )
    likelihood = forms.TypedChoiceField(
        label=_("Likelihood (L)"), choices=[(str(v), label) for v, label in LIKELIHOOD_CHOICES]
    )
    exposure = forms.TypedChoiceField(
        label=_("Exposure (E)"), choices=[(str(v), label) for v, label in EXPOSURE_CHOICES]
    )
    consequence = forms.TypedChoiceField(
        label=_("Consequence (C)"), choices=[(str(v), label) for v, label in CONSEQUENCE_CHOICES]
    )
    zone = forms.ModelChoiceField(label=_("Zone"), queryset=None, required=False)
    equipment = forms.ModelChoiceField(label=_("Equipment"), queryset=None, required=False)
    responsible_unit = forms.ModelChoiceField(
        label=_("Responsible unit"), queryset=None, required=False
    )
    responsible_person = forms.ModelChoiceField(
        label=_("Responsible person"), queryset=None, required=False
    )
    control_measures = forms.CharField(
        label=_("Control measures"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    review_on = forms.DateField(
        label=_("Review date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, zones, equipment, units, people, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = zones
        self.fields["equipment"].queryset = equipment
        self.fields["responsible_unit"].queryset = units
        self.fields["responsible_person"].queryset = people
        self.fields["responsible_person"].label_from_instance = lambda u: f"{u} ({u.username})"
        if editing:
            self.fields["code"].disabled = True


class GradingForm(forms.Form):
    red_above = forms.DecimalField(label=_("Red (major) when D is above"), min_value=0)
    orange_from = forms.DecimalField(
        label=_("Orange (significant) when D is at least"), min_value=0
    )
    yellow_from = forms.DecimalField(label=_("Yellow (general) when D is at least"), min_value=0)
