"""Reads of dual prevention: the filters a list page and its API endpoint share, the risk
matrix, the venue's colour map and the figures' counts."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from django.db.models import Q, QuerySet
from django.utils import timezone
from ninja import FilterLookup, FilterSchema

from eventguard.core.access import scope
from eventguard.core.models import Event, User, Zone

from .models import (
    CONSEQUENCE_VALUES,
    GRADE_SEVERITY,
    LIKELIHOOD_VALUES,
    OPEN_STATUSES,
    Hazard,
    HazardPhoto,
    HazardStep,
    RiskGrade,
    RiskPoint,
    overdue_q,
)
from .services import grading_of


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _zone_q(path_field: str, zone_id: int | None) -> Q:
    if zone_id is None:
        return Q()
    zone = Zone.objects.filter(pk=zone_id).only("path").first()
    if zone is None:
        return Q(pk__in=[])
    return Q(**{f"{path_field}__startswith": zone.path})


# ---------------------------------------------------------------- hidden dangers


class HazardFilters(FilterSchema):
    q: Annotated[
        str | None,
        FilterLookup(["title__icontains", "description__icontains", "equipment__code__icontains"]),
    ] = None
    status: str | None = None  # one status, or several separated by commas
    grade: str | None = None
    source: str | None = None
    unit: Annotated[int | None, FilterLookup("unit_id")] = None
    zone: int | None = None
    equipment: Annotated[int | None, FilterLookup("equipment_id")] = None
    assignee: Annotated[int | None, FilterLookup("assignee_id")] = None
    open: bool | None = None
    overdue: bool | None = None

    def filter_status(self, value):
        return Q(status__in=_csv(value)) if value else Q()

    def filter_zone(self, value):
        return _zone_q("zone__path", value)

    def filter_open(self, value):
        if value is None:
            return Q()
        return Q(status__in=OPEN_STATUSES) if value else ~Q(status__in=OPEN_STATUSES)

    def filter_overdue(self, value):
        if value is None:
            return Q()
        overdue = overdue_q(timezone.now())
        return overdue if value else ~overdue


def hazard_list(
    *, user: User, event: Event, filters: HazardFilters | None = None
) -> QuerySet[Hazard]:
    qs = scope(user, Hazard, event=event).select_related(
        "zone", "unit", "equipment", "assignee", "reported_by"
    )
    return (filters or HazardFilters()).filter(qs).order_by("-reported_at", "-pk")


def hazard_timeline(*, user: User, hazard: Hazard) -> list[HazardStep]:
    steps = list(
        scope(user, HazardStep, event=hazard.event)
        .filter(hazard=hazard)
        .prefetch_related("photos")
        .order_by("at", "pk")
    )
    return steps


def hazard_photos(*, user: User, hazard: Hazard) -> QuerySet[HazardPhoto]:
    return scope(user, HazardPhoto, event=hazard.event).filter(hazard=hazard)


def hazards_from_source(*, user: User, event: Event, source_ref: str) -> QuerySet[Hazard]:
    return scope(user, Hazard, event=event).filter(source_ref=source_ref).order_by("pk")


def open_count(event: Event) -> int:
    return Hazard.objects.filter(event=event, status__in=OPEN_STATUSES).count()


def overdue_count(event: Event) -> int:
    return Hazard.objects.filter(event=event).filter(overdue_q(timezone.now())).count()


# ---------------------------------------------------------------- risk points


class RiskPointFilters(FilterSchema):
    q: Annotated[
        str | None,
        FilterLookup(["code__icontains", "title__icontains", "hazard_description__icontains"]),
    ] = None
    grade: str | None = None
    domain: str | None = None
    zone: int | None = None
    equipment: Annotated[int | None, FilterLookup("equipment_id")] = None
    unit: Annotated[int | None, FilterLookup("responsible_unit_id")] = None
    likelihood: str | None = None
    consequence: str | None = None
    # with a responsible person and a control measure
    owned: bool | None = None
    is_active: bool | None = None

    def filter_grade(self, value):
        return Q(grade__in=_csv(value)) if value else Q()

    def filter_zone(self, value):
        return _zone_q("zone__path", value)

    def filter_owned(self, value):
        if value is None:
            return Q()
        owned = Q(responsible_person__isnull=False) & ~Q(control_measures="")
        return owned if value else ~owned

    def filter_likelihood(self, value):
        return Q(likelihood=value) if value else Q()

    def filter_consequence(self, value):
        return Q(consequence=value) if value else Q()


def risk_point_list(
    *, user: User, event: Event, filters: RiskPointFilters | None = None
) -> QuerySet[RiskPoint]:
    qs = scope(user, RiskPoint, event=event).select_related(
        "zone", "responsible_unit", "responsible_person", "equipment"
    )
    return (filters or RiskPointFilters()).filter(qs).order_by("-score", "code")


def risk_points_count(event: Event, *, domain: str | None = None, owned: bool = False) -> int:
    qs = RiskPoint.objects.filter(event=event, is_active=True)
    if domain:
        qs = qs.filter(domain=domain)
    if owned:
        qs = qs.filter(responsible_person__isnull=False).exclude(control_measures="")
    return qs.count()


def _worst(grades) -> str | None:
    grades = [g for g in grades if g]
    return max(grades, key=lambda g: GRADE_SEVERITY[g]) if grades else None


def risk_matrix(*, user: User, event: Event) -> dict:
    """Counts of active risk points by likelihood (rows) and consequence (columns), each cell
    coloured by the worst grade in it; the grade of L x C at exposure 1 tints empty cells."""
    grading = grading_of(event)
    cells = defaultdict(list)
    for likelihood, consequence, grade in (
        scope(user, RiskPoint, event=event)
        .filter(is_active=True)
        .values_list("likelihood", "consequence", "grade")
    ):
        cells[(likelihood, consequence)].append(grade)
    rows = []
    for likelihood in LIKELIHOOD_VALUES:
        row = []
        for consequence in CONSEQUENCE_VALUES[::-1]:
            grades = cells.get((likelihood, consequence), [])
            row.append(
                {
                    "likelihood": likelihood,
                    "consequence": consequence,
                    "count": len(grades),
                    "grade": _worst(grades) or grading.grade_for(likelihood * consequence),
                }
            )
        rows.append({"likelihood": likelihood, "cells": row})
    totals = defaultdict(int)
    for grades in cells.values():
        for grade in grades:
            totals[grade] += 1
    return {
        "consequences": CONSEQUENCE_VALUES[::-1],
        "rows": rows,
        "totals": [(g, RiskGrade(g).label, totals.get(g, 0)) for g in RiskGrade.values],
        "grading": grading,
    }


def venue_colour_map(*, user: User, event: Event) -> list[dict]:
    """The venue's halls and zones, each coloured by the worst grade of its active risk
    points (grey when it has none), with its count of open hidden dangers."""
    points = defaultdict(list)
    for path, grade in (
        scope(user, RiskPoint, event=event)
        .filter(is_active=True, zone__isnull=False)
        .values_list("zone__path", "grade")
    ):
        points[path].append(grade)
    open_hazards = defaultdict(int)
    for path in (
        scope(user, Hazard, event=event)
        .filter(status__in=OPEN_STATUSES, zone__isnull=False)
        .values_list("zone__path", flat=True)
    ):
        open_hazards[path] += 1
    zones = list(scope(user, Zone, event=event).order_by("code"))
    halls = []
    for hall in (z for z in zones if z.kind == "hall"):
        children = []
        for zone in (z for z in zones if z.parent_id == hall.pk):
            grades = [g for path, gs in points.items() if path.startswith(zone.path) for g in gs]
            hazards = sum(n for path, n in open_hazards.items() if path.startswith(zone.path))
            children.append(
                {"zone": zone, "grade": _worst(grades), "points": len(grades), "hazards": hazards}
            )
        own = points.get(hall.path, [])
        grades = own + [
            g for child in children for g in ([child["grade"]] if child["grade"] else [])
        ]
        halls.append(
            {
                "hall": hall,
                "grade": _worst(grades),
                "zones": children,
                "points": len(own) + sum(c["points"] for c in children),
                "hazards": open_hazards.get(hall.path, 0) + sum(c["hazards"] for c in children),
            }
        )
    return halls
