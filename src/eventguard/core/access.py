"""Who may see and change what: the one scoping function.

Every queryset that reaches a user goes through :func:`scope`; every write service
asks :func:`require` first. A role grants actions on domains; a role assignment
narrows that to one event, some zones (empty: all) and some domains (empty: all
the role allows); unit operators and exhibitors see only records of their own unit.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .models import Event, User

VIEW = "view"
CHANGE = "change"

ALL_DOMAINS = frozenset(
    {"registry", "coldchain", "food", "equipment", "hazards", "permits", "monitoring"}
)
FIELD_DOMAINS = frozenset({"coldchain", "food", "equipment", "hazards", "permits", "monitoring"})


@dataclass(frozen=True)
class RoleRule:
    view: frozenset[str]
    change: frozenset[str]
    zone_scoped: bool = True
    own_unit: bool = False


ROLE_RULES: dict[str, RoleRule] = {
    "admin": RoleRule(ALL_DOMAINS | {"audit"}, ALL_DOMAINS, zone_scoped=False),
    "commander": RoleRule(ALL_DOMAINS, frozenset({"monitoring", "hazards"}), zone_scoped=False),
    "auditor": RoleRule(ALL_DOMAINS | {"audit"}, frozenset(), zone_scoped=False),
    "supervisor": RoleRule(ALL_DOMAINS, ALL_DOMAINS),
    "inspector": RoleRule(ALL_DOMAINS, FIELD_DOMAINS),
    "post_staff": RoleRule(
        frozenset({"registry", "equipment", "hazards", "monitoring"}),
        frozenset({"equipment", "hazards", "monitoring"}),
    ),
    "unit_operator": RoleRule(
        ALL_DOMAINS, frozenset({"food", "hazards", "equipment"}), zone_scoped=False, own_unit=True
    ),
    "exhibitor": RoleRule(
        frozenset({"registry", "coldchain", "permits"}),
        frozenset({"coldchain", "permits"}),
        zone_scoped=False,
        own_unit=True,
    ),
}


@dataclass(frozen=True)
class ScopeSpec:
    """How a model's rows relate to events, domains, zones and units.

    ``event``: path to the event (``"pk"`` for the event itself); ``event_field``
    instead names a column holding the event code. ``domain`` is a constant, or
    ``domain_path`` a path to a column holding it. ``zone``: path to the zone
    (``""`` when the row is a zone; None when rows are not bound to zones).
    ``unit``: path to the owning unit (``"pk"`` when the row is a unit; None when
    own-unit roles may not see such rows at all). ``change_domain``: a domain that changing
    a row needs on top of the row's own (a unit's registry entry is read by everyone working
    in its domain, but changed only by those who also hold the registry). ``overseen_by``:
    a domain whose holders see (and change) rows of every domain, as the command centre's
    ``"monitoring"`` does for the alarms and devices of every domain.
    """

    event: str = "event"
    domain: str | None = None
    domain_path: str | None = None
    zone: str | None = None
    unit: str | None = None
    event_field: str | None = None
    change_domain: str | None = None  # changing also needs this domain (units: "registry")
    overseen_by: str | None = None  # holders of this domain see rows of every domain


@dataclass(frozen=True)
class Grant:
    """One role assignment reduced to what scoping needs."""

    event_id: int
    event_code: str
    role: str
    domains: frozenset[str]
    zone_paths: tuple[str, ...]  # empty: every zone
    unit_id: int | None


# A person's grants read from the database are kept by each server process for their next
# requests, under their access stamp (``User.access_stamp``): whatever changes what a person
# may see gives them a new stamp in the same transaction (``access_changed``), so every
# process reads their grants afresh at their next request. The most recent people only.
KEPT_PEOPLE = 4096
_kept: OrderedDict[int, tuple[object, list]] = OrderedDict()
_kept_lock = threading.Lock()


def _read_grants(user: User) -> list:
    from .models import RoleAssignment

    entries = []
    assignments = (
        RoleAssignment.objects.filter(user=user, is_active=True)
        .select_related("event")
        .prefetch_related("zones")
    )
    for a in assignments:
        rule = ROLE_RULES[a.role]
        narrowed = frozenset(a.domains) if a.domains else None
        zone_paths = tuple(z.path for z in a.zones.all()) if rule.zone_scoped else ()
        entries.append((a, rule, narrowed, zone_paths))
    return entries


def _all_grants(user: User) -> list:
    """Every active assignment of ``user`` reduced for scoping: kept on the user object for
    the request, and by the process under the person's access stamp."""
    entries = getattr(user, "_eventguard_grants", None)
    if entries is not None:
        return entries
    stamp = getattr(user, "access_stamp", None)
    with _kept_lock:
        kept = _kept.get(user.pk)
        if kept is not None and stamp is not None and kept[0] == stamp:
            _kept.move_to_end(user.pk)
            entries = kept[1]
    if entries is None:
        entries = _read_grants(user)
        if stamp is not None:
            with _kept_lock:
                _kept[user.pk] = (stamp, entries)
                _kept.move_to_end(user.pk)
                while len(_kept) > KEPT_PEOPLE:
                    _kept.popitem(last=False)
    user._eventguard_grants = entries
    return entries


def _grants(user: User, event: Event | None) -> list:
    return [entry for entry in _all_grants(user) if event is None or entry[0].event_id == event.pk]


def _grant_for(entry, action: str) -> Grant | None:
    a, rule, narrowed, zone_paths = entry
    allowed = rule.view if action == VIEW else rule.change
    if narrowed is not None:
        # Narrowing applies to the field domains; the registry part of a role stays.
        allowed = allowed & (narrowed | {"registry"})
    if not allowed:
        return None
    return Grant(
        event_id=a.event_id,
        event_code=a.event.code,
        role=a.role,
        domains=frozenset(allowed),
        zone_paths=zone_paths,
        unit_id=a.unit_id if rule.own_unit else None,
    )


def grants(user: User, *, event: Event | None = None, action: str = VIEW) -> list[Grant]:
    """The user's grants for an action, in one event or in all."""
    if not user or not user.is_authenticated:
        return []
    result = []
    for entry in _grants(user, event):
        g = _grant_for(entry, action)
        if g is not None:
            result.append(g)
    return result


def _prefix(path: str) -> str:
    return f"{path}__" if path else ""


def _pk_path(path: str) -> str:
    """``"pk"`` for the row itself, else the related row's primary key (no join for a FK)."""
    return "pk" if path == "pk" else f"{path}__pk"


def _grant_q(spec: ScopeSpec, g: Grant, model_domain: str | None) -> Q | None:
    if model_domain is not None and model_domain not in g.domains:
        return None
    if spec.event_field:
        q = Q(**{spec.event_field: g.event_code})
    else:
        q = Q(**{_pk_path(spec.event): g.event_id})
    if spec.domain_path and not (spec.overseen_by and spec.overseen_by in g.domains):
        q &= Q(**{f"{spec.domain_path}__in": sorted(g.domains)})
    if g.unit_id is not None:
        if spec.unit is None:
            return None
        q &= Q(**{_pk_path(spec.unit): g.unit_id})
    if g.zone_paths and spec.zone is not None:
        path_field = f"{_prefix(spec.zone)}path"
        q &= reduce(or_, (Q(**{f"{path_field}__startswith": p}) for p in g.zone_paths))
    return q


def is_superuser(user: User | None) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_superuser)


def scope(
    user: User | None,
    queryset: QuerySet | type[Model],
    *,
    action: str = VIEW,
    event: Event | None = None,
) -> QuerySet:
    """The rows of ``queryset`` that ``user`` may see (or change) in ``event``.

    Superusers see everything; anonymous users nothing.
    """
    qs = queryset._default_manager.all() if isinstance(queryset, type) else queryset
    spec: ScopeSpec = qs.model.scope
    if is_superuser(user):
        if event is not None:
            if spec.event_field:
                return qs.filter(**{spec.event_field: event.code})
            return qs.filter(**{_pk_path(spec.event): event.pk})
        return qs
    if not user or not user.is_authenticated or not user.is_active:
        return qs.none()
    qs_parts = [
        _grant_q(spec, g, spec.domain)
        for g in grants(user, event=event, action=action)
        if not (action == CHANGE and spec.change_domain and spec.change_domain not in g.domains)
    ]
    qs_parts = [q for q in qs_parts if q is not None]
    if not qs_parts:
        return qs.none()
    # Scope paths follow forward foreign keys only, so OR-ing the grants cannot repeat a row.
    return qs.filter(reduce(or_, qs_parts))


def get_scoped_or_404(user, queryset, *, action: str = VIEW, event=None, **lookup):
    """One row the user may see, or 404: a record out of scope looks like no record."""
    qs = scope(user, queryset, action=action, event=event)
    try:
        return qs.get(**lookup)
    except qs.model.DoesNotExist as exc:
        raise Http404(_("No such record.")) from exc


def _attr(obj, path: str):
    value = obj
    for part in path.split("__"):
        if value is None:
            return None
        value = getattr(value, part)
    return value


def allows(user: User | None, action: str, obj: Model) -> bool:
    """Whether ``user`` may take ``action`` on ``obj`` (saved or not): the same rules as
    :func:`scope`, applied to the object's attributes."""
    if user is None:  # the system itself: scenario loader, worker, command line
        return True
    if is_superuser(user):
        return True
    if not user.is_authenticated or not user.is_active:
        return False
    spec: ScopeSpec = obj.scope
    if spec.event_field:
        event_code = getattr(obj, spec.event_field)
        event_id = None
    else:
        event_obj = obj if spec.event == "pk" else _attr(obj, spec.event)
        event_id = event_obj.pk if event_obj is not None else None
        event_code = None
    domain = spec.domain if spec.domain else _attr(obj, spec.domain_path)
    for g in grants(user, action=action):
        if event_id is not None and g.event_id != event_id:
            continue
        if event_code is not None and g.event_code != event_code:
            continue
        if domain not in g.domains and not (spec.overseen_by and spec.overseen_by in g.domains):
            continue
        if action == CHANGE and spec.change_domain and spec.change_domain not in g.domains:
            continue
        if g.unit_id is not None:
            if spec.unit is None:
                continue
            unit = obj if spec.unit == "pk" else _attr(obj, spec.unit)
            if unit is None or unit.pk != g.unit_id:
                continue
        if g.zone_paths and spec.zone is not None:
            zone = obj if spec.zone == "" else _attr(obj, spec.zone)
            if zone is None or not any(zone.path.startswith(p) for p in g.zone_paths):
                continue
        return True
    return False


def require(user: User | None, action: str, obj: Model) -> None:
    """Refuse unless ``user`` may take ``action`` on ``obj``."""
    if not allows(user, action, obj):
        raise PermissionDenied(
            _("You may not %(action)s this %(what)s.")
            % {
                "action": _("change") if action == CHANGE else _("view"),
                "what": obj._meta.verbose_name,
            }
        )


def roles_in(user: User | None, event: Event) -> set[str]:
    if is_superuser(user):
        return {"admin"}
    if not user or not user.is_authenticated:
        return set()
    return {entry[0].role for entry in _grants(user, event)}


def is_event_admin(user: User | None, event: Event) -> bool:
    """Administrators of an event manage the event itself, its people and their roles."""
    return is_superuser(user) or "admin" in roles_in(user, event)


def events_for(user: User | None):
    from .models import Event

    if is_superuser(user):
        return Event.objects.all()
    if not user or not user.is_authenticated:
        return Event.objects.none()
    return Event.objects.filter(assignments__user=user, assignments__is_active=True).distinct()


def events_held(user: User | None) -> list[Event]:
    """The events ``user`` holds a role in (every event for a superuser), in the order of
    ``events_for``; read from the grants, so no query once they are kept."""
    if is_superuser(user):
        return list(events_for(user))
    if not user or not user.is_authenticated or not user.is_active:
        return []
    events = {entry[0].event_id: entry[0].event for entry in _all_grants(user)}
    ordered = sorted(events.values(), key=lambda e: e.code)
    return sorted(ordered, key=lambda e: e.opening, reverse=True)  # as Event.Meta.ordering


def event_held(user: User | None, code: str) -> Event | None:
    """The event of that code if ``user`` holds a role in it (any event for a superuser). A
    copy of the kept one: a request may change its own without touching the next's."""
    if is_superuser(user):
        return events_for(user).filter(code=code).first()
    for event in events_held(user):
        if event.code == code:
            return copy.copy(event)
    return None


def forget_grants(user: User | None) -> None:
    """Drop the grants kept for ``user`` (for the request and by this process)."""
    if user is None:
        return
    if hasattr(user, "_eventguard_grants"):
        del user._eventguard_grants
    with _kept_lock:
        _kept.pop(user.pk, None)


def access_changed(*, users: Iterable[User] = (), event: Event | None = None) -> None:
    """What ``users`` (with ``event``: everyone holding a role in it) may see has changed:
    they get a new access stamp, written in the caller's transaction, so that every server
    process reads their grants afresh at their next request."""
    from .models import User

    users = [u for u in users if u is not None and u.pk is not None]
    changed = User.objects.filter(pk__in=[u.pk for u in users])
    if event is not None:
        changed = changed | User.objects.filter(assignments__event=event)
    # One new stamp for all of them: grants are kept per person, so it need not differ.
    stamp = uuid.uuid4()
    User.objects.filter(pk__in=changed.values("pk")).update(access_stamp=stamp)
    for user in users:
        forget_grants(user)
        user.access_stamp = stamp
    if event is not None:
        with _kept_lock:
            _kept.clear()
