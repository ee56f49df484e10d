"""Forms of the equipment pages: they parse input; the services hold the rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from eventguard.hazards.models import HazardGrade

from .models import Answer, ChecklistTemplate, EquipmentKind, GuaranteeResult, TrafficLevel


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    """Several photos in one input (type and size are checked by the hazards service)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget",
            MultipleFileInput(
                attrs={"accept": "image/jpeg,image/png,image/webp", "capture": "environment"}
            ),
        )
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class PatrolWalkForm(forms.Form):
    """One radio group per checklist item; a fault opens a finding (text, grade, photos)."""

    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, checklist: ChecklistTemplate, **kwargs):
        super().__init__(*args, **kwargs)
        self.checklist = checklist
        self.items = []
        for item in checklist.items:
            code = item["code"]
            self.fields[f"answer_{code}"] = forms.ChoiceField(
                label=checklist.item_text(item),
                choices=Answer.choices,
                widget=forms.RadioSelect(attrs={"class": "answer", "data-item": code}),
                required=True,
                error_messages={"required": _("Answer this item.")},
            )
            self.fields[f"finding_{code}"] = forms.CharField(
                label=_("What is wrong"),
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.fields[f"grade_{code}"] = forms.ChoiceField(
                label=_("Grade"), choices=HazardGrade.choices, initial=HazardGrade.GENERAL
            )
            self.fields[f"photos_{code}"] = MultiplePhotoField(label=_("Photos"))
            self.items.append(code)

    def rows(self):
        """(item code, answer field, finding field, grade field, photos field) per item."""
        return [
            (
                code,
                self[f"answer_{code}"],
                self[f"finding_{code}"],
                self[f"grade_{code}"],
                self[f"photos_{code}"],
            )
            for code in self.items
        ]

    def answers(self) -> dict[str, str]:
        return {code: self.cleaned_data[f"answer_{code}"] for code in self.items}

    def findings(self):
        from .services import Finding

        return {
            code: Finding(
                description=self.cleaned_data.get(f"finding_{code}", ""),
                grade=self.cleaned_data.get(f"grade_{code}") or HazardGrade.GENERAL,
                photos=self.cleaned_data.get(f"photos_{code}") or [],
            )
            for code in self.items
            if self.cleaned_data.get(f"answer_{code}") == Answer.FAULT
        }


class PatrolPlanForm(forms.Form):
    day_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    day_to = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("day_from") and data.get("day_to") and data["day_to"] < data["day_from"]:
            raise forms.ValidationError(_("The last day comes before the first."))
        if data.get("day_from") and data.get("day_to"):
            if (data["day_to"] - data["day_from"]).days > 62:
                raise forms.ValidationError(_("Plan at most two months at a time."))
        return data


class GuaranteeTestForm(forms.Form):
    round = forms.ModelChoiceField(label=_("Round"), queryset=None)
    equipment = forms.ModelChoiceField(
        label=_("Equipment"),
        queryset=None,
        required=False,
        empty_label=_("The unit as a whole"),
    )
    tested_on = forms.DateField(
        label=_("Tested on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    result = forms.ChoiceField(label=_("Result"), choices=GuaranteeResult.choices)
    findings = forms.CharField(
        label=_("Findings"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, rounds, equipment, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["round"].queryset = rounds
        self.fields["equipment"].queryset = equipment


class SettingsForm(forms.Form):
    open_from = forms.TimeField(
        label=_("Venue opens at"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    open_until = forms.TimeField(
        label=_("Venue closes at"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    patrol_windows = forms.CharField(
        label=_("Patrol windows"),
        help_text=_(
            "One window a line, e.g. 09:00-12:00; one patrol of each lift and escalator per window."
        ),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_patrol_windows(self):
        windows = []
        for line in self.cleaned_data["patrol_windows"].splitlines():
            line = line.strip()
            if not line:
                continue
            parts = [p.strip() for p in line.replace("–", "-").split("-")]
            if len(parts) != 2:
                raise forms.ValidationError(_("Write each window as 09:00-12:00."))
            windows.append(parts)
        return windows


class EquipmentForm(forms.Form):
    code = forms.CharField(label=_("Equipment code"), max_length=40)
    registration_no = forms.CharField(
        label=_("Registration certificate no."), max_length=60, required=False
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=EquipmentKind.choices)
    model_name = forms.CharField(label=_("Make and model"), max_length=120, required=False)
    zone = forms.ModelChoiceField(label=_("Zone"), queryset=None, required=False)
    floor = forms.CharField(label=_("Floor"), max_length=10, required=False)
    position = forms.CharField(label=_("Position"), max_length=200, required=False)
    plan_x = forms.DecimalField(
        label=_("Plan x (%)"), required=False, min_value=0, max_value=100, decimal_places=2
    )
    plan_y = forms.DecimalField(
        label=_("Plan y (%)"), required=False, min_value=0, max_value=100, decimal_places=2
    )
    user_unit = forms.ModelChoiceField(label=_("User unit"), queryset=None)
    maintenance_unit = forms.ModelChoiceField(
        label=_("Maintenance unit"), queryset=None, required=False
    )
    last_inspection_on = forms.DateField(
        label=_("Last periodic inspection"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    next_inspection_due = forms.DateField(
        label=_("Next inspection due"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    is_core_area = forms.BooleanField(label=_("Core area"), required=False)
    traffic_level = forms.ChoiceField(label=_("Traffic level"), choices=TrafficLevel.choices)
    is_active = forms.BooleanField(label=_("In service"), required=False, initial=True)

    def __init__(self, *args, zones, units, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = zones
        self.fields["user_unit"].queryset = units
        self.fields["maintenance_unit"].queryset = units.filter(category__code="maintenance_unit")
        if editing:
            self.fields["code"].disabled = True
        else:
            del self.fields["is_active"]
