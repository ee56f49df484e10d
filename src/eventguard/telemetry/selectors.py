"""Reads of the telemetry app: the filters a list page and its API endpoint share."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone
from ninja import FilterLookup, FilterSchema

from eventguard.core import access
from eventguard.core.access import scope
from eventguard.core.models import Event, User

from .models import DeadLetter, Device, IngestTally, TelemetryMessage

DEVICE_STATUSES = ("online", "offline", "never_seen", "inactive")


def offline_q(now: dt.datetime) -> Q:
    """Devices that have reported and then fallen silent past their offline time."""
    return Q(is_active=True, last_seen_at__isnull=False, stale_at__lte=now)


class DeviceFilters(FilterSchema):
    q: Annotated[
        str | None,
        FilterLookup(["code__icontains", "name__icontains", "subject_name__icontains"]),
    ] = None
    kind: str | None = None
    status: str | None = None  # online, offline, never_seen, inactive
    subject: str | None = None  # <kind>:<id>
    zone: Annotated[int | None, FilterLookup("zone_id")] = None

    def filter_status(self, value: str | None) -> Q:
        if not value:
            return Q()
        now = timezone.now()
        return {
            "online": Q(is_active=True, stale_at__gt=now),
            "offline": offline_q(now),
            "never_seen": Q(is_active=True, last_seen_at__isnull=True),
            "inactive": Q(is_active=False),
        }.get(value, Q(pk__in=[]))

    def filter_subject(self, value: str | None) -> Q:
        if not value:
            return Q()
        label, _sep, pk = value.rpartition(":")
        if not label or not pk.isdigit():
            return Q(pk__in=[])
        return Q(subject_type=label.lower(), subject_id=int(pk))


class DeadLetterFilters(FilterSchema):
    reason: str | None = None
    device: Annotated[str | None, FilterLookup("device_code")] = None
    source: str | None = None
    since: Annotated[dt.datetime | None, FilterLookup("received_at__gte")] = None
    until: Annotated[dt.datetime | None, FilterLookup("received_at__lt")] = None


def device_status(device: Device, now: dt.datetime | None = None) -> str:
    if not device.is_active:
        return "inactive"
    if device.last_seen_at is None:
        return "never_seen"
    return "online" if device.stale_at and device.stale_at > (now or timezone.now()) else "offline"


def device_list(
    *, user: User, event: Event, filters: DeviceFilters | None = None
) -> QuerySet[Device]:
    qs = scope(user, Device, event=event).select_related("zone")
    return (filters or DeviceFilters()).filter(qs).order_by("code")


def dead_letter_list(
    *, user: User, event: Event, filters: DeadLetterFilters | None = None
) -> QuerySet[DeadLetter]:
    qs = scope(user, DeadLetter, event=event)
    return (filters or DeadLetterFilters()).filter(qs).order_by("-received_at", "-pk")


def may_view_monitoring(user: User, event: Event) -> bool:
    """Whether the user may see the event's monitoring figures (not one record's)."""
    if access.is_superuser(user):
        return True
    return any("monitoring" in g.domains for g in access.grants(user, event=event))


def device_by_credentials(event_code: str, device_code: str, secret: str) -> Device | None:
    """The active device these credentials belong to, or None."""
    from .services import secret_matches

    device = (
        Device.objects.filter(event__code=event_code, code=device_code, is_active=True)
        .select_related("event")
        .first()
    )
    if device is None or not secret_matches(device, secret):
        return None
    return device


def telemetry_stats(event: Event, *, exact: bool = False) -> dict:
    """Messages stored, duplicates dropped, dead letters by reason, devices by status."""
    tally = IngestTally.objects.filter(event=event).aggregate(
        stored=Sum("stored"), duplicates=Sum("duplicates"), last=Max("hour")
    )
    reasons = dict(
        DeadLetter.objects.filter(event_code=event.code)
        .values_list("reason")
        .annotate(n=Count("pk"))
        .order_by("reason")
    )
    now = timezone.now()
    devices = Device.objects.filter(event=event)
    by_status = {
        status: devices.filter(DeviceFilters(status=status).filter_status(status)).count()
        for status in DEVICE_STATUSES
    }
    stats = {
        "event": event.code,
        "generated_at": now.isoformat(),
        "stored": tally["stored"] or 0,
        "duplicates": tally["duplicates"] or 0,
        "dead_letters": {"total": sum(reasons.values()), "by_reason": reasons},
        "devices": {"total": devices.count(), **by_status},
        "last_received_at": (
            devices.aggregate(at=Max("last_seen_at"))["at"].isoformat()
            if devices.filter(last_seen_at__isnull=False).exists()
            else None
        ),
    }
    if exact:
        stats["stored_exact"] = TelemetryMessage.objects.filter(event=event).count()
    return stats
