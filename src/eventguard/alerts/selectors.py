"""Reads of the alerts app: the filters the alarm and rule pages share with the API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.db.models import Count, Q, QuerySet
from ninja import FilterLookup, FilterSchema

from eventguard.core import conditions
from eventguard.core.access import scope
from eventguard.core.models import Event, User

from .models import (
    MOST_SEVERE_FIRST,
    OPEN_FIRST,
    OPEN_STATES,
    SEVERITY_RANK,
    Alarm,
    AlarmState,
    Rule,
    RuleKind,
)

STATE_FILTERS = ("open", *AlarmState.values)


class AlarmFilters(FilterSchema):
    state: str | None = None  # active, acknowledged, cleared, or open (active + acknowledged)
    severity: str | None = None
    rule: Annotated[str | None, FilterLookup("rule__code")] = None
    subject: str | None = None  # <kind>:<id>
    subject_type: str | None = None
    zone: Annotated[int | None, FilterLookup("zone_id")] = None
    since: dt.datetime | None = None  # alarms still occurring at or after this time
    until: Annotated[dt.datetime | None, FilterLookup("first_at__lt")] = None
    q: Annotated[str | None, FilterLookup(["subject_name__icontains"])] = None

    def filter_state(self, value: str | None) -> Q:
        if not value:
            return Q()
        if value == "open":
            return Q(state__in=OPEN_STATES)
        return Q(state=value) if value in AlarmState.values else Q(pk__in=[])

    def filter_subject(self, value: str | None) -> Q:
        if not value:
            return Q()
        label, _sep, pk = value.rpartition(":")
        if not label or not pk.isdigit():
            return Q(pk__in=[])
        return Q(subject_type=label.lower(), subject_id=int(pk))

    def filter_since(self, value: dt.datetime | None) -> Q:
        if value is None:
            return Q()
        # Open alarms last until now; cleared ones until they were cleared.
        return Q(last_at__gte=value) | Q(state__in=OPEN_STATES) | Q(cleared_at__gte=value)


class RuleFilters(FilterSchema):
    source: str | None = None
    kind: str | None = None
    severity: str | None = None
    enabled: bool | None = None
    q: Annotated[
        str | None, FilterLookup(["code__icontains", "name_zh__icontains", "name_en__icontains"])
    ] = None


def alarm_list(
    *, user: User, event: Event | None, filters: AlarmFilters | None = None
) -> QuerySet[Alarm]:
    """Unacknowledged first, then acknowledged, then cleared; most severe, latest first."""
    qs = scope(user, Alarm, event=event).select_related(
        "event", "rule", "zone", "acknowledged_by", "cleared_by"
    )
    return (
        (filters or AlarmFilters())
        .filter(qs)
        .annotate(open_rank=OPEN_FIRST, severity_rank=MOST_SEVERE_FIRST)
        .order_by("open_rank", "severity_rank", "-last_at", "-pk")
    )


def alarm_detail_queryset(user: User) -> QuerySet[Alarm]:
    return (
        scope(user, Alarm)
        .select_related("event", "rule", "zone", "unit", "acknowledged_by", "cleared_by")
        .prefetch_related("entries")
    )


def rule_list(*, user: User, event: Event, filters: RuleFilters | None = None) -> QuerySet[Rule]:
    qs = scope(user, Rule, event=event).select_related("event")
    return (filters or RuleFilters()).filter(qs).order_by("source", "code")


def rule_available(rule: Rule) -> bool:
    """Whether what a time rule watches is registered in this installation."""
    if rule.kind == RuleKind.CONDITION:
        return conditions.get(rule.params.get("condition", "")) is not None
    if rule.kind == RuleKind.DEVICE_OFFLINE:
        return conditions.get("telemetry.device_offline") is not None
    return True


def open_alarm_counts(*, user: User, event: Event) -> dict[str, int]:
    """Open alarms by severity, for the head of the alarm page."""
    counts = dict.fromkeys(SEVERITY_RANK, 0)
    qs = scope(user, Alarm, event=event).filter(state__in=OPEN_STATES)
    for row in qs.order_by().values("severity").annotate(n=Count("pk")):
        counts[row["severity"]] = row["n"]
    return counts


def person_in_event(event: Event, username: str) -> User:
    """An active person holding a role in ``event``, by username; refused by name otherwise."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    person = (
        User.objects.filter(
            username=username,
            is_active=True,
            assignments__event=event,
            assignments__is_active=True,
        )
        .distinct()
        .first()
    )
    if person is None:
        raise ValidationError(
            {"assignee": _("%(name)s holds no role in this event.") % {"name": username}}
        )
    return person
