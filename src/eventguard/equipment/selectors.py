"""Reads of special equipment: the filters a list page and its API endpoint share, the
fixed-post coverage, key units' testing progress and the figures' counts."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Annotated

from django.db.models import Count, Exists, F, Func, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from ninja import FilterLookup, FilterSchema

from eventguard.core.access import scope
from eventguard.core.models import Event, Unit, User, Zone

from . import services
from .models import (
    POSTED_KINDS,
    Campaign,
    CampaignRecord,
    ChecklistTemplate,
    Equipment,
    GuaranteeRound,
    GuaranteeTest,
    Patrol,
    PatrolStatus,
    PostShift,
    posted_in_service,
)
from .services import event_days, local_datetime, settings_of

KEY_UNIT_CATEGORY = "key_guarantee_unit"


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _zone_q(path_field: str, zone_id: int | None) -> Q:
    """A zone and everything under it."""
    if zone_id is None:
        return Q()
    zone = Zone.objects.filter(pk=zone_id).only("path").first()
    if zone is None:
        return Q(pk__in=[])
    return Q(**{f"{path_field}__startswith": zone.path})


# ---------------------------------------------------------------- equipment


class EquipmentFilters(FilterSchema):
    q: Annotated[
        str | None,
        FilterLookup(
            [
                "code__icontains",
                "registration_no__icontains",
                "model_name__icontains",
                "position__icontains",
            ]
        ),
    ] = None
    kind: str | None = None  # one kind, or several separated by commas
    zone: int | None = None  # the zone and everything under it
    user_unit: Annotated[int | None, FilterLookup("user_unit_id")] = None
    maintenance_unit: Annotated[int | None, FilterLookup("maintenance_unit_id")] = None
    traffic_level: str | None = None
    core_area: Annotated[bool | None, FilterLookup("is_core_area")] = None
    is_active: bool | None = None
    inspection_overdue: bool | None = None
    # "covered": a person at the post in every open hour; "gaps": some open hour without one.
    fixed_post: str | None = None

    def filter_kind(self, value):
        return Q(kind__in=_csv(value)) if value else Q()

    def filter_zone(self, value):
        return _zone_q("zone__path", value)

    def filter_inspection_overdue(self, value):
        if value is None:
            return Q()
        overdue = Q(next_inspection_due__lt=timezone.localdate())
        return overdue if value else ~overdue | Q(next_inspection_due__isnull=True)

    def filter_fixed_post(self, value):
        return Q()  # needs the event: applied by equipment_list()


def equipment_list(
    *, user: User, event: Event, filters: EquipmentFilters | None = None
) -> QuerySet[Equipment]:
    filters = filters or EquipmentFilters()
    qs = scope(user, Equipment, event=event).select_related("zone", "user_unit", "maintenance_unit")
    qs = filters.filter(qs)
    if filters.fixed_post in {"covered", "gaps"}:
        covered = post_coverage(event).covered_ids
        qs = qs.filter(kind__in=POSTED_KINDS)
        qs = (
            qs.filter(pk__in=covered)
            if filters.fixed_post == "covered"
            else qs.exclude(pk__in=covered)
        )
    return qs.order_by("code")


# ---------------------------------------------------------------- fixed-post coverage


@dataclass
class Coverage:
    """Which lifts and escalators have a person at their post in every open hour."""

    days: list[dt.date]
    hours: list[tuple[dt.datetime, dt.datetime]]  # every open hour of every event day
    covered_ids: set[int] = field(default_factory=set)
    # equipment id -> the open hours (start times) without a person at the post
    gaps: dict[int, list[dt.datetime]] = field(default_factory=dict)


def _open_hours(event: Event) -> tuple[list[dt.date], list[tuple[dt.datetime, dt.datetime]]]:
    config = settings_of(event)
    days = event_days(event)
    hours = []
    for day in days:
        start = local_datetime(event, day, config.open_from)
        end = local_datetime(event, day, config.open_until)
        while start < end:
            hours.append((start, min(start + dt.timedelta(hours=1), end)))
            start += dt.timedelta(hours=1)
    return days, hours


def _missing_hours(
    intervals: list[tuple[dt.datetime, dt.datetime]],
    hours: list[tuple[dt.datetime, dt.datetime]],
) -> list[dt.datetime]:
    """The hours not wholly inside the union of ``intervals``."""
    merged: list[list[dt.datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    missing = []
    index = 0
    for hour_start, hour_end in hours:
        # Merged intervals are disjoint and sorted: only the first one that has not ended
        # by the start of the hour can contain the hour.
        while index < len(merged) and merged[index][1] <= hour_start:
            index += 1
        if not (
            index < len(merged) and merged[index][0] <= hour_start and merged[index][1] >= hour_end
        ):
            missing.append(hour_start)
    return missing


def post_coverage(event: Event, equipment_ids: list[int] | None = None) -> Coverage:
    """The open hours form each day's open period, so an equipment is staffed in every open
    hour when each day's period lies inside the union of its shifts. One shift over the
    whole period is the usual case and is found by the database, a day at a time; only the
    other (equipment, day) pairs are merged here, hour by hour."""
    days, hours = _open_hours(event)
    coverage = Coverage(days=days, hours=hours)
    posted = posted_in_service(event)
    if equipment_ids is not None:
        posted = posted.filter(pk__in=equipment_ids)
    ids = set(posted.values_list("pk", flat=True))
    if not hours:
        coverage.covered_ids = ids
        return coverage
    hours_by_day = defaultdict(list)
    for hour in hours:
        hours_by_day[timezone.localtime(hour[0], services.event_tz(event)).date()].append(hour)
    shifts = PostShift.objects.filter(event=event)
    if equipment_ids is not None:
        shifts = shifts.filter(equipment_id__in=ids)
    missing = defaultdict(list)
    for _day, day_hours in sorted(hours_by_day.items()):
        period_start, period_end = day_hours[0][0], day_hours[-1][1]
        # Asked of the database as the units without one shift over the whole period: a
        # venue's thousands of units staffed the usual way never come back, a day at a time.
        whole = shifts.filter(starts_at__lte=period_start, ends_at__gte=period_end)
        rest = set(posted.exclude(pk__in=whole.values("equipment_id")).values_list("pk", flat=True))
        if not rest:
            continue
        intervals = defaultdict(list)
        for equipment_id, starts_at, ends_at in shifts.filter(
            equipment_id__in=rest, starts_at__lt=period_end, ends_at__gt=period_start
        ).values_list("equipment_id", "starts_at", "ends_at"):
            intervals[equipment_id].append((starts_at, ends_at))
        for equipment_id in rest:
            gaps = _missing_hours(intervals.get(equipment_id, []), day_hours)
            if gaps:
                missing[equipment_id].extend(gaps)
    coverage.gaps = dict(missing)
    coverage.covered_ids = ids - set(missing)
    return coverage


def coverage_gaps(*, user: User, event: Event, coverage: Coverage | None = None) -> list[dict]:
    """Every lift and escalator the user may see with an open hour without a person."""
    coverage = coverage or post_coverage(event)
    visible = scope(user, Equipment, event=event).filter(pk__in=list(coverage.gaps))
    rows = []
    for equipment in visible.select_related("zone").order_by("code"):
        hours = coverage.gaps[equipment.pk]
        by_day = defaultdict(list)
        for start in hours:
            local = timezone.localtime(start)
            by_day[local.date()].append(local.strftime("%H:%M"))
        rows.append(
            {
                "equipment": equipment,
                "missing_hours": len(hours),
                "days": [{"day": d, "hours": h} for d, h in sorted(by_day.items())],
            }
        )
    return rows


class ShiftFilters(FilterSchema):
    q: Annotated[
        str | None,
        FilterLookup(
            [
                "equipment__code__icontains",
                "person__username__icontains",
                "person__display_name__icontains",
            ]
        ),
    ] = None
    day: dt.date | None = None
    equipment: Annotated[int | None, FilterLookup("equipment_id")] = None
    person: Annotated[int | None, FilterLookup("person_id")] = None
    signed_on: bool | None = None

    def filter_day(self, value):
        if value is None:
            return Q()
        tz = timezone.get_current_timezone()
        start = dt.datetime.combine(value, dt.time.min, tzinfo=tz)
        return Q(starts_at__lt=start + dt.timedelta(days=1), ends_at__gt=start)

    def filter_signed_on(self, value):
        if value is None:
            return Q()
        return Q(signed_on_at__isnull=not value)


def shift_list(*, user: User, event: Event, filters: ShiftFilters | None = None):
    qs = scope(user, PostShift, event=event).select_related("equipment__zone", "person")
    return (filters or ShiftFilters()).filter(qs).order_by("starts_at", "equipment__code")


def my_shifts(*, user: User, event: Event, now: dt.datetime | None = None):
    """The person's own shifts that have not ended, soonest first (their phone page)."""
    now = now or timezone.now()
    return (
        scope(user, PostShift, event=event)
        .filter(person=user, ends_at__gt=now - dt.timedelta(hours=12))
        .select_related("equipment__zone")
        .order_by("starts_at")
    )


# ---------------------------------------------------------------- patrols


class PatrolFilters(FilterSchema):
    q: Annotated[
        str | None,
        FilterLookup(["equipment__code__icontains", "performed_by__username__icontains"]),
    ] = None
    status: str | None = None
    kind: str | None = None
    equipment: Annotated[int | None, FilterLookup("equipment_id")] = None
    zone: int | None = None
    day: dt.date | None = None
    day_from: Annotated[dt.date | None, FilterLookup("day__gte")] = None
    day_to: Annotated[dt.date | None, FilterLookup("day__lte")] = None
    planned: bool | None = None
    overdue: bool | None = None

    def filter_kind(self, value):
        return Q(equipment__kind__in=_csv(value)) if value else Q()

    def filter_zone(self, value):
        return _zone_q("equipment__zone__path", value)

    def filter_overdue(self, value):
        if value is None:
            return Q()
        overdue = ~Q(status=PatrolStatus.COMPLETED) & Q(window_end__lt=timezone.now())
        return overdue if value else ~overdue


def patrol_list(*, user: User, event: Event, filters: PatrolFilters | None = None):
    qs = scope(user, Patrol, event=event).select_related(
        "equipment__zone", "performed_by", "checklist"
    )
    return (filters or PatrolFilters()).filter(qs).order_by("-window_start", "equipment__code")


def patrol_hazards(patrol: Patrol, *, user: User):
    from eventguard.hazards.selectors import hazards_from_source

    return hazards_from_source(user=user, event=patrol.event, source_ref=f"patrol:{patrol.pk}")


def min_patrols_per_posted_day(event: Event) -> int:
    """The fewest completed patrols of any lift or escalator on any day of the event."""
    # The lifts and escalators in service as a subquery: a venue has thousands of them,
    # and a list of their ids would be written into the query and parsed again each time.
    posted = posted_in_service(event)
    posted_count = posted.count()
    days = event_days(event)
    if not posted_count or not days:
        return 0
    # Counted per unit and day, and the fewest of those counts, in the database: one row
    # back, not one per unit and day.
    counts = (
        Patrol.objects.filter(
            event=event,
            status=PatrolStatus.COMPLETED,
            day__gte=days[0],
            day__lte=days[-1],
            equipment_id__in=posted.values("pk"),
        )
        .values("equipment_id", "day")
        .annotate(n=Count("pk"))
        .aggregate(pairs=Count("n"), least=Min("n"))
    )
    if counts["pairs"] < posted_count * len(days):
        return 0  # some lift or escalator went a day without a completed patrol
    return counts["least"]


def checklists(*, user: User, event: Event):
    return scope(user, ChecklistTemplate, event=event).order_by("code", "-version")


# ---------------------------------------------------------------- key guarantee units


class KeyUnitFilters(FilterSchema):
    q: Annotated[
        str | None,
        FilterLookup(["name_zh__icontains", "name_en__icontains", "credit_code__icontains"]),
    ] = None
    inspected: bool | None = None

    def filter_inspected(self, value):
        if value is None:
            return Q()
        return Q(has_tests=value)


def _count_of(qs) -> Subquery:
    return Subquery(qs.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")[:1])


def key_unit_list(*, user: User, event: Event, filters: KeyUnitFilters | None = None):
    qs = (
        scope(user, Unit, event=event)
        .filter(category__code=KEY_UNIT_CATEGORY, is_active=True)
        .annotate(
            has_tests=Exists(GuaranteeTest.objects.filter(unit=OuterRef("pk"))),
            test_count=_count_of(GuaranteeTest.objects.filter(unit=OuterRef("pk"))),
            equipment_count=_count_of(
                Equipment.objects.filter(user_unit=OuterRef("pk"), is_active=True)
            ),
        )
        .select_related("zone", "category")
    )
    return (filters or KeyUnitFilters()).filter(qs).order_by("name_zh")


def key_units_inspected(event: Event) -> int:
    return (
        Unit.objects.filter(event=event, category__code=KEY_UNIT_CATEGORY, is_active=True)
        .filter(Exists(GuaranteeTest.objects.filter(unit=OuterRef("pk"))))
        .count()
    )


def guarantee_rounds(event: Event) -> QuerySet[GuaranteeRound]:
    """The event's testing rounds: reference data every member of the event may read."""
    return GuaranteeRound.objects.filter(event=event).order_by("starts_on", "code")


def key_unit_progress(*, user: User, event: Event, unit: Unit) -> list[dict]:
    """Per round: the unit's own test, and which of its equipment is tested and which not."""
    tests = list(
        scope(user, GuaranteeTest, event=event)
        .filter(unit=unit)
        .select_related("round", "equipment")
        .order_by("tested_on")
    )
    equipment = list(
        scope(user, Equipment, event=event).filter(user_unit=unit, is_active=True).order_by("code")
    )
    rows = []
    for round_ in guarantee_rounds(event):
        in_round = [t for t in tests if t.round_id == round_.pk]
        unit_test = next((t for t in in_round if t.equipment_id is None), None)
        tested = {t.equipment_id: t for t in in_round if t.equipment_id is not None}
        missing = [e for e in equipment if e.pk not in tested] if round_.covers_equipment else []
        rows.append(
            {
                "round": round_,
                "unit_test": unit_test,
                "equipment_tests": [tested[e.pk] for e in equipment if e.pk in tested],
                "equipment_total": len(equipment) if round_.covers_equipment else 0,
                "missing_equipment": missing,
                "done": unit_test is not None and not missing,
            }
        )
    return rows


class GuaranteeTestFilters(FilterSchema):
    unit: Annotated[int | None, FilterLookup("unit_id")] = None
    round: Annotated[str | None, FilterLookup("round__code")] = None
    result: str | None = None
    equipment: Annotated[int | None, FilterLookup("equipment_id")] = None


def guarantee_test_list(*, user: User, event: Event, filters: GuaranteeTestFilters | None = None):
    qs = scope(user, GuaranteeTest, event=event).select_related("round", "unit", "equipment")
    return (filters or GuaranteeTestFilters()).filter(qs)


# ---------------------------------------------------------------- city-wide campaign


class CampaignRecordFilters(FilterSchema):
    q: Annotated[str | None, FilterLookup(["district__icontains", "notes__icontains"])] = None
    campaign: Annotated[str | None, FilterLookup("campaign__code")] = None
    district: str | None = None
    since: Annotated[dt.date | None, FilterLookup("period_start__gte")] = None


def campaign_list(*, user: User, event: Event) -> QuerySet[Campaign]:
    return scope(user, Campaign, event=event).order_by("since", "code")


def campaign_record_list(
    *, user: User, event: Event, filters: CampaignRecordFilters | None = None
) -> QuerySet[CampaignRecord]:
    qs = scope(user, CampaignRecord, event=event).select_related("campaign")
    return (filters or CampaignRecordFilters()).filter(qs).order_by("-period_start", "district")


def campaign_totals(event: Event, records: QuerySet | None = None) -> dict:
    """Units inspected and equipment sets covered, counted since each campaign's start."""
    qs = records if records is not None else CampaignRecord.objects.filter(event=event)
    totals = qs.aggregate(units=Sum("units_inspected"), sets=Sum("equipment_sets"))
    return {"units": totals["units"] or 0, "sets": totals["sets"] or 0}


# ---------------------------------------------------------------- counts for the figures


def posted_count(event: Event, kind: str) -> int:
    return Equipment.objects.filter(event=event, kind=kind, is_active=True).count()


def with_fixed_post(event: Event) -> int:
    return len(post_coverage(event).covered_ids)
