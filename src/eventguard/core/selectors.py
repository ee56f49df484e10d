"""Reads of the registry: the filters a list page and its API endpoint share."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.db.models import Q, QuerySet
from ninja import FilterLookup, FilterSchema

from .access import VIEW, scope
from .models import AuditEntry, Event, RoleAssignment, Unit, UnitCategory, User, Zone


class ZoneFilters(FilterSchema):
    q: Annotated[
        str | None, FilterLookup(["code__icontains", "name_zh__icontains", "name_en__icontains"])
    ] = None
    kind: str | None = None
    parent: Annotated[int | None, FilterLookup("parent_id")] = None


class UnitFilters(FilterSchema):
    q: Annotated[
        str | None,
        FilterLookup(
            [
                "name_zh__icontains",
                "name_en__icontains",
                "credit_code__icontains",
                "contact_name__icontains",
                "address__icontains",
            ]
        ),
    ] = None
    category: Annotated[str | None, FilterLookup("category__code")] = None
    zone: Annotated[int | None, FilterLookup("zone_id")] = None
    is_active: bool | None = None


class AssignmentFilters(FilterSchema):
    q: Annotated[
        str | None,
        FilterLookup(
            ["user__username__icontains", "user__display_name__icontains", "user__phone__icontains"]
        ),
    ] = None
    role: str | None = None
    unit: Annotated[int | None, FilterLookup("unit_id")] = None


class AuditFilters(FilterSchema):
    q: Annotated[
        str | None, FilterLookup(["object_repr__icontains", "object_id", "request_id"])
    ] = None
    actor: Annotated[str | None, FilterLookup("actor_name")] = None
    action: Annotated[str | None, FilterLookup("action__startswith")] = None
    object_type: str | None = None
    since: Annotated[dt.datetime | None, FilterLookup("at__gte")] = None
    until: Annotated[dt.datetime | None, FilterLookup("at__lt")] = None


def zone_list(*, user: User, event: Event, filters: ZoneFilters | None = None) -> QuerySet[Zone]:
    qs = scope(user, Zone, event=event).select_related("parent")
    return (filters or ZoneFilters()).filter(qs).order_by("path")


def unit_list(*, user: User, event: Event, filters: UnitFilters | None = None) -> QuerySet[Unit]:
    qs = scope(user, Unit, event=event).select_related("category", "zone")
    return (filters or UnitFilters()).filter(qs)


def assignment_list(
    *, user: User, event: Event, filters: AssignmentFilters | None = None
) -> QuerySet[RoleAssignment]:
    qs = (
        scope(user, RoleAssignment, event=event)
        .select_related("user", "unit", "event")
        .prefetch_related("zones")
    )
    return (filters or AssignmentFilters()).filter(qs)


def audit_list(*, user: User, event: Event | None, filters: AuditFilters | None = None):
    qs = scope(user, AuditEntry, event=event)
    return (filters or AuditFilters()).filter(qs).order_by("-seq")


def categories() -> QuerySet[UnitCategory]:
    return UnitCategory.objects.filter(is_active=True)


def event_by_code(user: User, code: str) -> Event:
    """An event the user holds a role in, or 404."""
    from django.http import Http404

    from .access import event_held

    event = event_held(user, code)
    if event is None:
        raise Http404(code)
    return event


def units_for_choice(*, user: User, event: Event, action: str = VIEW) -> QuerySet[Unit]:
    return scope(user, Unit, event=event, action=action).select_related("category")


def people_search(*, event: Event, q: str) -> QuerySet[User]:
    return (
        User.objects.filter(assignments__event=event)
        .filter(Q(username__icontains=q) | Q(display_name__icontains=q))
        .distinct()
    )
