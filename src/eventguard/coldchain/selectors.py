"""Reads of the cold-chain loop: the filters a list page and its API endpoint share, box
timelines, the gate lookup, deadline lists, figures and EPCIS queries."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import FilterLookup, FilterSchema

from eventguard.core.access import VIEW, get_scoped_or_404, scope
from eventguard.core.models import Event, Unit, User

from .epcis.formats import is_date_time, parse_date_time
from .identifiers import canonical_key, gtin_serial_of, idpat_prefix
from .models import (
    Box,
    BoxState,
    BoxTransition,
    Consignment,
    Disinfection,
    EpcisEvent,
    EpcisObject,
    NatResult,
    NatSample,
    TemperatureReading,
    is_excursion,
)
from .services import coldchain_settings_of

S = BoxState
# States that still count for the deadline: not stopped by a positive result.
STOPPED_STATES = (S.QUARANTINED, S.DISPOSED)
NOT_YET_CLEARED = (S.DECLARED, S.PORT_RELEASED, S.IN_WAREHOUSE, S.DISINFECTED, S.SAMPLED)

# ---------------------------------------------------------------- filters


class ConsignmentFilters(FilterSchema):
    q: Annotated[
        str | None,
        FilterLookup(
            [
                "reference__icontains",
                "customs_declaration_no__icontains",
                "products__icontains",
                "exhibitor__name_zh__icontains",
                "exhibitor__name_en__icontains",
            ]
        ),
    ] = None
    exhibitor: Annotated[int | None, FilterLookup("exhibitor_id")] = None


def _has_positive() -> Exists:
    return Exists(NatSample.objects.filter(box=OuterRef("pk"), result=NatResult.POSITIVE))


class BoxFilters(FilterSchema):
    q: Annotated[
        str | None,
        FilterLookup(
            ["code__icontains", "product__icontains", "consignment__reference__icontains"]
        ),
    ] = None
    state: str | None = None
    consignment: Annotated[int | None, FilterLookup("consignment_id")] = None
    exhibitor: Annotated[int | None, FilterLookup("consignment__exhibitor_id")] = None
    temperature_class: str | None = None
    batch: Annotated[int | None, FilterLookup("batch_id")] = None
    transport: Annotated[int | None, FilterLookup("transport_id")] = None
    received: bool | None = None
    cleared: bool | None = None
    entered: bool | None = None
    positive: bool | None = None
    # Relative to the event's entry deadline; applied by :func:`box_list`.
    on_time: bool | None = None
    at_risk: bool | None = None
    late: bool | None = None

    # received=true: has a reception time (and so on for cleared and entered).
    def filter_received(self, value: bool | None) -> Q:
        return Q() if value is None else Q(received_at__isnull=not value)

    def filter_cleared(self, value: bool | None) -> Q:
        return Q() if value is None else Q(cleared_at__isnull=not value)

    def filter_entered(self, value: bool | None) -> Q:
        return Q() if value is None else Q(entered_at__isnull=not value)

    def filter_positive(self, value: bool | None) -> Q:
        if value is None:
            return Q()
        return Q(_has_positive()) if value else ~Q(_has_positive())

    def filter_on_time(self, value: bool | None) -> Q:
        return Q()

    def filter_at_risk(self, value: bool | None) -> Q:
        return Q()

    def filter_late(self, value: bool | None) -> Q:
        return Q()


BOX_SORTS = {
    "code": ("code",),
    "received_at": ("received_at", "code"),
    "-received_at": ("-received_at", "code"),
    "entered_at": ("entered_at", "code"),
    "-entered_at": ("-entered_at", "code"),
    "state": ("state", "code"),
}


def deadline_q(event: Event, *, on_time=None, at_risk=None, late=None) -> Q:
    """Boxes entered on time, at risk of missing the deadline, or late."""
    settings_row = coldchain_settings_of(event)
    deadline = settings_row.entry_deadline
    q = Q()
    if on_time is not None:
        entered_on_time = Q(entered_at__isnull=False)
        if deadline is not None:
            entered_on_time &= Q(entered_at__lte=deadline)
        q &= entered_on_time if on_time else ~entered_on_time
    if at_risk is not None:
        cutoff = deadline - dt.timedelta(hours=settings_row.at_risk_hours) if deadline else None
        risky = Q(pk__in=[])
        if cutoff is not None:
            risky = (
                Q(entered_at__isnull=True)
                & ~Q(state__in=STOPPED_STATES)
                & (Q(cleared_at__isnull=True) | Q(cleared_at__gt=cutoff))
            )
        q &= risky if at_risk else ~risky
    if late is not None:
        lateness = Q(pk__in=[])
        if deadline is not None:
            lateness = Q(entered_at__gt=deadline)
            if timezone.now() > deadline:
                lateness |= Q(entered_at__isnull=True) & ~Q(state__in=STOPPED_STATES)
        q &= lateness if late else ~lateness
    return q


def consignment_list(
    *, user: User, event: Event, filters: ConsignmentFilters | None = None
) -> QuerySet[Consignment]:
    qs = scope(user, Consignment, event=event).select_related("exhibitor")
    qs = qs.annotate(box_count=Count("boxes"))
    return (filters or ConsignmentFilters()).filter(qs).order_by("-created_at", "reference")


def box_list(
    *, user: User, event: Event, filters: BoxFilters | None = None, sort: str = "code"
) -> QuerySet[Box]:
    filters = filters or BoxFilters()
    qs = scope(user, Box, event=event).select_related(
        "consignment__exhibitor", "batch", "transport"
    )
    qs = filters.filter(qs)
    if filters.on_time is not None or filters.at_risk is not None or filters.late is not None:
        qs = qs.filter(
            deadline_q(event, on_time=filters.on_time, at_risk=filters.at_risk, late=filters.late)
        )
    return qs.order_by(*BOX_SORTS.get(sort, BOX_SORTS["code"]))


def box_detail(*, user: User, event: Event, code: str) -> Box:
    qs = Box.objects.select_related(
        "event", "consignment__exhibitor", "batch__warehouse", "transport__carrier"
    )
    return get_scoped_or_404(user, qs, event=event, code=code.strip().upper())


def consignment_detail(*, user: User, event: Event, pk: int) -> Consignment:
    return get_scoped_or_404(
        user, Consignment.objects.select_related("exhibitor", "event"), event=event, pk=pk
    )


def scoped_boxes_by_code(*, user: User, event: Event, codes, action=VIEW) -> list[Box]:
    """The boxes named by ``codes`` that the user may see (or change); refuses unknown codes
    by name, so a request about another exhibitor's box learns nothing of it."""
    wanted = [c.strip().upper() for c in codes if c and c.strip()]
    found = {
        b.code: b for b in scope(user, Box, event=event, action=action).filter(code__in=wanted)
    }
    unknown = [c for c in dict.fromkeys(wanted) if c not in found]
    if unknown:
        raise ValidationError(
            {"boxes": _("No box %(codes)s in this event.") % {"codes": ", ".join(unknown[:20])}}
        )
    return [found[c] for c in dict.fromkeys(wanted)]


# ---------------------------------------------------------------- the gate


def gate_lookup(*, event: Event, scanned: str) -> Box | None:
    """The box a scanned or typed code names: its traceability code, its GS1 Digital Link
    (what the QR label holds) or its SGTIN EPC URI. One indexed lookup."""
    text = (scanned or "").strip()
    if not text or len(text) > 300:
        return None
    qs = Box.objects.select_related("event", "consignment", "batch__warehouse", "transport")
    pair = gtin_serial_of(text)
    if pair is not None:
        return qs.filter(event=event, epc=canonical_key(text)).first()
    return qs.filter(event=event, code=text.upper()).first()


# ---------------------------------------------------------------- a box's journey


@dataclass
class TimelineEntry:
    at: dt.datetime
    kind: str  # step | disinfection | sample | result | reading
    title: str
    place: str = ""
    actor: str = ""
    detail: str = ""
    alert: bool = False
    state: str = ""


def box_timeline(box: Box) -> list[TimelineEntry]:
    """The steps of the box with the records behind them, and temperature excursions of the
    box and of the warehouse and vehicle compartments that held it."""
    from .workflow import TRANSITIONS

    entries: list[TimelineEntry] = []
    steps = list(BoxTransition.objects.filter(box=box).order_by("at", "pk"))
    for step in steps:
        transition = TRANSITIONS.get(step.transition)
        entries.append(
            TimelineEntry(
                at=step.at,
                kind="step",
                title=str(transition.label) if transition else step.transition,
                place=step.place,
                actor=step.actor_name,
                detail=step.note,
                state=step.to_state,
            )
        )
    for d in Disinfection.objects.filter(box=box):
        entries.append(
            TimelineEntry(
                at=d.performed_at,
                kind="disinfection",
                title=_("Disinfection of the %(surface)s")
                % {"surface": d.get_surface_display().lower()},
                actor=d.operator,
                detail=d.agent,
            )
        )
    for s in NatSample.objects.filter(box=box).select_related("laboratory"):
        entries.append(
            TimelineEntry(
                at=s.sampled_at,
                kind="sample",
                title=_("NAT sample %(code)s of the %(surface)s")
                % {"code": s.sample_code, "surface": s.get_surface_display().lower()},
                place=s.laboratory.name,
            )
        )
        if s.result:
            entries.append(
                TimelineEntry(
                    at=s.reported_at,
                    kind="result",
                    title=_("NAT result of %(code)s: %(result)s")
                    % {"code": s.sample_code, "result": s.get_result_display()},
                    place=s.laboratory.name,
                    detail=s.report_no,
                    alert=s.result == NatResult.POSITIVE,
                )
            )
    for reading in box_readings(box, steps=steps):
        if reading.alert or reading.kind == "box":
            entries.append(
                TimelineEntry(
                    at=reading.at,
                    kind="reading",
                    title=_("%(t)s °C (%(where)s)")
                    % {"t": reading.celsius, "where": reading.where},
                    detail=_("outside the box's temperature class") if reading.alert else "",
                    alert=reading.alert,
                )
            )
    entries.sort(key=lambda e: (e.at, {"step": 1}.get(e.kind, 0)))
    return entries


@dataclass
class BoxReading:
    at: dt.datetime
    celsius: Decimal
    where: str
    kind: str  # box | warehouse | vehicle
    alert: bool


def box_readings(box: Box, *, steps=None) -> list[BoxReading]:
    """Temperatures of the box itself and of the compartments of its class in the warehouse
    (while it was there) and in the vehicle (while it travelled), each flagged when outside
    the box's class."""
    if steps is None:
        steps = list(BoxTransition.objects.filter(box=box).order_by("at", "pk"))
    times = {s.transition: s.at for s in steps}
    end = timezone.now()
    readings: list[BoxReading] = []
    for r in TemperatureReading.objects.filter(box=box):
        readings.append(
            BoxReading(
                r.measured_at,
                r.celsius,
                _("box"),
                "box",
                is_excursion(box.temperature_class, r.celsius),
            )
        )
    compartment = Q(compartment=box.temperature_class) | Q(compartment="")
    if box.batch_id and "receive" in times:
        until = times.get("depart") or times.get("dispose") or end
        rows = TemperatureReading.objects.filter(
            compartment,
            warehouse=box.batch.warehouse,
            measured_at__gte=times["receive"],
            measured_at__lte=until,
        )
        readings.extend(
            BoxReading(
                r.measured_at,
                r.celsius,
                _("warehouse"),
                "warehouse",
                is_excursion(box.temperature_class, r.celsius),
            )
            for r in rows
        )
    if box.transport_id and "depart" in times:
        until = times.get("enter") or box.transport.arrived_at or end
        rows = TemperatureReading.objects.filter(
            compartment,
            event=box.event_id,
            vehicle_plate=box.transport.vehicle_plate,
            measured_at__gte=times["depart"],
            measured_at__lte=until,
        )
        readings.extend(
            BoxReading(
                r.measured_at,
                r.celsius,
                _("vehicle %(plate)s") % {"plate": box.transport.vehicle_plate},
                "vehicle",
                is_excursion(box.temperature_class, r.celsius),
            )
            for r in rows
        )
    readings.sort(key=lambda r: r.at)
    return readings


# ---------------------------------------------------------------- exhibitors and figures


def exhibitor_summary(*, user: User, event: Event, received: bool | None = None):
    """Exhibitors with the number of their boxes (received at the warehouse, in the venue)."""
    qs = scope(user, Unit, event=event).filter(category__code="exhibitor")
    qs = qs.annotate(
        box_count=Count("coldchain_consignments__boxes"),
        received_count=Count(
            "coldchain_consignments__boxes",
            filter=Q(coldchain_consignments__boxes__received_at__isnull=False),
        ),
        entered_count=Count(
            "coldchain_consignments__boxes",
            filter=Q(coldchain_consignments__boxes__entered_at__isnull=False),
        ),
    )
    if received is not None:
        qs = qs.filter(received_count__gt=0) if received else qs.filter(received_count=0)
    return qs.order_by("name_zh")


def event_boxes(event: Event) -> QuerySet[Box]:
    return Box.objects.filter(event=event)


def figure_values(event: Event) -> dict:
    """Every cold-chain figure of the event, from the records."""
    # One pass over the event's boxes for every count and date; a column counted where it
    # is set (the cheapest test in the pass). The positive ones are few: asked of the
    # samples' index rather than looked up for each box in the pass.
    boxes = event_boxes(event)
    values = boxes.aggregate(
        received=Count("received_at"),
        cleared=Count("cleared_at"),
        entered=Count("entered_at"),
        on_time=Count("pk", filter=deadline_q(event, on_time=True)),
        first=Min("received_at"),
        last=Max("entered_at"),
    )
    positive = boxes.filter(
        pk__in=NatSample.objects.filter(event=event, result=NatResult.POSITIVE).values("box_id")
    )
    # Each exhibitor asked whether one of its consignments holds a received box (a
    # semi-join), rather than every received box joined to its exhibitor and made distinct.
    received = Box.objects.filter(consignment=OuterRef("pk"), received_at__isnull=False)
    with_received = Consignment.objects.filter(exhibitor=OuterRef("pk")).filter(Exists(received))
    exhibitors = Unit.objects.filter(event=event, category__code="exhibitor")
    return {
        "exhibitors": exhibitors.filter(Exists(with_received)).count(),
        "received": values["received"],
        "cleared": values["cleared"],
        "positive": positive.count(),
        "entered": values["entered"],
        "on_time": values["on_time"],
        "first_entry": values["first"],
        "last_entry": values["last"],
    }


def local_date(event: Event, value: dt.datetime | None) -> dt.date | None:
    import zoneinfo

    if value is None:
        return None
    return value.astimezone(zoneinfo.ZoneInfo(event.time_zone)).date()


# ---------------------------------------------------------------- EPCIS queries


@dataclass
class EpcisQuery:
    event_types: list[str]
    ge_event_time: dt.datetime | None
    lt_event_time: dt.datetime | None
    biz_steps: list[str]
    epcs: list[str]
    per_page: int
    page_token: str | None


MAX_PER_PAGE = 1000
DEFAULT_PER_PAGE = 100


def _values(raw: list[str]) -> list[str]:
    """Query values given repeated (``?a=x&a=y``) or joined by ``|`` (``?a=x|y``)."""
    values = []
    for item in raw:
        values.extend(v.strip() for v in item.split("|") if v.strip())
    return values


def epcis_query_of(params) -> EpcisQuery:
    """The query of a request's parameters (a QueryDict), or a ValidationError naming each
    bad parameter."""
    errors = {}

    def time_of(name):
        value = params.get(name)
        if value is None:
            return None
        if not is_date_time(value.strip()):
            errors[name] = _("Not an RFC 3339 date-time.")
            return None
        return parse_date_time(value.strip().upper())

    per_page = DEFAULT_PER_PAGE
    if params.get("perPage"):
        try:
            per_page = int(params["perPage"])
            if not 1 <= per_page <= MAX_PER_PAGE:
                raise ValueError
        except ValueError:
            errors["perPage"] = _("A whole number from 1 to %(n)d.") % {"n": MAX_PER_PAGE}
    query = EpcisQuery(
        event_types=_values(params.getlist("eventType")),
        ge_event_time=time_of("GE_eventTime"),
        lt_event_time=time_of("LT_eventTime"),
        biz_steps=_values(params.getlist("EQ_bizStep")),
        epcs=_values(params.getlist("MATCH_epc")),
        per_page=per_page,
        page_token=params.get("nextPageToken") or None,
    )
    if errors:
        raise ValidationError(errors)
    return query


def _query_fingerprint(query: EpcisQuery) -> str:
    key = json.dumps(
        [
            query.event_types,
            query.ge_event_time.isoformat() if query.ge_event_time else None,
            query.lt_event_time.isoformat() if query.lt_event_time else None,
            query.biz_steps,
            query.epcs,
        ]
    )
    return hashlib.sha256(key.encode()).hexdigest()[:16]


PAGE_SALT = "eventguard.coldchain.epcis.page"
PAGE_TOKEN_MAX_AGE = 24 * 3600


def epcis_events(*, user: User, event: Event, query: EpcisQuery) -> tuple[list, str | None]:
    """One page of the events that match ``query``, and the token of the next page."""
    qs = scope(user, EpcisEvent, event=event)
    if query.event_types:
        qs = qs.filter(event_type__in=query.event_types)
    if query.ge_event_time:
        qs = qs.filter(event_time__gte=query.ge_event_time)
    if query.lt_event_time:
        qs = qs.filter(event_time__lt=query.lt_event_time)
    if query.biz_steps:
        qs = qs.filter(biz_step__in=query.biz_steps)
    if query.epcs:
        match = Q()
        for value in query.epcs:
            prefix = idpat_prefix(value)
            if prefix is not None:
                match |= Q(epc__startswith=prefix)
            else:
                match |= Q(key=canonical_key(value))
        objects = EpcisObject.objects.filter(
            match, event=event, role__in=(EpcisObject.Role.EPC, EpcisObject.Role.CHILD)
        )
        qs = qs.filter(Exists(objects.filter(epcis_event=OuterRef("pk"))))
    fingerprint = _query_fingerprint(query)
    if query.page_token:
        try:
            position = signing.loads(query.page_token, salt=PAGE_SALT, max_age=PAGE_TOKEN_MAX_AGE)
            if position["q"] != fingerprint:
                raise signing.BadSignature
            after_time = dt.datetime.fromisoformat(position["t"])
            after_pk = int(position["i"])
        except (signing.BadSignature, KeyError, ValueError, TypeError) as exc:
            raise ValidationError(
                {"nextPageToken": _("This page token is not valid for this query (or expired).")}
            ) from exc
        qs = qs.filter(Q(event_time__gt=after_time) | Q(event_time=after_time, pk__gt=after_pk))
    rows = list(qs.order_by("event_time", "pk")[: query.per_page + 1])
    token = None
    if len(rows) > query.per_page:
        rows = rows[: query.per_page]
        last = rows[-1]
        token = signing.dumps(
            {"t": last.event_time.isoformat(), "i": last.pk, "q": fingerprint}, salt=PAGE_SALT
        )
    return rows, token


def epcis_event_by_id(*, user: User, event: Event, event_id: str) -> list:
    return list(
        scope(user, EpcisEvent, event=event)
        .filter(identifier=event_id)
        .order_by("record_time", "pk")
    )
