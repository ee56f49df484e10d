"""Typed shapes of the alerts API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema

from eventguard.core.schemas import InputSchema

from .models import RuleKind, Severity


class RuleRef(Schema):
    id: int
    code: str
    name: str
    kind: str


class AlarmEntryOut(Schema):
    at: dt.datetime
    action: str
    by: str = Field(alias="actor_name")
    note: str = Field(
        description="What a person wrote, or the system's note in the reader's language."
    )
    details: dict

    @staticmethod
    def resolve_note(obj) -> str:
        return obj.text


class AlarmOut(Schema):
    id: int
    event: str = Field(alias="event.code")
    rule: RuleRef
    severity: str
    state: str
    domain: str
    subject: str = Field(alias="subject_key")
    subject_name: str
    zone_id: int | None
    unit_id: int | None
    count: int
    condition_active: bool
    first_at: dt.datetime
    last_at: dt.datetime
    raised_at: dt.datetime = Field(alias="created_at")
    details: dict
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    cleared_at: dt.datetime | None
    cleared_by: str | None
    cleared_automatically: bool
    clear_note: str
    assignee: str | None = None

    @staticmethod
    def resolve_assignee(obj) -> str | None:
        return obj.assignee.get_username() if obj.assignee_id else None

    @staticmethod
    def resolve_acknowledged_by(obj) -> str | None:
        return obj.acknowledged_by.get_username() if obj.acknowledged_by_id else None

    @staticmethod
    def resolve_cleared_by(obj) -> str | None:
        return obj.cleared_by.get_username() if obj.cleared_by_id else None


class AlarmDetailOut(AlarmOut):
    timeline: list[AlarmEntryOut]

    @staticmethod
    def resolve_timeline(obj) -> list:
        return list(obj.entries.all())


class AlarmPage(Schema):
    count: int
    items: list[AlarmOut]


class AcknowledgeIn(InputSchema):
    note: str = ""


class ClearIn(InputSchema):
    note: str = Field(..., description="Why the alarm is cleared by hand.")


class RuleOut(Schema):
    id: int
    event: str = Field(alias="event.code")
    code: str
    name_zh: str
    name_en: str
    name: str
    source: str
    kind: str
    trigger: str
    params: dict[str, Any]
    severity: str
    domain: str
    enabled: bool
    auto_clear: bool
    interval_seconds: int
    ack_within_seconds: int | None = Field(
        None,
        description="Seconds an alarm may stay unacknowledged before it goes to the next "
        "level of the escalation chain, unless the level's own time is shorter (a rule "
        "hurries escalation, never holds it back); null: each level's own time.",
    )
    available: bool = Field(
        True, description="False when the condition it watches is not registered here."
    )
    updated_at: dt.datetime

    @staticmethod
    def resolve_available(obj) -> bool:
        from .selectors import rule_available

        return rule_available(obj)


class RulePage(Schema):
    count: int
    items: list[RuleOut]


class RuleIn(InputSchema):
    event: str
    code: str = Field(..., max_length=50, pattern=r"^[-a-zA-Z0-9_]+$")
    name_zh: str
    name_en: str = ""
    kind: RuleKind
    severity: Severity
    domain: str = "monitoring"
    params: dict[str, Any] = {}
    enabled: bool = True
    auto_clear: bool = True
    interval_seconds: int = Field(60, ge=5)
    ack_within_seconds: int | None = Field(
        None, ge=10, description="Null: each escalation level's own time."
    )


class RulePatch(InputSchema):
    name_zh: str | None = None
    name_en: str | None = None
    severity: Severity | None = None
    domain: str | None = None
    params: dict[str, Any] | None = None
    enabled: bool | None = None
    auto_clear: bool | None = None
    interval_seconds: int | None = Field(None, ge=5)
    ack_within_seconds: int | None = Field(
        None, ge=10, description="Null: each escalation level's own time."
    )


class ParamOut(Schema):
    name: str
    label: str
    type: str
    required: bool
    default: Any = None
    choices: list[list[str]] = []
    help: str = ""


class RuleKindOut(Schema):
    kind: str
    label: str
    source: str
    params: list[ParamOut]


class AssignIn(InputSchema):
    assignee: str | None = Field(None, description="Username; empty to take the alarm back.")
    note: str = ""


class CommentIn(InputSchema):
    text: str
