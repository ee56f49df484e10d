"""Import and export definitions of the registry: zones, units and people."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from . import services
from .models import Domain, Event, Role, RoleAssignment, Unit, UnitCategory, User, Zone, ZoneKind
from .tabular import Column, ImportResult, run_import


def _parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "y", "是", "x", "✓"}:
        return True
    if value in {"0", "false", "no", "n", "否", ""}:
        return False
    raise ValidationError(_("“%(value)s” is not yes or no.") % {"value": text})


def _choice(choices):
    def parse(text: str) -> str:
        value = text.strip()
        for key, label in choices:
            if value.lower() in {key.lower(), str(label).lower()}:
                return key
        raise ValidationError(
            _("“%(value)s” is not one of: %(allowed)s.")
            % {"value": text, "allowed": ", ".join(k for k, _l in choices)}
        )

    return parse


class SeenKeys:
    """Refuses a second row for the same record within one file."""

    def __init__(self, field: str):
        self.field = field
        self.rows: dict = {}

    def check(self, key, row: int) -> None:
        first = self.rows.setdefault(key, row)
        if first != row:
            raise ValidationError(
                {
                    self.field: _("The same record is already in row %(row)d of this file.")
                    % {"row": first}
                }
            )


def _list(text: str) -> list[str]:
    return [
        part.strip()
        for part in text.replace("；", ";").replace(",", ";").split(";")
        if part.strip()
    ]


# ---------------------------------------------------------------- zones

ZONE_COLUMNS = [
    Column("code", _l("Code"), required=True),
    Column("kind", _l("Kind"), required=True, parse=_choice(ZoneKind.choices)),
    Column("name_zh", _l("Name (Chinese)"), required=True),
    Column("name_en", _l("Name (English)")),
    Column("parent", _l("Parent"), export=lambda z: z.parent.code if z.parent else ""),
    Column("is_core_area", _l("Core area"), parse=_parse_bool),
]


def import_zones(
    *, actor, event: Event, content: bytes, filename: str, dry_run: bool
) -> ImportResult:
    seen = SeenKeys("code")

    def apply_row(values: dict, row: int) -> str:
        seen.check(values["code"], row)
        parent = None
        if values.get("parent"):
            parent = Zone.objects.filter(event=event, code=values["parent"]).first()
            if parent is None:
                raise ValidationError(
                    {
                        "parent": _(
                            "No zone with code “%(code)s” in this event (a parent must come "
                            "before its children)."
                        )
                        % {"code": values["parent"]}
                    }
                )
        fields = {
            "kind": values["kind"],
            "name_zh": values["name_zh"],
            "name_en": values.get("name_en", ""),
            "parent": parent,
            "is_core_area": values.get("is_core_area", False),
        }
        existing = Zone.objects.filter(event=event, code=values["code"]).first()
        if existing:
            services.zone_update(actor=actor, zone=existing, **fields)
            return "updated"
        services.zone_create(actor=actor, event=event, code=values["code"], **fields)
        return "created"

    return run_import(
        content=content,
        filename=filename,
        columns=ZONE_COLUMNS,
        apply_row=apply_row,
        dry_run=dry_run,
    )


# ---------------------------------------------------------------- units


def _category(text: str) -> UnitCategory:
    value = text.strip()
    for category in UnitCategory.objects.filter(is_active=True):
        if value.lower() in {
            category.code.lower(),
            category.name_zh.lower(),
            category.name_en.lower(),
        }:
            return category
    raise ValidationError(_("Unknown unit category “%(value)s”.") % {"value": text})


UNIT_COLUMNS = [
    Column(
        "category", _l("Category"), required=True, parse=_category, export=lambda u: u.category.code
    ),
    Column("name_zh", _l("Name (Chinese)"), required=True),
    Column("name_en", _l("Name (English)")),
    Column("credit_code", _l("Unified social credit code"), required=True),
    Column("address", _l("Address")),
    Column("zone", _l("Zone"), export=lambda u: u.zone.code if u.zone else ""),
    Column("contact_name", _l("Contact person")),
    Column("contact_phone", _l("Contact phone")),
    Column("contact_email", _l("Contact e-mail")),
    Column("notes", _l("Notes")),
]


def import_units(
    *, actor, event: Event, content: bytes, filename: str, dry_run: bool
) -> ImportResult:
    zones = {z.code: z for z in Zone.objects.filter(event=event)}
    seen = SeenKeys("credit_code")

    def apply_row(values: dict, row: int) -> str:
        seen.check((values["category"].pk, values["credit_code"].strip().upper()), row)
        zone = None
        if values.get("zone"):
            zone = zones.get(values["zone"])
            if zone is None:
                raise ValidationError(
                    {
                        "zone": _("No zone with code “%(code)s” in this event.")
                        % {"code": values["zone"]}
                    }
                )
        credit_code = values["credit_code"].strip().upper()
        fields = {
            "name_zh": values["name_zh"],
            "name_en": values.get("name_en", ""),
            "address": values.get("address", ""),
            "zone": zone,
            "contact_name": values.get("contact_name", ""),
            "contact_phone": values.get("contact_phone", ""),
            "contact_email": values.get("contact_email", ""),
            "notes": values.get("notes", ""),
        }
        existing = Unit.objects.filter(
            event=event, category=values["category"], credit_code=credit_code
        ).first()
        if existing:
            services.unit_update(actor=actor, unit=existing, **fields)
            return "updated"
        services.unit_create(
            actor=actor, event=event, category=values["category"], credit_code=credit_code, **fields
        )
        return "created"

    return run_import(
        content=content,
        filename=filename,
        columns=UNIT_COLUMNS,
        apply_row=apply_row,
        dry_run=dry_run,
    )


# ---------------------------------------------------------------- people


PEOPLE_COLUMNS = [
    Column("username", _l("Username"), required=True, export=lambda a: a.user.username),
    Column("display_name", _l("Display name"), export=lambda a: a.user.display_name),
    Column("phone", _l("Phone"), export=lambda a: a.user.phone),
    Column("email", _l("E-mail"), export=lambda a: a.user.email),
    Column("organisation", _l("Organisation"), export=lambda a: a.user.organisation),
    Column(
        "language",
        _l("Language"),
        parse=_choice([("zh-hans", "简体中文"), ("en", "English")]),
        export=lambda a: a.user.language,
    ),
    Column("role", _l("Role"), required=True, parse=_choice(Role.choices)),
    Column(
        "zones", _l("Zones"), parse=_list, export=lambda a: ";".join(z.code for z in a.zones.all())
    ),
    Column("domains", _l("Domains"), parse=_list, export=lambda a: ";".join(a.domains)),
    Column("unit", _l("Unit credit code"), export=lambda a: a.unit.credit_code if a.unit else ""),
]


def import_people(
    *, actor, event: Event, content: bytes, filename: str, dry_run: bool
) -> ImportResult:
    zones = {z.code: z for z in Zone.objects.filter(event=event)}
    seen = SeenKeys("role")

    def apply_row(values: dict, row: int) -> str:
        seen.check((values["username"], values["role"]), row)
        missing = [code for code in values.get("zones", []) if code not in zones]
        if missing:
            raise ValidationError(
                {
                    "zones": _("No zone with code %(codes)s in this event.")
                    % {"codes": ", ".join(missing)}
                }
            )
        bad_domains = [d for d in values.get("domains", []) if d not in Domain.values]
        if bad_domains:
            raise ValidationError(
                {"domains": _("Unknown domain: %(names)s.") % {"names": ", ".join(bad_domains)}}
            )
        unit = None
        if values.get("unit"):
            matches = list(Unit.objects.filter(event=event, credit_code=values["unit"].upper()))
            if len(matches) != 1:
                raise ValidationError(
                    {
                        "unit": _("No single unit with credit code “%(code)s” in this event.")
                        % {"code": values["unit"]}
                    }
                )
            unit = matches[0]
        user = User.objects.filter(username=values["username"]).first()
        outcome = "updated"
        profile = {
            k: values[k]
            for k in ("display_name", "phone", "email", "organisation", "language")
            if k in values
        }
        if user is None:
            user = services.person_create(
                actor=actor, username=values["username"], event=event, **profile
            )
            outcome = "created"
        elif profile:
            services.person_update(actor=actor, user=user, event=event, **profile)
        existing = RoleAssignment.objects.filter(
            user=user, event=event, role=values["role"]
        ).first()
        if existing is None:
            services.role_assign(
                actor=actor,
                user=user,
                event=event,
                role=values["role"],
                zones=[zones[c] for c in values.get("zones", [])],
                domains=values.get("domains", []),
                unit=unit,
            )
            outcome = "created"
        return outcome

    return run_import(
        content=content,
        filename=filename,
        columns=PEOPLE_COLUMNS,
        apply_row=apply_row,
        dry_run=dry_run,
    )


ASSIGNMENT_EXPORT_COLUMNS = PEOPLE_COLUMNS
