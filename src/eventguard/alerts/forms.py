"""The forms of the alerts pages: a rule's settings and parameters, an alarm's notes.

The rule form builds its parameter fields from ``rules.KIND_PARAMS``, the same table the
service validates against; the service has the last word.
"""

from __future__ import annotations

import json

import pydantic
from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from eventguard.core.models import Domain

from .models import Rule, Severity
from .rules import KIND_PARAMS, Param

PARAM_PREFIX = "param_"


def _param_field(param: Param) -> forms.Field:
    common = {"label": param.label, "required": param.required, "help_text": param.help}
    if param.type == "choice":
        return forms.ChoiceField(choices=[("", "—"), *param.choice_list()], **common)
    if param.type == "choices":
        return forms.MultipleChoiceField(
            choices=param.choice_list(), widget=forms.CheckboxSelectMultiple, **common
        )
    if param.type == "float":
        return forms.FloatField(min_value=param.minimum, max_value=param.maximum, **common)
    if param.type == "int":
        return forms.IntegerField(min_value=param.minimum, max_value=param.maximum, **common)
    if param.type == "object":
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), **common)
    return forms.CharField(max_length=500, **common)


def _initial(param: Param, value):
    if param.type == "object":
        return json.dumps(value or {}, ensure_ascii=False)
    if param.type == "texts":
        return ", ".join(value or [])
    return value


class RuleForm(forms.Form):
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=200)
    name_en = forms.CharField(label=_("Name (English)"), max_length=200, required=False)
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)
    domain = forms.ChoiceField(label=_("Domain"), choices=Domain.choices)
    enabled = forms.BooleanField(label=_("Enabled"), required=False)
    auto_clear = forms.BooleanField(label=_("Clears by itself"), required=False)
    interval_seconds = forms.IntegerField(label=_("Evaluated every (seconds)"), min_value=5)
    ack_within_seconds = forms.IntegerField(
        label=_("Acknowledge within (seconds)"),
        min_value=10,
        required=False,
        help_text=_(
            "Unacknowledged longer than this, the alarm goes to the next level of the "
            "escalation chain, unless the level's own time is shorter. Empty: each level's "
            "own time."
        ),
    )

    def __init__(self, *args, rule: Rule, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "name_zh": rule.name_zh,
                "name_en": rule.name_en,
                "severity": rule.severity,
                "domain": rule.domain,
                "enabled": rule.enabled,
                "auto_clear": rule.auto_clear,
                "interval_seconds": rule.interval_seconds,
                "ack_within_seconds": rule.ack_within_seconds,
                **{
                    PARAM_PREFIX + p.name: _initial(p, rule.params.get(p.name))
                    for p in KIND_PARAMS[rule.kind]
                },
            },
        )
        super().__init__(*args, **kwargs)
        self.rule = rule
        self.param_names = []
        for param in KIND_PARAMS[rule.kind]:
            self.fields[PARAM_PREFIX + param.name] = _param_field(param)
            self.param_names.append(PARAM_PREFIX + param.name)
        if rule.source != "time" and rule.kind != "device_offline":
            del self.fields["interval_seconds"]

    def clean(self):
        cleaned = super().clean()
        for name in self.param_names:
            if (
                name in cleaned
                and isinstance(cleaned[name], str)
                and name.endswith(("match", "options"))
            ):
                try:
                    cleaned[name] = json.loads(cleaned[name]) if cleaned[name].strip() else {}
                except ValueError:
                    self.add_error(name, _('Write a JSON object, e.g. {"hours": 24}.'))
        return cleaned

    def changes(self) -> dict:
        """The cleaned form as the keyword arguments of ``rule_update``."""
        data = dict(self.cleaned_data)
        params = {
            name[len(PARAM_PREFIX) :]: data.pop(name) for name in self.param_names if name in data
        }
        return {**data, "params": params}


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ClearForm(forms.Form):
    note = forms.CharField(label=_("Why is it cleared?"), widget=forms.Textarea(attrs={"rows": 2}))


class AssignForm(forms.Form):
    assignee = forms.CharField(
        label=_("Assign to (username)"),
        required=False,
        help_text=_("Empty to take the alarm back."),
    )


class CommentForm(forms.Form):
    text = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 2}))


def parse_filters(schema, query):
    """The filters of a query string through the FilterSchema the API uses; a value that
    does not parse is dropped and named."""
    data = {name: query.get(name) for name in schema.model_fields if query.get(name, "") != ""}
    errors = []
    while True:
        try:
            return schema(**data), errors
        except pydantic.ValidationError as exc:
            bad = {str(e["loc"][0]) for e in exc.errors() if e.get("loc")} & set(data)
            if not bad:
                return schema(), errors
            for name in sorted(bad):
                errors.append(
                    gettext("“%(value)s” is not a valid value for %(name)s.")
                    % {"value": data.pop(name), "name": name}
                )
