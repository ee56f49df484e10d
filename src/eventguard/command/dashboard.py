"""What the command dashboard shows, read in one go for its live refresh: the alarm feed,
each hall's lifts and escalators by status, the cold-chain funnel, key figures, offline
devices and open work orders. Every number is computed from records (windowed: open alarms,
open work orders, the devices of the event), and names its list page."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time

from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection as db_connection
from django.db.models import Case, CharField, Count, Max, Sum, Value, When
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from eventguard.alerts.models import OPEN_STATES, Alarm
from eventguard.core.access import grants, scope
from eventguard.core.figures import figures_report, one_report, registered, shared
from eventguard.core.models import Event, User, Zone
from eventguard.core.templatetags.eventguard import choice_label

from . import selectors
from .models import OPEN_WORK_STATES, WorkOrder

KEY_FIGURE_PREFIXES = ("equipment.", "food.", "coldchain.", "alerts.", "command.", "hazards.")
EQUIPMENT = "equipment.equipment"
# Every open dashboard asks for the figures every tenth second; they are the same for
# everyone, so each server process computes them at most this often and shares them.
FIGURES_SECONDS = 10
LIVE_ALARMS = 30  # the alarm feed's most recent open alarms
LAYOUT_SECONDS = 600  # a layout version's halls kept for those who ask for the same one
# The requests a server process serves at once run in threads: when the shared figures or a
# layout are missing, one computes them and the others asking for the same wait for its
# result (one lock per cache key: an event's figures never wait for another's layout).
_locks: dict[str, threading.Lock] = {}
_locks_lock = threading.Lock()
_refreshing: set[str] = set()  # keys being computed again in the background

logger = logging.getLogger(__name__)


def _shared(
    key: str,
    seconds: int,
    compute,
    *,
    wait: bool = True,
    cached_only: bool = False,
    refresh_after: float | None = None,
):
    """``compute()``, kept in this process's cache for ``seconds`` under ``key``: computed by
    one request at a time, the others asking meanwhile wait for it and read its result.
    ``wait=False``: None instead of waiting for another request's computing;
    ``cached_only``: None instead of computing. With ``refresh_after``, a result older than
    that is still served, while a thread of its own computes the next: no request waits for
    it again once it has been computed."""
    entry = cache.get(key)
    if entry is not None:
        value, computed_at = entry
        if refresh_after is not None and time.monotonic() - computed_at >= refresh_after:
            _refresh(key, seconds, compute)
        return value
    if cached_only:
        return None
    with _locks_lock:
        lock = _locks.setdefault(key, threading.Lock())
    if not lock.acquire(blocking=wait):
        return None
    try:
        entry = cache.get(key)
        if entry is None:
            entry = (compute(), time.monotonic())
            cache.set(key, entry, seconds)
        with _locks_lock:  # the cache answers from now on: no lock kept per key
            if _locks.get(key) is lock:
                del _locks[key]
    finally:
        lock.release()
    return entry[0]


def _refresh(key: str, seconds: int, compute) -> None:
    """Compute ``key`` again in a thread of its own (one at a time per key), in the language
    of the request that found it old, and keep the result for ``seconds``."""
    with _locks_lock:
        if key in _refreshing:
            return
        _refreshing.add(key)
    language = translation.get_language()

    def run():
        try:
            with translation.override(language):
                cache.set(key, (compute(), time.monotonic()), seconds)
        except Exception:  # the old result stays; the next request tries again
            logger.exception("computing %s again failed", key)
        finally:
            db_connection.close()  # this thread's own connection (back to the pool)
            with _locks_lock:
                _refreshing.discard(key)

    threading.Thread(target=run, name="dashboard-refresh", daemon=True).start()


def _posted(user: User, event: Event):
    """The lifts, escalators and moving walks in service that ``user`` may see."""
    from eventguard.equipment.models import POSTED_KINDS, Equipment

    return scope(user, Equipment, event=event).filter(kind__in=POSTED_KINDS, is_active=True)


def layout_version(user: User, event: Event) -> str:
    """A short fingerprint of what ``layout()`` returns for ``user``, cheap enough for every
    poll: how many units they see, the sum of their ids and the latest change of one (a unit
    added, taken out of service, moved to another zone or on the plan changes it), and the
    event's zones (a hall renamed, a zone moved under another hall). What decides which units
    a person sees (their roles' zones and domains in the event) is part of it too: two
    people with different grants never share a version, so never a cached layout."""
    units = _posted(user, event).aggregate(n=Count("pk"), ids=Sum("pk"), changed=Max("updated_at"))
    zones = Zone.objects.filter(event=event).order_by("pk")
    seen_as = sorted(
        (g.role, tuple(sorted(g.domains)), tuple(sorted(g.zone_paths)), g.unit_id or 0)
        for g in grants(user, event=event)
    )
    parts = [
        user.is_superuser,
        seen_as,
        units["n"],
        units["ids"],
        units["changed"].isoformat() if units["changed"] else "",
        *zones.values_list("pk", "path", "kind", "name_zh", "name_en"),
    ]
    return hashlib.blake2b(repr(parts).encode(), digest_size=8).hexdigest()


def layout(user: User, event: Event) -> list[dict]:
    """Each hall with its name and the lifts and escalators ``user`` may see on its floor
    plan (id, code, kind, position in percent or None); they change rarely, so the page
    asks for them once and again only when ``layout_version`` changes."""
    # Plain values, not model instances: a large venue has thousands of units on the map.
    equipment = (
        _posted(user, event)
        .order_by("code")
        .values("pk", "code", "kind", "plan_x", "plan_y", "zone__path")
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
        entry["equipment"].append(
            {
                "id": e["pk"],
                "code": e["code"],
                "kind": e["kind"],
                "x": float(e["plan_x"]) if e["plan_x"] is not None else None,
                "y": float(e["plan_y"]) if e["plan_y"] is not None else None,
            }
        )
    return sorted(halls.values(), key=lambda h: (h["id"] is None, h["name"]))


class Encoded(bytes):
    """A part of the answer already encoded as JSON: ``encode()`` writes it as it is."""


def _layout_shared(user: User, event: Event, version: str) -> Encoded:
    """``layout()`` as JSON, computed and encoded once per version and language in each
    server process: the version fingerprints exactly what the person sees (a commander's
    whole venue, a supervisor's halls), so everyone with the same one shares it. A wall of
    dashboards opening at once reads the venue's thousands of units once, and each answer
    carries the encoded bytes instead of encoding hundreds of kilobytes again."""
    key = f"command.dashboard.layout:{event.pk}:{version}:{translation.get_language()}"
    return _shared(key, LAYOUT_SECONDS, lambda: Encoded(_encoded(layout(user, event))))


def _encoded(value) -> bytes:
    return json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def encode(data: dict) -> bytes:
    """``data`` as JSON, its ``Encoded`` parts spliced in as they are."""
    plain = {key: value for key, value in data.items() if not isinstance(value, Encoded)}
    parts = [_encoded(plain)[:-1]]  # without its closing brace
    for key, value in data.items():
        if isinstance(value, Encoded):
            parts += [b"," if len(parts) > 1 or plain else b"", _encoded(key), b":", value]
    return b"".join(parts) + b"}"


def equipment_statuses(user: User, event: Event, now) -> dict[int, str]:
    """The lifts and escalators ``user`` may see that are not normal, as {id: "fault" |
    "offline" | "patrol"} (an open alarm before a silent controller before a patrol under
    way); every other one is normal. Sparse: a quiet venue answers with nothing."""
    from eventguard.equipment.models import Patrol
    from eventguard.telemetry.models import Device

    # One statement: the person's units, each matched in the database against the event's
    # open alarms, silent controllers and patrols under way (a whole venue offline is
    # thousands of ids: never a list of them sent back and forth).
    faults = Alarm.objects.filter(
        event=event, subject_type=EQUIPMENT, state__in=OPEN_STATES
    ).values("subject_id")
    offline = Device.objects.filter(
        event=event,
        subject_type=EQUIPMENT,
        is_active=True,
        last_seen_at__isnull=False,
        stale_at__lte=now,
    ).values("subject_id")
    patrolling = Patrol.objects.filter(
        event=event, started_at__isnull=False, completed_at__isnull=True
    ).values("equipment_id")
    marked = (
        _posted(user, event)
        .annotate(
            status=Case(
                When(pk__in=faults, then=Value("fault")),
                When(pk__in=offline, then=Value("offline")),
                When(pk__in=patrolling, then=Value("patrol")),
                default=None,
                output_field=CharField(),
            )
        )
        .filter(status__isnull=False)
        .order_by()
        .values_list("pk", "status")
    )
    return dict(marked)


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


def _figures_and_funnel(event: Event, *, cached_only: bool = False) -> dict:
    """The key figures and the funnel: event-wide (the same whoever looks) and the slowest
    part, computed once per ``FIGURES_SECONDS`` and language, and shared. Once computed,
    the last result is served while the next is computed in the background (kept a minute
    at most: a process nobody asks is not kept busy). Empty while another request computes
    them the first time (no one waits for them: the page asks again on its next poll), and
    with ``cached_only`` when no one has computed them yet."""
    key = f"command.dashboard.figures:{event.pk}:{translation.get_language()}"
    figures = _shared(
        key,
        FIGURES_SECONDS * 6,
        lambda: _figures_and_funnel_computed(event),
        wait=False,
        cached_only=cached_only,
        refresh_after=FIGURES_SECONDS,
    )
    return figures or {}


def _figures_and_funnel_computed(event: Event) -> dict:
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
    return result


def snapshot(
    *, user: User, event: Event, with_figures: bool = True, layout_held: str | None = None
) -> dict:
    """The dashboard's data for ``user``.

    Every answer carries ``layout_version`` and the statuses of the units that are not
    normal; the halls' layout itself only when asked: ``layout_held`` is the version the
    page holds ("1" when it has none), and the layout comes when it differs from the
    current one (None: never). ``with_figures=False`` leaves out the figures report and the
    funnel (they change slowly and cost the most: the page asks for them every tenth
    time); they are left out too while another request computes them, and in an answer with
    the layout when no one has computed them yet. The layout is already JSON (``Encoded``):
    ``encode()`` writes the answer."""
    from eventguard.telemetry.models import Device

    now = timezone.now()
    open_alarms = scope(user, Alarm, event=event).filter(state__in=OPEN_STATES)
    # Each alarm's page and its dispatch page lie under the alarm list's address
    # (alerts/urls.py, command/urls.py): built from it, not reversed twice per alarm and poll.
    alarm_list = reverse("alerts:alarm_list", args=[event.code])
    alarms = [
        {
            "id": a.pk,
            "severity": a.severity,
            "severity_label": choice_label(a, "severity"),
            "state": a.state,
            "state_label": choice_label(a, "state"),
            "rule": a.rule.name,
            "subject": a.subject_name,
            "zone": a.zone.name if a.zone_id else "",
            "assignee": a.assignee.get_username() if a.assignee_id else "",
            "last_at": a.last_at.isoformat(),
            "count": a.count,
            "url": f"{alarm_list}{a.pk}/",
            "dispatch_url": f"{alarm_list}{a.pk}/dispatch/",
        }
        for a in selectors.live_alarms(user=user, event=event, limit=LIVE_ALARMS)
    ]
    # The feed shows the most recent few; the total says how many more the list holds.
    alarms_total = len(alarms) if len(alarms) < LIVE_ALARMS else open_alarms.count()
    version = layout_version(user, event)
    sends_layout = layout_held is not None and layout_held != version
    # An answer with the layout (a dashboard opening) does not wait for the figures to be
    # computed: it carries them if they are at hand, and the page asks again on its next poll.
    figures = _figures_and_funnel(event, cached_only=sends_layout) if with_figures else {}
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
    statuses = equipment_statuses(user, event, now)
    data = {
        "event": event.code,
        "at": now.isoformat(),
        "alarms": alarms,
        "alarms_total": alarms_total,
        "alarms_url": alarm_list + "?state=open",
        "layout_version": version,
        "layout": _layout_shared(user, event, version) if sends_layout else None,
        "statuses": {str(pk): status for pk, status in statuses.items()},
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
    if layout_held is None:
        # A page loaded before the layout had versions (a wall display left open through an
        # upgrade) asks without ``layout`` and draws ``halls``: every unit with its status.
        data["halls"] = [
            {
                **hall,
                "equipment": [
                    {**unit, "status": statuses.get(unit["id"], "normal")}
                    for unit in hall["equipment"]
                ],
            }
            for hall in json.loads(_layout_shared(user, event, version))
        ]
    return data
