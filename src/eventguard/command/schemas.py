"""Typed shapes of the unified-command API."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

from eventguard.core.schemas import InputSchema

from .selectors import webhook_url_shown


class LevelIn(InputSchema):
    target: str = Field(description="post_staff, zone_supervisor or commander")
    ack_within_seconds: int = 300
    remind_every_seconds: int = 300


class ChainIn(InputSchema):
    severity: str
    levels: list[LevelIn]


class LevelOut(Schema):
    severity: str
    level: int
    target: str
    ack_within_seconds: int
    remind_every_seconds: int


class WorkOrderIn(InputSchema):
    alarm: int | None = Field(None, description="The alarm's id (or give a hidden danger).")
    hazard: int | None = Field(None, description="The hidden danger's id.")
    assignee: str | None = Field(
        None, description="Username; for a lift or escalator alarm, the person on post now."
    )
    deadline: dt.datetime | None = Field(None, description="Default: in 30 minutes.")
    instructions: str = ""
    title: str = ""


class WorkStepIn(InputSchema):
    note: str = ""


class WorkOrderEntryOut(Schema):
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


class WorkOrderOut(Schema):
    id: int
    event: str = Field(alias="event.code")
    title: str
    instructions: str
    state: str
    domain: str
    alarm_id: int | None
    hazard_id: int | None
    zone_id: int | None
    assignee: str = Field(alias="assignee.username")
    deadline: dt.datetime
    overdue: bool
    age_seconds: int
    dispatched_at: dt.datetime
    accepted_at: dt.datetime | None
    arrived_at: dt.datetime | None
    finished_at: dt.datetime | None
    result_note: str

    @staticmethod
    def resolve_overdue(obj) -> bool:
        from .selectors import is_overdue

        return is_overdue(obj)

    @staticmethod
    def resolve_age_seconds(obj) -> int:
        from django.utils import timezone

        end = obj.finished_at or timezone.now()
        return int((end - obj.dispatched_at).total_seconds())


class WorkOrderDetailOut(WorkOrderOut):
    timeline: list[WorkOrderEntryOut]
    photos: list[str]

    @staticmethod
    def resolve_timeline(obj) -> list:
        return list(obj.entries.all())

    @staticmethod
    def resolve_photos(obj) -> list[str]:
        return [p.image.url for p in obj.photos.all()]


class WorkOrderPage(Schema):
    count: int
    items: list[WorkOrderOut]


class PreferenceIn(InputSchema):
    channel: str = Field(description="feed or email")
    enabled: bool = True
    severities: list[str] = Field(default_factory=list, description="Empty: all.")
    domains: list[str] = Field(default_factory=list, description="Empty: all.")


class PreferenceOut(Schema):
    channel: str
    enabled: bool
    severities: list[str]
    domains: list[str]


class NotificationOut(Schema):
    """Title and text in the reader's language."""

    id: int
    kind: str
    severity: str
    title: str
    body: str
    url: str
    created_at: dt.datetime
    read_at: dt.datetime | None

    @staticmethod
    def resolve_title(obj) -> str:
        return obj.title_text

    @staticmethod
    def resolve_body(obj) -> str:
        return obj.body_text


class StatisticOut(Schema):
    key: str
    label: str
    count: int
    open: int
    mean_seconds_to_acknowledge: float | None
    mean_seconds_to_clear: float | None


class WebhookIn(InputSchema):
    name: str
    url: str
    secret: str = Field("", description="Empty: one is generated.")
    severities: list[str] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list)


class WebhookUpdateIn(InputSchema):
    name: str
    url: str
    severities: list[str] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list)


class WebhookOut(Schema):
    id: int
    name: str
    url: str = Field(
        description="In full for those who may change the webhook; for others the query's "
        "values, a user and password and the fragment are masked (•••)."
    )
    severities: list[str]
    domains: list[str]
    active: bool

    @staticmethod
    def resolve_url(obj, context) -> str:
        return webhook_url_shown(context["request"].user, obj)


class WebhookCreatedOut(WebhookOut):
    secret: str


class DeliveryOut(Schema):
    id: int
    topic: str
    state: str
    attempt_count: int
    next_attempt_at: dt.datetime | None
    leased_until: dt.datetime | None = Field(
        description="Set while a worker is posting it: until when, at the latest; "
        "retrying it is refused meanwhile."
    )
    delivered_at: dt.datetime | None
    attempts: list[dict]
    created_at: dt.datetime


class EmailDeliveryOut(Schema):
    id: int
    to: str
    topic: str
    subject: str
    state: str
    attempt_count: int
    next_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None
    attempts: list[dict]
    created_at: dt.datetime
