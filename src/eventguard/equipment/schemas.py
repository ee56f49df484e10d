"""Typed shapes of the equipment API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Schema
from pydantic import ConfigDict

from eventguard.core.schemas import UnitRef, ZoneRef


class InputSchema(Schema):
    model_config = ConfigDict(extra="forbid")


class PersonRef(Schema):
    id: int
    username: str
    name: str

    @staticmethod
    def resolve_name(obj) -> str:
        return str(obj)


class EquipmentRef(Schema):
    id: int
    code: str
    kind: str


class EquipmentOut(Schema):
    id: int
    code: str
    registration_no: str
    kind: str
    kind_label: str
    model_name: str
    zone: ZoneRef | None
    floor: str
    position: str
    plan_x: Decimal | None
    plan_y: Decimal | None
    user_unit: UnitRef
    maintenance_unit: UnitRef | None
    last_inspection_on: dt.date | None
    next_inspection_due: dt.date | None
    inspection_overdue: bool
    is_core_area: bool
    traffic_level: str
    is_active: bool

    @staticmethod
    def resolve_kind_label(obj) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_inspection_overdue(obj) -> bool:
        return obj.inspection_overdue()


class EquipmentPage(Schema):
    count: int
    items: list[EquipmentOut]


class EquipmentIn(InputSchema):
    code: str
    kind: str
    user_unit: int
    registration_no: str = ""
    model_name: str = ""
    zone: int | None = None
    floor: str = ""
    position: str = ""
    plan_x: Decimal | None = None
    plan_y: Decimal | None = None
    maintenance_unit: int | None = None
    last_inspection_on: dt.date | None = None
    next_inspection_due: dt.date | None = None
    is_core_area: bool | None = None
    traffic_level: str = "medium"


class EquipmentPatch(InputSchema):
    registration_no: str | None = None
    kind: str | None = None
    model_name: str | None = None
    zone: int | None = None
    floor: str | None = None
    position: str | None = None
    plan_x: Decimal | None = None
    plan_y: Decimal | None = None
    maintenance_unit: int | None = None
    last_inspection_on: dt.date | None = None
    next_inspection_due: dt.date | None = None
    is_core_area: bool | None = None
    traffic_level: str | None = None
    is_active: bool | None = None


class CoverageDay(Schema):
    day: dt.date
    hours: list[str]


class CoverageGapOut(Schema):
    equipment: EquipmentRef
    missing_hours: int
    days: list[CoverageDay]


class CoverageOut(Schema):
    open_hours: int
    posted: int
    covered: int
    gaps: list[CoverageGapOut]


class ShiftOut(Schema):
    id: int
    equipment: EquipmentRef
    person: PersonRef
    starts_at: dt.datetime
    ends_at: dt.datetime
    signed_on_at: dt.datetime | None
    signed_off_at: dt.datetime | None


class ShiftPage(Schema):
    count: int
    items: list[ShiftOut]


class ShiftIn(InputSchema):
    equipment: int
    person: int
    starts_at: dt.datetime
    ends_at: dt.datetime


class ChecklistItemOut(Schema):
    code: str
    text_zh: str
    text_en: str


class ChecklistOut(Schema):
    id: int
    code: str
    version: int
    name_zh: str
    name_en: str
    kinds: list[str]
    items: list[ChecklistItemOut]


class ChecklistIn(InputSchema):
    code: str
    name_zh: str
    name_en: str = ""
    kinds: list[str]
    items: list[ChecklistItemOut]


class PatrolOut(Schema):
    id: int
    equipment: EquipmentRef
    day: dt.date
    window_start: dt.datetime
    window_end: dt.datetime
    planned: bool
    status: str
    overdue: bool
    checklist: ChecklistOut | None
    performed_by: PersonRef | None
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    answers: dict[str, str]
    notes: str

    @staticmethod
    def resolve_overdue(obj) -> bool:
        return obj.is_overdue()


class PatrolPage(Schema):
    count: int
    items: list[PatrolOut]


class PatrolPlanIn(InputSchema):
    day_from: dt.date
    day_to: dt.date


class PatrolPlanOut(Schema):
    planned: int


class FindingIn(InputSchema):
    description: str
    grade: str = "general"


class PatrolCompleteIn(InputSchema):
    answers: dict[str, str]
    findings: dict[str, FindingIn] = {}
    notes: str = ""


class PatrolCompleteOut(Schema):
    patrol: PatrolOut
    hazards: list[int]


class RoundOut(Schema):
    id: int
    code: str
    name_zh: str
    name_en: str
    phase: str
    starts_on: dt.date
    ends_on: dt.date
    covers_equipment: bool


class GuaranteeTestOut(Schema):
    id: int
    round: str
    unit: int
    equipment: EquipmentRef | None
    tested_on: dt.date
    result: str
    findings: str
    tester_name: str

    @staticmethod
    def resolve_round(obj) -> str:
        return obj.round.code

    @staticmethod
    def resolve_unit(obj) -> int:
        return obj.unit_id


class GuaranteeTestIn(InputSchema):
    round: str
    unit: int
    equipment: int | None = None
    tested_on: dt.date
    result: str
    findings: str = ""


class KeyUnitOut(Schema):
    id: int
    name: str
    credit_code: str
    inspected: bool
    test_count: int
    equipment_count: int

    @staticmethod
    def resolve_inspected(obj) -> bool:
        return bool(obj.has_tests)

    @staticmethod
    def resolve_test_count(obj) -> int:
        return obj.test_count or 0

    @staticmethod
    def resolve_equipment_count(obj) -> int:
        return obj.equipment_count or 0


class KeyUnitPage(Schema):
    count: int
    items: list[KeyUnitOut]


class RoundProgressOut(Schema):
    round: RoundOut
    done: bool
    unit_test: GuaranteeTestOut | None
    equipment_total: int
    equipment_tested: int
    missing_equipment: list[EquipmentRef]


class CampaignRecordOut(Schema):
    id: int
    campaign: str
    district: str
    period_start: dt.date
    period_end: dt.date
    units_inspected: int
    equipment_sets: int
    notes: str

    @staticmethod
    def resolve_campaign(obj) -> str:
        return obj.campaign.code


class CampaignRecordPage(Schema):
    count: int
    units_inspected: int
    equipment_sets: int
    items: list[CampaignRecordOut]


class SettingsIO(Schema):
    open_from: dt.time
    open_until: dt.time
    patrol_windows: list[list[str]]
