"""Reads of unified command: who is told, work-order lists, alarm statistics, the live feed
and the dashboard's numbers."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from ninja import FilterLookup, FilterSchema

from eventguard.alerts.models import OPEN_STATES, Alarm, Severity
from eventguard.core.access import CHANGE, VIEW, allows, roles_in, scope
from eventguard.core.models import Event, Role, RoleAssignment, User, Zone, name_columns

from .models import (
    OPEN_WORK_STATES,
    DeliveryState,
    EmailDelivery,
    EscalationLevel,
    EscalationTarget,
    Notification,
    NotificationPreference,
    Webhook,
    WebhookDelivery,
    WorkOrder,
    WorkOrderState,
)

EQUIPMENT_SUBJECT = "equipment.equipment"

# ---------------------------------------------------------------- who is told


def on_post_now(alarm: Alarm, *, now: dt.datetime | None = None) -> User | None:
    """The person on post now at the lift or escalator an alarm is about, if any."""
    if alarm.subject_type != EQUIPMENT_SUBJECT:
        return None
    from eventguard.equipment.models import PostShift

    now = now or timezone.now()
    shift = (
        PostShift.objects.filter(
            event_id=alarm.event_id,
            equipment_id=alarm.subject_id,
            starts_at__lte=now,
            ends_at__gt=now,
            signed_off_at__isnull=True,
            person__is_active=True,
        )
        .select_related("person")
        .order_by("-signed_on_at", "starts_at", "pk")
        .first()
    )
    return shift.person if shift else None


def _covering(role: str, alarm: Alarm) -> QuerySet[RoleAssignment]:
    """Active assignments of ``role`` whose zones cover the alarm's zone (or every zone) and
    whose domains hold the alarm's domain (or every domain)."""
    qs = RoleAssignment.objects.filter(
        event_id=alarm.event_id, role=role, is_active=True, user__is_active=True
    )
    if alarm.zone_id:
        zone = Zone.objects.get(pk=alarm.zone_id)
        prefixes = [p for p in zone.path.split("/") if p]
        ancestors = ["/" + "/".join(prefixes[: i + 1]) + "/" for i in range(len(prefixes))]
        qs = qs.filter(Q(zones__isnull=True) | Q(zones__path__in=ancestors))
    return qs.distinct()


def recipients_for(alarm: Alarm, target: str, *, now: dt.datetime | None = None) -> list[User]:
    """The people a level of the escalation chain reaches for ``alarm``."""
    if target == EscalationTarget.POST_STAFF:
        person = on_post_now(alarm, now=now)
        if person is not None:
            return [person]
        assignments = _covering(Role.POST_STAFF, alarm)
    elif target == EscalationTarget.ZONE_SUPERVISOR:
        assignments = [
            a
            for a in _covering(Role.SUPERVISOR, alarm).select_related("user")
            if not a.domains or alarm.domain in a.domains
        ]
        return sorted({a.user for a in assignments}, key=lambda u: u.username)
    else:
        assignments = RoleAssignment.objects.filter(
            event_id=alarm.event_id, role=Role.COMMANDER, is_active=True, user__is_active=True
        )
    users = User.objects.filter(pk__in=[a.user_id for a in assignments.select_related(None)])
    return list(users.order_by("username"))


def event_commanders(event_id: int) -> list[User]:
    """The event's active commanders (told of overdue work orders)."""
    ids = RoleAssignment.objects.filter(
        event_id=event_id, role=Role.COMMANDER, is_active=True, user__is_active=True
    ).values("user_id")
    return list(User.objects.filter(pk__in=ids).order_by("username"))


def escalation_chains(*, user: User, event: Event) -> QuerySet[EscalationLevel]:
    return scope(user, EscalationLevel, event=event).order_by("severity", "level")


# ---------------------------------------------------------------- work orders


class WorkOrderFilters(FilterSchema):
    state: str | None = None  # a state, or "open"
    assignee: Annotated[str | None, FilterLookup("assignee__username")] = None
    alarm: Annotated[int | None, FilterLookup("alarm_id")] = None
    hazard: Annotated[int | None, FilterLookup("hazard_id")] = None
    zone: Annotated[int | None, FilterLookup("zone_id")] = None
    overdue: bool | None = None
    mine: bool | None = None  # only set by the list page and API from the caller
    q: Annotated[str | None, FilterLookup("title__icontains")] = None

    def filter_state(self, value: str | None) -> Q:
        if not value:
            return Q()
        if value == "open":
            return Q(state__in=OPEN_WORK_STATES)
        return Q(state=value) if value in WorkOrderState.values else Q(pk__in=[])

    def filter_overdue(self, value: bool | None) -> Q:
        if value is None:
            return Q()
        q = Q(state__in=OPEN_WORK_STATES, deadline__lt=timezone.now())
        return q if value else ~q

    def filter_mine(self, value: bool | None) -> Q:
        return Q()  # applied by work_order_list, which knows the caller


def work_order_list(
    *, user: User, event: Event | None, filters: WorkOrderFilters | None = None
) -> QuerySet[WorkOrder]:
    filters = filters or WorkOrderFilters()
    qs = scope(user, WorkOrder, event=event).select_related(
        "event", "assignee", "zone", "alarm", "hazard"
    )
    if filters.mine:
        qs = qs.filter(assignee=user)
    return filters.filter(qs).order_by("deadline", "pk")


def work_order_detail_queryset(user: User) -> QuerySet[WorkOrder]:
    return (
        scope(user, WorkOrder)
        .select_related("event", "assignee", "zone", "alarm", "hazard", "dispatched_by")
        .prefetch_related("entries", "photos")
    )


def is_overdue(work: WorkOrder, now: dt.datetime | None = None) -> bool:
    return work.state in OPEN_WORK_STATES and work.deadline < (now or timezone.now())


def open_work_count(event: Event) -> int:
    return WorkOrder.objects.filter(event=event, state__in=OPEN_WORK_STATES).count()


def overdue_work_count(event: Event) -> int:
    return WorkOrder.objects.filter(
        event=event, state__in=OPEN_WORK_STATES, deadline__lt=timezone.now()
    ).count()


# ---------------------------------------------------------------- alarm statistics

STAT_GROUPS = {
    "rule": ("rule__code", "rule__name_zh"),
    "zone": ("zone_id", "zone__name_zh"),
    "severity": ("severity", "severity"),
}


def alarm_statistics(
    *, user: User, event: Event, by: str, since: dt.datetime | None = None
) -> list[dict]:
    """Per rule, zone or severity: how many alarms, how many still open, mean seconds to
    acknowledge (of those acknowledged) and to clear (of those cleared)."""
    key_field, label_field = STAT_GROUPS[by]
    qs = scope(user, Alarm, event=event)
    if since is not None:
        qs = qs.filter(first_at__gte=since)
    rows = qs.values_list(
        key_field, label_field, "state", "first_at", "acknowledged_at", "cleared_at"
    )
    groups: dict = defaultdict(lambda: {"count": 0, "open": 0, "ack": [], "clear": []})
    labels = {}
    for key, label, state, first, acked, cleared in rows.iterator(chunk_size=2000):
        g = groups[key]
        labels[key] = label
        g["count"] += 1
        g["open"] += state in OPEN_STATES
        if acked:
            g["ack"].append((acked - first).total_seconds())
        if cleared:
            g["clear"].append((cleared - first).total_seconds())
    result = []
    for key, g in groups.items():
        result.append(
            {
                "key": "" if key is None else str(key),
                "label": labels[key] or "",
                "count": g["count"],
                "open": g["open"],
                "mean_seconds_to_acknowledge": (
                    round(sum(g["ack"]) / len(g["ack"]), 1) if g["ack"] else None
                ),
                "mean_seconds_to_clear": (
                    round(sum(g["clear"]) / len(g["clear"]), 1) if g["clear"] else None
                ),
            }
        )
    return sorted(result, key=lambda r: (-r["count"], r["key"]))


# ---------------------------------------------------------------- notifications


def feed(*, user: User, event: Event, after: int = 0, limit: int = 50) -> list[Notification]:
    """The person's own feed lines newer than ``after`` (oldest first), or the latest."""
    qs = Notification.objects.filter(user=user, event=event)
    if after:
        return list(qs.filter(pk__gt=after).order_by("pk")[:limit])
    return list(reversed(qs.order_by("-pk")[:limit]))


def preferences(*, user: User, event: Event) -> list[NotificationPreference]:
    return list(NotificationPreference.objects.filter(user=user, event=event))


def webhook_list(*, user: User, event: Event) -> QuerySet[Webhook]:
    return scope(user, Webhook, event=event).select_related("event")


URL_MASK = "•••"


def _query_pair_masked(pair: str) -> str:
    name, sep, value = pair.partition("=")
    if not sep:  # a bare value (``?abc123``) may be the token itself
        return URL_MASK if name else ""
    return f"{name}={URL_MASK}" if value else pair


def url_masked(url: str) -> str:
    """``url`` without what may be a secret in it: the user and password before the host,
    every value of the query string (robot tokens, API keys) and the fragment. The scheme,
    host, port, path and the query's names stay, so that one webhook can be told from
    another: ``https://oapi.example/robot/send?access_token=•••``."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL one can take apart: nothing of it is shown
        return URL_MASK
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{URL_MASK}@{netloc.rpartition('@')[2]}"
    query = "&".join(_query_pair_masked(p) for p in parts.query.split("&"))
    fragment = URL_MASK if parts.fragment else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def webhook_url_shown(user: User, hook: Webhook, *, editable: bool | None = None) -> str:
    """A webhook's address as ``user`` may see it: in full for those who may change the
    webhook (they edit it), else masked (:func:`url_masked`). ``editable``: the caller's
    :func:`command_settings_editable` for the hook's event, when already known."""
    if editable is None:
        editable = command_settings_editable(user, hook.event)
    return hook.url if editable else url_masked(hook.url)


def delivery_list(*, user: User, webhook: Webhook) -> QuerySet[WebhookDelivery]:
    return scope(user, WebhookDelivery).filter(webhook=webhook).order_by("-pk")


def email_delivery_list(
    *, user: User, event: Event, state: str | None = None
) -> QuerySet[EmailDelivery]:
    """The event's e-mail log: all of it for its commanders and administrators (the command
    centre's settings), else only the person's own e-mails."""
    qs = scope(user, EmailDelivery, event=event).order_by("-pk")
    if not roles_in(user, event) & {"admin", "commander"}:
        qs = qs.filter(user=user)
    return qs.filter(state=state) if state else qs


# ---------------------------------------------------------------- the dashboard


def live_alarms(*, user: User, event: Event, limit: int = 30) -> QuerySet[Alarm]:
    return (
        scope(user, Alarm, event=event)
        .filter(state__in=OPEN_STATES)
        .select_related("rule", "zone", "assignee")
        # What the feed shows (command/dashboard.py), not every column of the alarm, its
        # rule (parameters and state: JSON) and its assignee.
        .only(
            "severity",
            "state",
            "subject_name",
            "last_at",
            "count",
            *name_columns("rule"),
            *name_columns("zone"),
            "assignee__username",
        )
        .order_by("-last_at", "-pk")[:limit]
    )


# ---------------------------------------------------------------- command settings


def command_settings_visible(user: User, event: Event) -> bool:
    """Whether ``user`` may read the event's escalation chains and webhooks."""
    return allows(user, VIEW, EscalationLevel(event=event, severity="critical", level=1))


def command_settings_editable(user: User, event: Event) -> bool:
    """Whether ``user`` may change them: the services' own rule (commanders and
    administrators of the event), asked beforehand to show or hide the buttons."""
    from .services import COMMAND_ROLES

    probe = EscalationLevel(event=event, severity="critical", level=1)
    return allows(user, CHANGE, probe) and bool(roles_in(user, event) & COMMAND_ROLES)


def escalation_chain_table(*, user: User, event: Event) -> list[dict]:
    """Every severity's chain in order, the event's own or else the default one (unsaved
    rows, ``is_default``)."""
    from .services import DEFAULT_CHAIN

    own: dict[str, list[EscalationLevel]] = {}
    for level in escalation_chains(user=user, event=event):
        own.setdefault(level.severity, []).append(level)
    table = []
    for severity, label in Severity.choices:
        levels = own.get(severity)
        is_default = not levels
        if is_default:
            levels = [
                EscalationLevel(
                    event=event,
                    severity=severity,
                    level=n,
                    target=t,
                    ack_within_seconds=a,
                    remind_every_seconds=r,
                )
                for n, (t, a, r) in enumerate(DEFAULT_CHAIN.get(severity, []), start=1)
            ]
        table.append(
            {"severity": severity, "label": label, "levels": levels, "is_default": is_default}
        )
    return table


def webhook_overview(*, user: User, event: Event) -> QuerySet[Webhook]:
    """The event's webhooks with the state and time of their last delivery and how many wait."""
    last = WebhookDelivery.objects.filter(webhook=OuterRef("pk")).order_by("-pk")
    return webhook_list(user=user, event=event).annotate(
        last_state=Subquery(last.values("state")[:1]),
        last_at=Subquery(last.values("created_at")[:1]),
        pending_count=Count("deliveries", filter=Q(deliveries__state=DeliveryState.PENDING)),
        failed_count=Count("deliveries", filter=Q(deliveries__state=DeliveryState.FAILED)),
    )
