"""Typed shapes of the registry's JSON API: what a client sends and what it receives.

Records named in both languages carry ``name_zh``, ``name_en`` and ``name`` (the name in
the caller's language). Input schemas refuse unknown fields, so a misspelt field is an
error naming it rather than a change silently ignored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict

from .models import Domain, Role, ZoneKind

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50


class InputSchema(Schema):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- errors and paging


class FieldError(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    detail: str
    errors: list[FieldError] = []


class PageParams(Schema):
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(0, ge=0)


# ---------------------------------------------------------------- references


class CategoryOut(Schema):
    code: str
    name_zh: str
    name_en: str
    name: str
    domain: str


class ZoneRef(Schema):
    id: int
    code: str
    kind: str
    name_zh: str
    name_en: str
    name: str


class UnitRef(Schema):
    id: int
    category: str
    name_zh: str
    name_en: str
    name: str
    credit_code: str

    @staticmethod
    def resolve_category(obj) -> str:
        return obj.category.code


class PersonOut(Schema):
    id: int
    username: str
    display_name: str
    email: str
    phone: str
    organisation: str
    language: str


# ---------------------------------------------------------------- events


class EventOut(Schema):
    code: str
    name_zh: str
    name_en: str
    name: str
    time_zone: str
    preparation_start: dt.date
    opening: dt.date
    closing: dt.date


class EventPatch(InputSchema):
    name_zh: str | None = None
    name_en: str | None = None
    time_zone: str | None = None
    preparation_start: dt.date | None = None
    opening: dt.date | None = None
    closing: dt.date | None = None


# ---------------------------------------------------------------- who am I


class MyRoleOut(Schema):
    id: int
    role: str
    role_label: str
    zones: list[ZoneRef]
    domains: list[str]
    unit: UnitRef | None

    @staticmethod
    def resolve_role_label(obj) -> str:
        return str(obj.get_role_display())

    @staticmethod
    def resolve_zones(obj) -> list:
        return list(obj.zones.all())


class MyEventOut(EventOut):
    roles: list[MyRoleOut]


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    email: str
    phone: str
    organisation: str
    language: str
    is_superuser: bool
    events: list[MyEventOut]


# ---------------------------------------------------------------- zones


class ZoneOut(Schema):
    id: int
    event: str
    parent: int | None
    kind: str
    kind_label: str
    code: str
    name_zh: str
    name_en: str
    name: str
    is_core_area: bool

    @staticmethod
    def resolve_event(obj) -> str:
        return obj.event.code

    @staticmethod
    def resolve_parent(obj) -> int | None:
        return obj.parent_id

    @staticmethod
    def resolve_kind_label(obj) -> str:
        return str(obj.get_kind_display())


class ZoneIn(InputSchema):
    event: str = Field(..., description="The event's code.")
    kind: ZoneKind
    code: str
    name_zh: str
    name_en: str = ""
    parent: int | None = Field(None, description="Id of the parent zone (none for a venue).")
    is_core_area: bool = False


class ZonePatch(InputSchema):
    kind: ZoneKind | None = None
    code: str | None = None
    name_zh: str | None = None
    name_en: str | None = None
    parent: int | None = None
    is_core_area: bool | None = None


class ZonePage(Schema):
    count: int
    items: list[ZoneOut]


# ---------------------------------------------------------------- units


class UnitOut(Schema):
    id: int
    event: str
    category: CategoryOut
    name_zh: str
    name_en: str
    name: str
    credit_code: str
    address: str
    zone: ZoneRef | None
    contact_name: str
    contact_phone: str
    contact_email: str
    is_active: bool
    notes: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_event(obj) -> str:
        return obj.event.code


class UnitIn(InputSchema):
    event: str = Field(..., description="The event's code.")
    category: str = Field(..., description="Code of the unit category.")
    name_zh: str
    credit_code: str = Field(..., description="Unified social credit code (18 characters).")
    name_en: str = ""
    address: str = ""
    zone: int | None = Field(None, description="Id of the zone the unit stands in.")
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    notes: str = ""


class UnitPatch(InputSchema):
    category: str | None = None
    name_zh: str | None = None
    name_en: str | None = None
    credit_code: str | None = None
    address: str | None = None
    zone: int | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    is_active: bool | None = None
    notes: str | None = None


class UnitPage(Schema):
    count: int
    items: list[UnitOut]


# ---------------------------------------------------------------- role assignments


class AssignmentOut(Schema):
    id: int
    event: str
    person: PersonOut
    role: str
    role_label: str
    zones: list[ZoneRef]
    domains: list[str]
    unit: UnitRef | None
    is_active: bool
    created_at: dt.datetime

    @staticmethod
    def resolve_event(obj) -> str:
        return obj.event.code

    @staticmethod
    def resolve_person(obj):
        return obj.user

    @staticmethod
    def resolve_role_label(obj) -> str:
        return str(obj.get_role_display())

    @staticmethod
    def resolve_zones(obj) -> list:
        return list(obj.zones.all())


class AssignmentIn(InputSchema):
    event: str = Field(..., description="The event's code.")
    username: str = Field(..., description="An existing person, or a new one to create.")
    role: Role
    zones: list[int] = Field([], description="Ids of the zones the role is narrowed to.")
    domains: list[Domain] = Field([], description="Domains the role is narrowed to.")
    unit: int | None = Field(None, description="Own unit (unit operators and exhibitors).")
    display_name: str = Field("", description="For a new person.")
    email: str = ""
    phone: str = ""
    organisation: str = ""
    language: str = "zh-hans"


class AssignmentPage(Schema):
    count: int
    items: list[AssignmentOut]


# ---------------------------------------------------------------- audit trail


class AuditEntryOut(Schema):
    seq: int
    at: dt.datetime
    actor_name: str
    event_code: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    before: Any = None
    after: Any = None
    request_id: str
    prev_hash: str
    hash: str


class AuditPage(Schema):
    count: int
    items: list[AuditEntryOut]


# ---------------------------------------------------------------- import


class ImportRowError(Schema):
    row: int = Field(..., description="Row as a spreadsheet shows it (the header is row 1).")
    column: str
    message: str


class ImportResultOut(Schema):
    dry_run: bool
    ok: bool
    applied: bool
    rows: int
    created: int
    updated: int
    errors: list[ImportRowError]


class ImportRefusedOut(ImportResultOut):
    detail: str


# ---------------------------------------------------------------- figures


class FigureOut(Schema):
    value: int | float | str | None
    label: dict[str, str] = Field(..., description='The label in "zh-Hans" and "en".')
    records_url: str


class FiguresOut(Schema):
    event: str
    generated_at: str
    figures: dict[str, FigureOut]
