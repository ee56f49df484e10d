"""Factories for tests of special equipment and dual prevention: records made through the
services."""

from __future__ import annotations

import datetime as dt
import itertools

from eventguard.core.models import Event, Unit, Zone
from eventguard.core.testing import make_unit, make_zone

from . import services
from .models import Equipment, EquipmentKind

_counter = itertools.count(1)

LIFT_ITEMS = [
    {"code": "doors", "text_zh": "层门、轿门开关正常", "text_en": "Doors open and close properly"},
    {"code": "alarm", "text_zh": "紧急报警装置有效", "text_en": "Emergency alarm works"},
]
ESCALATOR_ITEMS = [
    {"code": "steps", "text_zh": "梯级完好", "text_en": "Steps intact"},
    {"code": "stop", "text_zh": "紧急停止按钮有效", "text_en": "Emergency stop works"},
]


def make_key_unit(event: Event, *, zone: Zone | None = None, **fields) -> Unit:
    return make_unit(event, category="key_guarantee_unit", zone=zone, **fields)


def make_equipment(
    event: Event,
    *,
    kind: str = EquipmentKind.LIFT,
    zone: Zone | None = None,
    user_unit: Unit | None = None,
    **fields,
) -> Equipment:
    n = next(_counter)
    zone = zone or make_zone(event)
    user_unit = user_unit or make_key_unit(event, zone=zone)
    defaults = {
        "code": f"EQ-{n:05d}",
        "registration_no": f"梯11沪A{n:05d}",
        "position": f"测试位置{n}",
        "last_inspection_on": dt.date(2021, 6, 1),
        "next_inspection_due": dt.date(2022, 6, 1),
    }
    defaults.update(fields)
    return services.equipment_create(
        actor=None, event=event, kind=kind, zone=zone, user_unit=user_unit, **defaults
    )


def publish_checklists(event: Event) -> dict:
    return {
        EquipmentKind.LIFT: services.checklist_publish(
            actor=None,
            event=event,
            code="lift",
            name_zh="电梯巡查表",
            name_en="Lift patrol",
            kinds=[EquipmentKind.LIFT],
            items=LIFT_ITEMS,
        ),
        EquipmentKind.ESCALATOR: services.checklist_publish(
            actor=None,
            event=event,
            code="escalator",
            name_zh="扶梯巡查表",
            name_en="Escalator patrol",
            kinds=[EquipmentKind.ESCALATOR, EquipmentKind.MOVING_WALK],
            items=ESCALATOR_ITEMS,
        ),
    }


# The smallest valid images of each kind (checked by content, never by name).
PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
WEBP_BYTES = (
    b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00"
    b"\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
)


def photo(name: str = "photo.png", content: bytes = PNG_BYTES):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/octet-stream")
