"""What the command dashboard shows, read in one go for its live refresh: the alarm feed,
each hall's lifts and escalators by status, the cold-chain funnel, key figures, offline
devices and open work orders. Every number is computed from records (windowed: open alarms,
open work orders, the devices of the event), and names its list page."""

from __future__ import annotations

from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from eventguard.alerts.models import OPEN_STATES, Alarm
from eventguard.core.access import scope
from eventguard.core.figures import figures_report, one_report, registered, shared
from eventguard.core.models import Event, User, Zone

from . import selectors
from .models import OPEN_WORK_STATES, WorkOrder

KEY_FIGURE_PREFIXES = ("equipment.", "food.", "coldchain.", "alerts.", "command.", "hazards.")
EQUIPMENT = "equipment.equipment"
# Every open dashboard asks for the figures every tenth second; they are the same for
# everyone, so each server process computes them at most this often and shares them.
FIGURES_SECONDS = 10


def _equipment_status(user: User, event: Event, now) -> list[dict]:
    from eventguard.equipment.models import POSTED_KINDS, Equipment, Patrol
    from eventguard.telemetry.models import Device

    # Plain values, not model instances: a large venue has thousands of units on the map.
    equipment = list(
        scope(user, Equipment, event=event)
        .filter(kind__in=POSTED_KINDS, is_active=True)
        .order_by("code")
        .values("pk", "code", "kind", "plan_x", "plan_y", "zone__path")
    )
    # The few open alarms, offline devices and patrols under way of the event, matched here
    # rather than by a list of every equipment id in the query.
    faults = set(
        Alarm.objects.filter(
            event=event, subject_type=EQUIPMENT, state__in=OPEN_STATES
        ).values_list("subject_id", flat=True)
    )
    offline = set(
        Device.objects.filter(
            event=event,
            subject_type=EQUIPMENT,
            is_active=True,
            last_seen_at__isnull=False,
            stale_at__lte=now,
        ).values_list("subject_id", flat=True)
    )
    patrolling = set(
        Patrol.objects.filter(
            event=event, started_at__isnull=False, completed_at__isnull=True
        ).values_list("equipment_id", flat=True)
    )
    halls: dict[int | None, dict] = {}
    hall_of = _halls(event)
    for e in equipment:
        hall = hall_of.get(e["zone__path"] or "", None)
        key = hall.pk if hall else None
        entry = halls.get(key)
        if entry is None:  # a hall's name once, not once per lift
            entry = halls[key] = {
                "id": key,
                "name": hall.name if hall else _("Elsewhere"),
                "equipment": [],
            }
        pk = e["pk"]
        status = (
            "fault"
            if pk in faults
            else "offline"
            if pk in offline
            else "patrol"
            if pk in patrolling
            else "normal"
        )
        entry["equipment"].append(
            {
                "id": pk,
                "code": e["code"],
                "kind": e["kind"],
                "x": float(e["plan_x"]) if e["plan_x"] is not None else None,
                "y": float(e["plan_y"]) if e["plan_y"] is not None else None,
                "status": status,
            }
        )
    return sorted(halls.values(), key=lambda h: (h["id"] is None, h["name"]))


def _halls(event: Event) -> dict[str, Zone]:
    """Each zone path -> the hall it lies in."""
    zones = list(Zone.objects.filter(event=event).only("pk", "path", "kind", "name_zh", "name_en"))
    halls = {z.path: z for z in zones if z.kind == "hall"}
    result = {}
    for z in zones:
        for path, hall in halls.items():
            if z.path.startswith(path):
                result[z.path] = hall
                break
    return result


def _funnel(event: Event) -> list[dict]:
    from eventguard.coldchain.selectors import figure_values

    values = shared(("coldchain", event.pk), lambda: figure_values(event))
    boxes = reverse("coldchain:box_list", args=[event.code])
    return [
        {"stage": _("Received"), "value": values["received"], "url": boxes + "?received=true"},
        {"stage": _("Released"), "value": values["cleared"], "url": boxes + "?cleared=true"},
        {
            "stage": _("Entered the venue"),
            "value": values["entered"],
            "url": boxes + "?entered=true",
        },
    ]


def _figures_and_funnel(event: Event) -> dict:
    """The key figures and the funnel: event-wide (the same whoever looks) and the slowest
    part, computed at most once per ``FIGURES_SECONDS`` and language, and shared."""
    key = f"command.dashboard.figures:{event.pk}:{translation.get_language()}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    # One report: the funnel and the cold-chain figures read the boxes once.
    with one_report():
        keys = [f.key for f in registered() if f.key.startswith(KEY_FIGURE_PREFIXES)]
        report = figures_report(event, keys=keys)
        result = {
            "at": report["generated_at"],
            "figures": [
                {"key": key, "label": f["label"], "value": f["value"], "url": f["records_url"]}
                for key, f in report["figures"].items()
            ],
            "funnel": _funnel(event),
        }
    cache.set(key, result, FIGURES_SECONDS)
    return result


def snapshot(*, user: User, event: Event, with_figures: bool = True) -> dict:
    """The dashboard's data; ``with_figures=False`` leaves out the figures report and the
    funnel (they change slowly and cost the most: the page asks for them every tenth time)."""
    from eventguard.telemetry.models import Device

    now = timezone.now()
    alarms = [
        {
            "id": a.pk,
            "severity": a.severity,
            "severity_label": a.get_severity_display(),
            "state": a.state,
            "state_label": a.get_state_display(),
            "rule": a.rule.name,
            "subject": a.subject_name,
            "zone": a.zone.name if a.zone_id else "",
            "assignee": a.assignee.get_username() if a.assignee_id else "",
            "last_at": a.last_at.isoformat(),
            "count": a.count,
            "url": reverse("alerts:alarm_detail", args=[event.code, a.pk]),
            "dispatch_url": reverse("command:work_order_dispatch", args=[event.code, a.pk]),
        }
        for a in selectors.live_alarms(user=user, event=event)
    ]
    figures = _figures_and_funnel(event) if with_figures else {}
    offline = [
        {
            "code": d.code,
            "name": d.name or d.subject_name,
            "last_seen_at": d.last_seen_at.isoformat(),
        }
        for d in scope(user, Device, event=event)
        .filter(is_active=True, last_seen_at__isnull=False, stale_at__lte=now)
        .order_by("stale_at")[:50]
    ]
    work = scope(user, WorkOrder, event=event).filter(state__in=OPEN_WORK_STATES)
    return {
        "event": event.code,
        "at": now.isoformat(),
        "alarms": alarms,
        "halls": _equipment_status(user, event, now),
        "funnel": figures.get("funnel"),
        "figures": figures.get("figures"),
        "figures_at": figures.get("at"),
        "offline": offline,
        "work_orders": {
            "open": work.count(),
            "overdue": work.filter(deadline__lt=now).count(),
            "url": reverse("command:work_order_list", args=[event.code]) + "?state=open",
        },
    }
