"""What the command dashboard shows, read in one go for its live refresh: the alarm feed,
each hall's lifts and escalators by status, the cold-chain funnel, key figures, offline
devices and open work orders. Every number is computed from records (windowed: open alarms,
open work orders, the devices of the event), and names its list page."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.db.models import Count, Max, Q, Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from eventguard.alerts.models import OPEN_STATES, Alarm
from eventguard.core.access import grants, scope
from eventguard.core.figures import figures_report, one_report, registered, shared
from eventguard.core.models import Event, User, Zone
from eventguard.core.templatetags.eventguard import choice_label

from . import selectors
from .models import OPEN_WORK_STATES, DashboardFigures, WorkOrder

KEY_FIGURE_PREFIXES = ("equipment.", "food.", "coldchain.", "alerts.", "command.", "hazards.")
EQUIPMENT = "equipment.equipment"
# Every open dashboard asks for the figures every tenth second; they are the same for
# everyone, so they are computed at most this often for the whole server (every process on
# every host: the DashboardFigures row) and shared.
FIGURES_SECONDS = 10
FIGURES_KEPT = dt.timedelta(minutes=1)  # older than this, none are served: nobody was asking
# A computation not done by then is presumed dead (its process stopped): short enough that
# figures 10 s old whose computing was lost are taken over well before they are a minute old.
FIGURES_LEASE = dt.timedelta(seconds=30)
LIVE_ALARMS = 30  # the alarm feed's most recent open alarms
LAYOUT_SECONDS = 600  # a layout version's halls kept for those who ask for the same one
# A person's layout version is read from the units at most this often by each server
# process, for everyone who sees what they see: a lift added, moved or taken out of service
# is on the open dashboards' plans within these seconds (its status, every second, once it
# is there).
LAYOUT_VERSION_SECONDS = 5
# Which devices have fallen silent (for the list of offline devices and the units' statuses)
# is read from the devices at most this often by each server process, for all the open
# dashboards: a device is offline after minutes of silence, and a pass over the event's
# devices, which carry their latest readings, on every poll (twice) was most of its time in
# the database.
OFFLINE_SECONDS = 1
OFFLINE_BY_ID = 500  # up to this many silent devices, a person's list is read by their ids
# The requests a server process serves at once run in threads: when a layout is missing,
# one computes it and the others asking for the same wait for its result (one lock per
# cache key: one version's layout never waits for another's).
_locks: dict[str, threading.Lock] = {}
_locks_lock = threading.Lock()

logger = logging.getLogger(__name__)


def _shared(key: str, seconds: int, compute):
    """``compute()``, kept in this process's cache for ``seconds`` under ``key``: computed by
    one request at a time, the others asking meanwhile wait for it and read its result."""
    value = cache.get(key)
    if value is not None:
        return value
    with _locks_lock:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        value = cache.get(key)
        if value is None:
            value = compute()
            cache.set(key, value, seconds)
        with _locks_lock:  # the cache answers from now on: no lock kept per key
            if _locks.get(key) is lock:
                del _locks[key]
    return value


def _posted(user: User, event: Event):
    """The lifts, escalators and moving walks in service that ``user`` may see."""
    from eventguard.equipment.models import posted_in_service

    return scope(user, posted_in_service(event), event=event)


def _seen_as(user: User, event: Event) -> list:
    """What decides which units ``user`` sees in ``event``: their roles' zones and domains
    (from the grants this process keeps), or all of them for a superuser."""
    return [
        user.is_superuser,
        sorted(
            (g.role, tuple(sorted(g.domains)), tuple(sorted(g.zone_paths)), g.unit_id or 0)
            for g in grants(user, event=event)
        ),
    ]


def _fingerprint(parts) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=8).hexdigest()


def layout_version(user: User, event: Event) -> str:
    """A short fingerprint of what ``layout()`` returns for ``user``: how many units they
    see, the sum of their ids and the latest change of one (a unit added, taken out of
    service, moved to another zone or on the plan changes it), and the event's zones (a hall
    renamed, a zone moved under another hall). What decides which units a person sees is
    part of it too: two people with different grants never share a version, so never a
    cached layout. Read from the units once per ``LAYOUT_VERSION_SECONDS`` by each process
    for all those who see the same."""
    seen_as = _seen_as(user, event)
    key = f"command.dashboard.layout_version:{event.pk}:{_fingerprint(seen_as)}"
    version = cache.get(key)
    if version is None:
        units = _posted(user, event).aggregate(
            n=Count("pk"), ids=Sum("pk"), changed=Max("updated_at")
        )
        zones = Zone.objects.filter(event=event).order_by("pk")
        version = _fingerprint(
            [
                *seen_as,
                units["n"],
                units["ids"],
                units["changed"].isoformat() if units["changed"] else "",
                *zones.values_list("pk", "path", "kind", "name_zh", "name_en"),
            ]
        )
        cache.set(key, version, LAYOUT_VERSION_SECONDS)
    return version


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


class Plan(NamedTuple):
    """A layout as the answers carry it (``encoded``) and the ids of its units."""

    encoded: Encoded
    units: frozenset[int]


def _plan(halls: list[dict]) -> Plan:
    return Plan(Encoded(_encoded(halls)), frozenset(e["id"] for h in halls for e in h["equipment"]))


def _layout_shared(user: User, event: Event, version: str) -> Plan:
    """``layout()`` as JSON, computed and encoded once per version and language in each
    server process: the version fingerprints exactly what the person sees (a commander's
    whole venue, a supervisor's halls), so everyone with the same one shares it. A wall of
    dashboards opening at once reads the venue's thousands of units once, and each answer
    carries the encoded bytes instead of encoding hundreds of kilobytes again."""
    key = f"command.dashboard.layout:{event.pk}:{version}:{translation.get_language()}"
    return _shared(key, LAYOUT_SECONDS, lambda: _plan(layout(user, event)))


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


def equipment_statuses(event: Event, now, units: frozenset[int]) -> dict[int, str]:
    """Of ``units`` (the lifts and escalators on a person's plan), those that are not normal,
    as {id: "fault" | "offline" | "patrol"} (an open alarm before a silent controller before
    a patrol under way); every other one is normal. Sparse: a quiet venue answers with
    nothing. The ids of the event's units with an open alarm, a silent controller or a
    patrol under way are read as they are and matched here against the plan, which the
    process keeps: no pass over the event's units."""
    from eventguard.equipment.models import Patrol

    faults = (
        Alarm.objects.filter(event=event, subject_type=EQUIPMENT, state__in=OPEN_STATES)
        .order_by()
        .values_list("subject_id", flat=True)
    )
    offline = offline_devices(event, now).equipment
    patrolling = (
        Patrol.objects.filter(event=event, started_at__isnull=False, completed_at__isnull=True)
        .order_by()
        .values_list("equipment_id", flat=True)
    )
    statuses: dict[int, str] = {}
    # The lowest first: a unit in several keeps the highest.
    for status, ids in (("patrol", patrolling), ("offline", offline), ("fault", faults)):
        statuses.update(dict.fromkeys(units.intersection(ids), status))
    return statuses


class Offline(NamedTuple):
    """An event's silent devices: their ids, the longest silent first, and the lifts and
    escalators among their subjects."""

    devices: tuple[int, ...]
    equipment: frozenset[int]


def offline_devices(event: Event, now) -> Offline:
    """The event's devices that have fallen silent, read once per ``OFFLINE_SECONDS`` by
    each process for all its dashboards."""
    from eventguard.telemetry.models import Device
    from eventguard.telemetry.selectors import offline_q

    def read() -> Offline:
        rows = (
            Device.objects.filter(offline_q(now), event=event)
            .order_by("stale_at", "pk")
            .values_list("pk", "subject_type", "subject_id")
        )
        return Offline(
            tuple(pk for pk, _type, _id in rows),
            frozenset(subject for _pk, kind, subject in rows if kind == EQUIPMENT),
        )

    return _shared(f"command.dashboard.offline:{event.pk}", OFFLINE_SECONDS, read)


def _offline_shown(user: User, event: Event, now) -> list[dict]:
    """The silent devices ``user`` may see, the longest silent first (50 at most)."""
    from eventguard.telemetry.models import Device
    from eventguard.telemetry.selectors import offline_q

    silent = offline_devices(event, now).devices
    if not silent:
        return []  # a quiet venue: no query
    # By id while they are few; a venue's network down is asked by the condition itself
    # (no statement with thousands of parameters).
    which = Q(pk__in=silent) if len(silent) <= OFFLINE_BY_ID else offline_q(now)
    devices = (
        scope(user, Device, event=event)
        .filter(which)
        .only("code", "name", "subject_name", "last_seen_at", "stale_at")
        .order_by("stale_at", "pk")[:50]
    )
    return [
        {
            "code": d.code,
            "name": d.name or d.subject_name,
            "last_seen_at": d.last_seen_at.isoformat(),
        }
        for d in devices
    ]


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
    part, computed once per ``FIGURES_SECONDS`` and language for the whole server, and
    shared. Once computed, the last result is served while the process that took the lease
    computes the next in the background. Empty while another request computes them the
    first time (no one waits for them: the page asks again on its next poll), and with
    ``cached_only`` when there are none to serve."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    key = _figures_key(event, language)
    held = cache.get(key)  # this process's copy, until the figures are FIGURES_SECONDS old
    if held is not None:
        return held
    now = timezone.now()
    row = DashboardFigures.objects.filter(event=event, language=language).first()
    value, age = None, None
    if row is not None and row.computed_at is not None:
        age = (now - row.computed_at).total_seconds()
        if row.computed_at > now - FIGURES_KEPT:
            value = row.value
            if age < FIGURES_SECONDS:
                cache.set(key, value, FIGURES_SECONDS - age)
    fresh = age is not None and age < FIGURES_SECONDS
    lease = None if fresh else _figures_lease(event, language, row, now)
    if lease is not None:
        if value is not None:
            _figures_refresh(event, language, lease)
        elif cached_only:
            _figures_release(event, language, lease)
        else:
            value = _figures_store(event, language, lease)
    return value or {}


def _figures_key(event: Event, language: str) -> str:
    """This process's cache key of an event's figures in ``language``."""
    return f"command.dashboard.figures:{event.pk}:{language}"


def _figures_lease(event: Event, language: str, row, now) -> dt.datetime | None:
    """Take the lease on computing the figures once they are old and no one else computes
    them (the row created, or its lease taken, in one statement); when it holds, or None."""
    until = now + FIGURES_LEASE
    if row is not None and row.leased_until is not None and row.leased_until > now:
        return None  # another process computes them: no write to learn that
    if row is None:
        try:
            with transaction.atomic():
                DashboardFigures.objects.create(event=event, language=language, leased_until=until)
        except IntegrityError:  # another process created it first: theirs to compute
            return None
        return until
    taken = (
        DashboardFigures.objects.filter(pk=row.pk)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now))
        .filter(
            Q(computed_at__isnull=True)
            | Q(computed_at__lte=now - dt.timedelta(seconds=FIGURES_SECONDS))
        )
        .update(leased_until=until)
    )
    return until if taken else None


def _figures_release(event: Event, language: str, lease: dt.datetime) -> None:
    DashboardFigures.objects.filter(event=event, language=language, leased_until=lease).update(
        leased_until=None
    )


def _figures_store(event: Event, language: str, lease: dt.datetime) -> dict:
    """Compute the figures under ``lease`` and keep them for everyone (as JSON gives them
    back: every process serves the same values); the lease is given back if it fails."""
    started = timezone.now()
    try:
        value = json.loads(_encoded(_figures_and_funnel_computed(event)))
    except BaseException:
        _figures_release(event, language, lease)
        raise
    # Only under its own lease: one that ran out and was taken again is the other's to store
    # (and this process then keeps serving what the others serve).
    stored = DashboardFigures.objects.filter(
        event=event, language=language, leased_until=lease
    ).update(value=value, computed_at=started, leased_until=None)
    if stored:
        cache.set(_figures_key(event, language), value, FIGURES_SECONDS)
    return value


# Set by the live data's view for the length of a request: a computation of the figures the
# request starts waits in this list until its answer has been sent (see ``after_answer``).
_after_answer: ContextVar[list | None] = ContextVar("dashboard_after_answer", default=None)


@contextmanager
def after_answer() -> Iterator[list]:
    """Within this block, the figures' computation that a request starts is not started but
    put in the list yielded, for the caller to start once the answer is sent: the request
    that found the figures old is not slowed down by their computing. Outside one, it
    starts at once."""
    pending: list = []
    token = _after_answer.set(pending)
    try:
        yield pending
    finally:
        _after_answer.reset(token)


def _figures_refresh(event: Event, language: str, lease: dt.datetime) -> None:
    """``_figures_store`` in a thread of its own, in the language of the request that found
    the figures old: the request is answered with the last ones at once (and, within
    ``after_answer``, before the thread starts)."""

    def run():
        try:
            with translation.override(language):
                _figures_store(event, language, lease)
        except Exception:  # the old figures stay; the next request after them tries again
            logger.exception("computing the dashboard's figures of event %s failed", event.pk)
        finally:
            db_connection.close()  # this thread's own connection (back to the pool)

    thread = threading.Thread(target=run, name="dashboard-refresh", daemon=True)
    pending = _after_answer.get()
    if pending is None:
        thread.start()
    else:
        pending.append(thread.start)


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
    offline = _offline_shown(user, event, now)
    work = (
        scope(user, WorkOrder, event=event)
        .filter(state__in=OPEN_WORK_STATES)
        .aggregate(open=Count("pk"), overdue=Count("pk", filter=Q(deadline__lt=now)))
    )
    plan = _layout_shared(user, event, version)
    statuses = equipment_statuses(event, now, plan.units)
    data = {
        "event": event.code,
        "at": now.isoformat(),
        "alarms": alarms,
        "alarms_total": alarms_total,
        "alarms_url": alarm_list + "?state=open",
        "layout_version": version,
        "layout": plan.encoded if sends_layout else None,
        "statuses": {str(pk): status for pk, status in statuses.items()},
        "funnel": figures.get("funnel"),
        "figures": figures.get("figures"),
        "figures_at": figures.get("at"),
        "offline": offline,
        "work_orders": {
            "open": work["open"],
            "overdue": work["overdue"],
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
            for hall in json.loads(plan.encoded)
        ]
    return data
