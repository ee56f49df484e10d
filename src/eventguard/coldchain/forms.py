"""Forms of the cold-chain pages. They only parse input: every rule is the services' job.

Field names are those of the services' keyword arguments, so that a service's
ValidationError lands next to its field. Choice querysets come from the view, already
scoped to what the user may pick.
"""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import DisposalOutcome, Surface


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def _datetime(label, required=True):
    return forms.DateTimeField(label=label, widget=DateTimeInput(), required=required)


class ConsignmentForm(forms.Form):
    exhibitor = forms.ModelChoiceField(label=_("Exhibitor"), queryset=None)
    reference = forms.CharField(label=_("Consignment no."), max_length=40)
    port_of_entry = forms.CharField(label=_("Port of entry"), max_length=100)
    customs_declaration_no = forms.CharField(label=_("Customs declaration no."), max_length=40)
    origin_country = forms.CharField(label=_("Country of origin"), max_length=100)
    products = forms.CharField(label=_("Products"), max_length=300)

    def __init__(self, *args, exhibitors, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["exhibitor"].queryset = exhibitors
        if exhibitors.count() == 1:
            self.fields["exhibitor"].initial = exhibitors.first()


class UploadForm(forms.Form):
    file = forms.FileField(label=_("XLSX or CSV file"))
    dry_run = forms.BooleanField(
        label=_("Only check the file (write nothing)"), required=False, initial=True
    )


class PortReleaseForm(forms.Form):
    iq_certificate_no = forms.CharField(
        label=_("Inspection-and-quarantine certificate no."), max_length=60
    )
    at = _datetime(_("Released at"))


class BoxSelection(forms.Form):
    """Boxes named by their codes, or all boxes of a batch that are ready for the step."""

    codes = forms.CharField(
        label=_("Box codes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "CC-000001 CC-000002 …"}),
        help_text=_("Separated by spaces, commas or new lines."),
    )
    batch = forms.ModelChoiceField(
        label=_("Or every ready box of the batch"), queryset=None, required=False
    )

    def __init__(self, *args, batches, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["batch"].queryset = batches

    def box_codes(self) -> list[str]:
        return [c for c in re.split(r"[\s,;，；]+", self.cleaned_data.get("codes") or "") if c]

    def clean(self):
        data = super().clean()
        if not self.box_codes() and not data.get("batch"):
            raise forms.ValidationError(_("Name the boxes: their codes or a batch."))
        return data


class ReceiveForm(forms.Form):
    codes = BoxSelection.base_fields["codes"]
    warehouse = forms.ModelChoiceField(label=_("Warehouse"), queryset=None)
    number = forms.CharField(label=_("Batch no."), max_length=40)
    received_at = _datetime(_("Received at"))

    def __init__(self, *args, warehouses, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].queryset = warehouses
        self.fields["codes"].required = True

    def box_codes(self) -> list[str]:
        return [c for c in re.split(r"[\s,;，；]+", self.cleaned_data.get("codes") or "") if c]


class DisinfectionForm(BoxSelection):
    agent = forms.CharField(label=_("Disinfectant"), max_length=100)
    operator = forms.CharField(label=_("Operator"), max_length=100)
    performed_at = _datetime(_("Disinfected at"))
    surfaces = forms.MultipleChoiceField(
        label=_("Surfaces"),
        choices=Surface.choices,
        initial=Surface.values,
        widget=forms.CheckboxSelectMultiple,
    )


class SampleForm(BoxSelection):
    laboratory = forms.ModelChoiceField(label=_("Laboratory"), queryset=None)
    sampled_at = _datetime(_("Sampled at"))
    surfaces = forms.MultipleChoiceField(
        label=_("Surfaces"),
        choices=Surface.choices,
        initial=Surface.values,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, laboratories, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["laboratory"].queryset = laboratories


class ReleaseForm(BoxSelection):
    certificate_no = forms.CharField(label=_("Warehouse-exit certificate no."), max_length=60)
    released_at = _datetime(_("Released at"))


class DepartForm(BoxSelection):
    number = forms.CharField(label=_("Transport no."), max_length=40)
    vehicle_plate = forms.CharField(label=_("Vehicle plate"), max_length=20)
    carrier = forms.ModelChoiceField(label=_("Carrier"), queryset=None, required=False)
    departed_at = _datetime(_("Departed at"))

    def __init__(self, *args, carriers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["carrier"].queryset = carriers


class GateForm(forms.Form):
    code = forms.CharField(
        label=_("Box code or QR"),
        max_length=300,
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "off",
                "inputmode": "text",
                "autocapitalize": "characters",
                "enterkeyhint": "go",
            }
        ),
    )
    celsius = forms.DecimalField(
        label=_("Temperature at the gate (°C, optional)"),
        required=False,
        max_digits=5,
        decimal_places=1,
        widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"}),
    )


class SettingsForm(forms.Form):
    entry_deadline = _datetime(_("Cold-chain entry deadline"), required=False)
    at_risk_hours = forms.IntegerField(
        label=_("At risk when not cleared this many hours before the deadline"),
        min_value=0,
        max_value=24 * 30,
    )


class DisposeForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Disposal"), choices=DisposalOutcome.choices)
    reason = forms.CharField(label=_("Reason"), max_length=300)
