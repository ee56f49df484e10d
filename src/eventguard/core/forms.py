"""Forms of the registry's pages. They only parse input: every rule is the services' job.

Field names are those of the services' keyword arguments, so that a service's
ValidationError lands next to the field it is about (``core.web.add_service_errors``).
Choice querysets come from the view, already scoped to what the user may pick.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Domain, Role, ZoneKind

LANGUAGE_CHOICES = [("zh-hans", "简体中文"), ("en", "English")]
# The domains a role assignment can be narrowed to (the registry comes with every role).
NARROWING_DOMAINS = [(d.value, d.label) for d in Domain if d not in (Domain.REGISTRY, Domain.AUDIT)]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class EventForm(forms.Form):
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=200)
    name_en = forms.CharField(label=_("Name (English)"), max_length=200)
    time_zone = forms.CharField(label=_("Time zone"), max_length=64)
    preparation_start = forms.DateField(label=_("Preparation starts"), widget=DateInput())
    opening = forms.DateField(label=_("Opening"), widget=DateInput())
    closing = forms.DateField(label=_("Closing"), widget=DateInput())


class ZoneForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=50)
    kind = forms.ChoiceField(label=_("Kind"), choices=ZoneKind.choices)
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=200)
    name_en = forms.CharField(label=_("Name (English)"), max_length=200, required=False)
    parent = forms.ModelChoiceField(
        label=_("Parent"),
        queryset=None,
        required=False,
        empty_label=_("(none: a venue at the top)"),
    )
    is_core_area = forms.BooleanField(label=_("Core area"), required=False)

    def __init__(self, *args, parents, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = parents
        self.fields["parent"].label_from_instance = _zone_label


class UnitForm(forms.Form):
    category = forms.ModelChoiceField(label=_("Category"), queryset=None)
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=200)
    name_en = forms.CharField(label=_("Name (English)"), max_length=200, required=False)
    credit_code = forms.CharField(
        label=_("Unified social credit code"),
        max_length=18,
        help_text=_("18 characters; the last one is a check character."),
    )
    zone = forms.ModelChoiceField(label=_("Zone"), queryset=None, required=False)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    contact_name = forms.CharField(label=_("Contact person"), max_length=100, required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=32, required=False)
    contact_email = forms.CharField(
        label=_("Contact e-mail"),
        max_length=254,
        required=False,
        widget=forms.EmailInput(),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, categories, zones, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = categories
        self.fields["zone"].queryset = zones
        self.fields["zone"].label_from_instance = _zone_label
        if not editing:
            del self.fields["is_active"]  # a new unit is always active


class PersonCreateForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    display_name = forms.CharField(label=_("Display name"), max_length=100, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    email = forms.CharField(
        label=_("E-mail"), max_length=254, required=False, widget=forms.EmailInput()
    )
    organisation = forms.CharField(label=_("Organisation"), max_length=200, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGE_CHOICES)
    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty: the person cannot log in until a password is set."),
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    zones = forms.ModelMultipleChoiceField(
        label=_("Zones"),
        queryset=None,
        required=False,
        help_text=_(
            "Empty: every zone. Zone-scoped roles see only these zones and what is in them."
        ),
    )
    domains = forms.MultipleChoiceField(
        label=_("Domains"),
        choices=NARROWING_DOMAINS,
        required=False,
        widget=forms.CheckboxSelectMultiple(),
        help_text=_("Empty: every domain the role allows."),
    )
    unit = forms.ModelChoiceField(
        label=_("Own unit"),
        queryset=None,
        required=False,
        help_text=_("Required for unit operators and exhibitors, empty for every other role."),
    )

    def __init__(self, *args, zones, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["zones"].queryset = zones
        self.fields["zones"].label_from_instance = _zone_label
        self.fields["unit"].queryset = units

    PERSON_FIELDS = ("username", "display_name", "phone", "email", "organisation", "language")
    ROLE_FIELDS = ("role", "zones", "domains", "unit")

    def person_values(self) -> dict:
        values = {k: self.cleaned_data[k] for k in self.PERSON_FIELDS}
        values["password"] = self.cleaned_data["password"] or None
        return values

    def role_values(self) -> dict:
        return {k: self.cleaned_data[k] for k in self.ROLE_FIELDS}


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("An .xlsx workbook (first sheet) or a .csv file, with a header row."),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )
    dry_run = forms.BooleanField(
        label=_("Dry run: check the file without saving anything"),
        required=False,
        initial=True,
    )


def _zone_label(zone) -> str:
    depth = max(zone.path.count("/") - 2, 0)
    return f"{'— ' * depth}{zone.name} ({zone.code})"
