"""Typed shapes of the telemetry API."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

from eventguard.core.schemas import InputSchema

from .models import DeviceKind


class DeviceOut(Schema):
    id: int
    event: str = Field(alias="event.code")
    code: str
    name: str
    kind: str
    subject: str = Field(alias="subject_key")
    subject_name: str
    domain: str
    zone_id: int | None
    unit_id: int | None
    is_active: bool
    status: str  # online, offline, never_seen, inactive
    offline_after: int | None
    last_seen_at: dt.datetime | None
    last_seq: int | None
    latest: dict
    latest_at: dt.datetime | None

    @staticmethod
    def resolve_status(obj) -> str:
        from .selectors import device_status

        return device_status(obj)


class DevicePage(Schema):
    count: int
    items: list[DeviceOut]


class DeviceIn(InputSchema):
    event: str
    code: str = Field(..., max_length=64, pattern=r"^[-a-zA-Z0-9_]+$")
    kind: DeviceKind
    subject: str = Field(..., description="The subject as <kind>:<id>, e.g. core.unit:12.")
    name: str = ""
    offline_after: int | None = Field(None, ge=10)


class DevicePatch(InputSchema):
    name: str | None = None
    offline_after: int | None = Field(None, ge=10)
    is_active: bool | None = None


class DeviceWithSecret(Schema):
    device: DeviceOut
    secret: str = Field(..., description="The device's secret: shown this once, never again.")


class ItemResult(Schema):
    index: int
    outcome: str  # stored, duplicate, dead_letter
    reason: str = ""
    detail: str = ""


class BatchOut(Schema):
    stored: int
    duplicates: int
    dead_letters: int
    results: list[ItemResult]


class DeadLetterOut(Schema):
    id: int
    received_at: dt.datetime
    source: str
    event_code: str
    device_code: str
    topic: str
    reason: str
    detail: str
    payload: str
    payload_bytes: int


class DeadLetterPage(Schema):
    count: int
    items: list[DeadLetterOut]


class DeadLetterCount(Schema):
    total: int
    by_reason: dict[str, int]


class DeviceCounts(Schema):
    total: int
    online: int
    offline: int
    never_seen: int
    inactive: int


class StatsOut(Schema):
    event: str
    generated_at: dt.datetime
    stored: int
    duplicates: int
    dead_letters: DeadLetterCount
    devices: DeviceCounts
    last_received_at: dt.datetime | None
