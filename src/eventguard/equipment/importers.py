"""Import and export of the equipment registry and of the city-wide campaign's records
(XLSX or CSV, all or nothing, row-level errors), through the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, override

from eventguard.core.models import Event, Unit, Zone
from eventguard.core.tabular import Column, ImportResult, run_import

from . import services
from .models import Campaign, Equipment, EquipmentKind, TrafficLevel


def _choice(choices):
    """A choice by its value or its label in either language."""

    def parse(text: str) -> str:
        value = text.strip().lower()
        for key, label in choices:
            names = {str(key).lower()}
            for language in ("en", "zh-hans"):
                with override(language):
                    names.add(str(label).lower())
            if value in names:
                return key
        raise ValidationError(
            _("“%(value)s” is not one of: %(allowed)s.")
            % {"value": text, "allowed": ", ".join(str(k) for k, _label in choices)}
        )

    return parse


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError as exc:
        raise ValidationError(
            _("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": text}
        ) from exc


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text.strip())
    except InvalidOperation as exc:
        raise ValidationError(_("“%(value)s” is not a number.") % {"value": text}) from exc


def _count(text: str) -> int:
    try:
        value = int(Decimal(text.strip()))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError(_("“%(value)s” is not a whole number.") % {"value": text}) from exc
    if value < 0:
        raise ValidationError(_("A count cannot be negative."))
    return value


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "y", "是", "x", "✓"}:
        return True
    if value in {"0", "false", "no", "n", "否"}:
        return False
    raise ValidationError(_("“%(value)s” is not yes or no.") % {"value": text})


# ---------------------------------------------------------------- equipment

EQUIPMENT_COLUMNS = [
    Column("code", gettext_lazy("Equipment code"), required=True),
    Column("kind", gettext_lazy("Kind"), required=True, parse=_choice(EquipmentKind.choices)),
    Column("registration_no", gettext_lazy("Registration certificate no.")),
    Column("model_name", gettext_lazy("Make and model")),
    Column("zone", gettext_lazy("Zone"), export=lambda e: e.zone.code if e.zone else ""),
    Column("floor", gettext_lazy("Floor")),
    Column("position", gettext_lazy("Position")),
    Column("plan_x", gettext_lazy("Plan x (%)"), parse=_decimal),
    Column("plan_y", gettext_lazy("Plan y (%)"), parse=_decimal),
    Column(
        "user_unit",
        gettext_lazy("User unit credit code"),
        required=True,
        export=lambda e: e.user_unit.credit_code,
    ),
    Column(
        "maintenance_unit",
        gettext_lazy("Maintenance unit credit code"),
        export=lambda e: e.maintenance_unit.credit_code if e.maintenance_unit else "",
    ),
    Column("last_inspection_on", gettext_lazy("Last periodic inspection"), parse=_date),
    Column("next_inspection_due", gettext_lazy("Next inspection due"), parse=_date),
    Column("is_core_area", gettext_lazy("Core area"), parse=_bool),
    Column("traffic_level", gettext_lazy("Traffic level"), parse=_choice(TrafficLevel.choices)),
]


def _unit_by_credit_code(event: Event, code: str, field: str, categories: list[str]) -> Unit:
    matches = list(
        Unit.objects.filter(event=event, credit_code=code.strip().upper()).select_related(
            "category"
        )
    )
    preferred = [u for u in matches if u.category.code in categories]
    matches = preferred or matches
    if len(matches) != 1:
        raise ValidationError(
            {field: _("No single unit with credit code “%(code)s” in this event.") % {"code": code}}
        )
    return matches[0]


def import_equipment(
    *, actor, event: Event, content: bytes, filename: str, dry_run: bool
) -> ImportResult:
    zones = {z.code: z for z in Zone.objects.filter(event=event)}
    seen: set[str] = set()

    def apply_row(values: dict, row: int) -> str:
        code = values["code"].strip()
        if code in seen:
            raise ValidationError(
                {"code": _("Equipment code “%(c)s” appears twice.") % {"c": code}}
            )
        seen.add(code)
        fields = {
            key: values[key]
            for key in (
                "kind",
                "registration_no",
                "model_name",
                "floor",
                "position",
                "plan_x",
                "plan_y",
                "last_inspection_on",
                "next_inspection_due",
                "is_core_area",
                "traffic_level",
            )
            if key in values
        }
        if values.get("zone"):
            zone = zones.get(values["zone"])
            if zone is None:
                raise ValidationError(
                    {
                        "zone": _("No zone with code “%(code)s” in this event.")
                        % {"code": values["zone"]}
                    }
                )
            fields["zone"] = zone
        fields["user_unit"] = _unit_by_credit_code(
            event, values["user_unit"], "user_unit", ["equipment_user_unit", "key_guarantee_unit"]
        )
        if values.get("maintenance_unit"):
            fields["maintenance_unit"] = _unit_by_credit_code(
                event, values["maintenance_unit"], "maintenance_unit", ["maintenance_unit"]
            )
        existing = Equipment.objects.filter(event=event, code=code).first()
        if existing is not None:
            services.equipment_update(actor=actor, equipment=existing, **fields)
            return "updated"
        services.equipment_create(actor=actor, event=event, code=code, **fields)
        return "created"

    return run_import(
        content=content,
        filename=filename,
        columns=EQUIPMENT_COLUMNS,
        apply_row=apply_row,
        dry_run=dry_run,
    )


# ---------------------------------------------------------------- campaign records

CAMPAIGN_COLUMNS = [
    Column(
        "campaign", gettext_lazy("Campaign code"), required=True, export=lambda r: r.campaign.code
    ),
    Column("district", gettext_lazy("District"), required=True),
    Column("period_start", gettext_lazy("From"), required=True, parse=_date),
    Column("period_end", gettext_lazy("To"), required=True, parse=_date),
    Column("units_inspected", gettext_lazy("Units inspected"), required=True, parse=_count),
    Column("equipment_sets", gettext_lazy("Equipment sets inspected"), required=True, parse=_count),
    Column("notes", gettext_lazy("Notes")),
]


def import_campaign_records(
    *, actor, event: Event, content: bytes, filename: str, dry_run: bool
) -> ImportResult:
    campaigns = {c.code: c for c in Campaign.objects.filter(event=event)}
    seen: set[tuple] = set()

    def apply_row(values: dict, row: int) -> str:
        campaign = campaigns.get(values["campaign"])
        if campaign is None:
            raise ValidationError(
                {
                    "campaign": _("No campaign with code “%(code)s” in this event.")
                    % {"code": values["campaign"]}
                }
            )
        key = (campaign.pk, values["district"].strip(), values["period_start"])
        if key in seen:
            raise ValidationError(
                {"district": _("This district and period appear twice in the file.")}
            )
        seen.add(key)
        _record, created = services.campaign_record_save(
            actor=actor,
            campaign=campaign,
            district=values["district"],
            period_start=values["period_start"],
            period_end=values["period_end"],
            units_inspected=values["units_inspected"],
            equipment_sets=values["equipment_sets"],
            notes=values.get("notes", ""),
        )
        return "created" if created else "updated"

    return run_import(
        content=content,
        filename=filename,
        columns=CAMPAIGN_COLUMNS,
        apply_row=apply_row,
        dry_run=dry_run,
    )
