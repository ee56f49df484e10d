"""Typed shapes of the dual-prevention API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Schema
from pydantic import ConfigDict

from eventguard.core.schemas import UnitRef, ZoneRef
from eventguard.equipment.schemas import EquipmentRef, PersonRef


class InputSchema(Schema):
    model_config = ConfigDict(extra="forbid")


class PhotoOut(Schema):
    id: int
    content_type: str
    size: int
    url: str


class StepOut(Schema):
    id: int
    action: str
    from_status: str
    to_status: str
    actor_name: str
    at: dt.datetime
    note: str


class HazardOut(Schema):
    id: int
    code: str
    title: str
    description: str
    grade: str
    status: str
    source: str
    source_ref: str
    zone: ZoneRef | None
    unit: UnitRef | None
    equipment: EquipmentRef | None
    risk_point: int | None
    reported_at: dt.datetime
    assignee: PersonRef | None
    measure: str
    deadline: dt.datetime | None
    rectified_at: dt.datetime | None
    rectification_note: str
    closed_at: dt.datetime | None
    rejections: int
    overdue: bool

    @staticmethod
    def resolve_overdue(obj) -> bool:
        return obj.is_overdue()

    @staticmethod
    def resolve_risk_point(obj) -> int | None:
        return obj.risk_point_id


class HazardDetailOut(HazardOut):
    actions: list[str]
    timeline: list[StepOut]
    photos: list[PhotoOut]

    @staticmethod
    def resolve_actions(obj, context) -> list[str]:
        from .services import actions_for

        return actions_for(context["request"].user, obj)

    @staticmethod
    def resolve_timeline(obj, context):
        from .selectors import hazard_timeline

        return hazard_timeline(user=context["request"].user, hazard=obj)

    @staticmethod
    def resolve_photos(obj, context) -> list[dict]:
        from django.urls import reverse

        from .selectors import hazard_photos

        return [
            {
                "id": p.pk,
                "content_type": p.content_type,
                "size": p.size,
                "url": reverse("api:hazard_photo", kwargs={"hazard_id": obj.pk, "photo_id": p.pk}),
            }
            for p in hazard_photos(user=context["request"].user, hazard=obj)
        ]


class HazardPage(Schema):
    count: int
    items: list[HazardOut]


class HazardIn(InputSchema):
    title: str
    description: str = ""
    grade: str = "general"
    source: str = "manual"
    source_ref: str = ""
    zone: int | None = None
    unit: int | None = None
    equipment: int | None = None
    risk_point: int | None = None


class TransitionIn(Schema):
    action: str
    note: str = ""
    assignee: int | None = None
    measure: str | None = None
    deadline: dt.datetime | None = None
    grade: str | None = None


class RiskPointOut(Schema):
    id: int
    code: str
    title: str
    domain: str
    hazard_description: str
    zone: ZoneRef | None
    responsible_unit: UnitRef | None
    equipment: EquipmentRef | None
    likelihood: Decimal
    exposure: Decimal
    consequence: Decimal
    score: Decimal
    grade: str
    control_measures: str
    responsible_person: PersonRef | None
    review_on: dt.date | None
    is_active: bool


class RiskPointPage(Schema):
    count: int
    items: list[RiskPointOut]


class RiskPointIn(InputSchema):
    code: str
    title: str
    domain: str = "equipment"
    hazard_description: str
    likelihood: Decimal
    exposure: Decimal
    consequence: Decimal
    zone: int | None = None
    responsible_unit: int | None = None
    equipment: int | None = None
    control_measures: str = ""
    responsible_person: int | None = None
    review_on: dt.date | None = None


class RiskPointPatch(InputSchema):
    title: str | None = None
    domain: str | None = None
    hazard_description: str | None = None
    likelihood: Decimal | None = None
    exposure: Decimal | None = None
    consequence: Decimal | None = None
    zone: int | None = None
    responsible_unit: int | None = None
    equipment: int | None = None
    control_measures: str | None = None
    responsible_person: int | None = None
    review_on: dt.date | None = None
    is_active: bool | None = None


class GradingIO(Schema):
    red_above: Decimal
    orange_from: Decimal
    yellow_from: Decimal


class MatrixCellOut(Schema):
    likelihood: Decimal
    consequence: Decimal
    count: int
    grade: str


class MatrixRowOut(Schema):
    likelihood: Decimal
    cells: list[MatrixCellOut]


class MatrixOut(Schema):
    grading: GradingIO
    consequences: list[Decimal]
    rows: list[MatrixRowOut]
    totals: dict[str, int]


class MapZoneOut(Schema):
    zone: ZoneRef
    grade: str | None
    points: int
    hazards: int


class MapHallOut(Schema):
    hall: ZoneRef
    grade: str | None
    points: int
    hazards: int
    zones: list[MapZoneOut]
