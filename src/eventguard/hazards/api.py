"""The dual-prevention API: hidden dangers through their closed loop, risk points, grading.

Handlers parse, call one service or selector, and render; lists share their filters with
the list pages (``selectors``). A record out of the caller's scope answers 404.
"""

from __future__ import annotations

from typing import Annotated

from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from eventguard.core import selectors as core_selectors
from eventguard.core.access import get_scoped_or_404, scope
from eventguard.core.models import Unit, User, Zone
from eventguard.core.schemas import ErrorOut, PageParams
from eventguard.equipment.models import Equipment

from . import selectors, services
from .models import Hazard, HazardPhoto, RiskPoint
from .schemas import (
    GradingIO,
    HazardDetailOut,
    HazardIn,
    HazardPage,
    MapHallOut,
    MatrixOut,
    RiskPointIn,
    RiskPointOut,
    RiskPointPage,
    RiskPointPatch,
    TransitionIn,
)

router = Router(tags=["hazards"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}
EventCode = Annotated[str, Query(description="The event's code.")]


def _event(request, code: str):
    return core_selectors.event_by_code(request.user, code)


def _page(queryset, page: PageParams) -> dict:
    return {
        "count": queryset.count(),
        "items": list(queryset[page.offset : page.offset + page.limit]),
    }


def _ref(user, event, model, pk, field: str):
    if pk is None:
        return None
    record = scope(user, model, event=event).filter(pk=pk).first()
    if record is None:
        raise ValidationError(
            {
                field: _("No %(what)s with id %(id)s in this event.")
                % {"what": model._meta.verbose_name, "id": pk}
            }
        )
    return record


def _person(event, pk, field: str):
    if pk is None:
        return None
    person = User.objects.filter(
        pk=pk, assignments__event=event, assignments__is_active=True
    ).first()
    if person is None:
        raise ValidationError({field: _("No such person in this event.")})
    return person


# ---------------------------------------------------------------- hidden dangers


@router.get("/hazards", response={200: HazardPage, **ERRORS}, summary="Hidden dangers")
def hazard_list(
    request, event: EventCode, filters: Query[selectors.HazardFilters], page: Query[PageParams]
):
    return _page(
        selectors.hazard_list(user=request.user, event=_event(request, event), filters=filters),
        page,
    )


@router.post(
    "/hazards", response={201: HazardDetailOut, **ERRORS}, summary="Report a hidden danger"
)
def hazard_report(request, event: EventCode, payload: HazardIn):
    record = _event(request, event)
    hazard = services.hazard_report(
        actor=request.user,
        event=record,
        title=payload.title,
        description=payload.description,
        grade=payload.grade,
        source=payload.source,
        source_ref=payload.source_ref,
        zone=_ref(request.user, record, Zone, payload.zone, "zone"),
        unit=_ref(request.user, record, Unit, payload.unit, "unit"),
        equipment=_ref(request.user, record, Equipment, payload.equipment, "equipment"),
        risk_point=_ref(request.user, record, RiskPoint, payload.risk_point, "risk_point"),
    )
    return Status(201, hazard)


@router.get(
    "/hazards/{hazard_id}",
    response={200: HazardDetailOut, **ERRORS},
    summary="One hidden danger with its timeline",
)
def hazard_detail(request, hazard_id: int):
    return get_scoped_or_404(request.user, Hazard, pk=hazard_id)


@router.post(
    "/hazards/{hazard_id}/transitions",
    response={200: HazardDetailOut, **ERRORS},
    summary="Take a step of the closed loop: assign, rectify, accept or reject",
)
def hazard_transition(
    request,
    hazard_id: int,
    payload: Form[TransitionIn],
    photos: File[list[UploadedFile]] = None,
):
    hazard = get_scoped_or_404(request.user, Hazard, pk=hazard_id)
    hazard = services.hazard_transition(
        actor=request.user,
        hazard=hazard,
        action=payload.action,
        note=payload.note,
        assignee=_person(hazard.event, payload.assignee, "assignee"),
        measure=payload.measure,
        deadline=payload.deadline,
        grade=payload.grade,
        photos=photos or [],
    )
    return hazard


@router.get(
    "/hazards/{hazard_id}/photos/{photo_id}",
    response={200: None, **ERRORS},
    url_name="hazard_photo",
    summary="A photo of a hidden danger",
)
def hazard_photo(request, hazard_id: int, photo_id: int):
    hazard = get_scoped_or_404(request.user, Hazard, pk=hazard_id)
    photo = get_scoped_or_404(request.user, HazardPhoto.objects.filter(hazard=hazard), pk=photo_id)
    try:
        handle = photo.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(handle, content_type=photo.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------- risk points


@router.get("/risks", response={200: RiskPointPage, **ERRORS}, summary="Risk points")
def risk_list(
    request, event: EventCode, filters: Query[selectors.RiskPointFilters], page: Query[PageParams]
):
    return _page(
        selectors.risk_point_list(user=request.user, event=_event(request, event), filters=filters),
        page,
    )


def _risk_refs(request, event, data: dict) -> dict:
    if "zone" in data:
        data["zone"] = _ref(request.user, event, Zone, data["zone"], "zone")
    if "responsible_unit" in data:
        data["responsible_unit"] = _ref(
            request.user, event, Unit, data["responsible_unit"], "responsible_unit"
        )
    if "equipment" in data:
        data["equipment"] = _ref(request.user, event, Equipment, data["equipment"], "equipment")
    if "responsible_person" in data:
        data["responsible_person"] = _person(
            event, data["responsible_person"], "responsible_person"
        )
    return data


@router.post("/risks", response={201: RiskPointOut, **ERRORS}, summary="Add a risk point")
def risk_create(request, event: EventCode, payload: RiskPointIn):
    record = _event(request, event)
    data = _risk_refs(request, record, payload.dict())
    point = services.risk_point_create(actor=request.user, event=record, **data)
    return Status(201, point)


@router.get("/risks/matrix", response={200: MatrixOut, **ERRORS}, summary="The risk matrix")
def risk_matrix(request, event: EventCode):
    matrix = selectors.risk_matrix(user=request.user, event=_event(request, event))
    return {**matrix, "totals": {grade: count for grade, _label, count in matrix["totals"]}}


@router.get(
    "/risks/map",
    response={200: list[MapHallOut], **ERRORS},
    summary="The venue's halls and zones coloured by their worst risk grade",
)
def risk_map(request, event: EventCode):
    return selectors.venue_colour_map(user=request.user, event=_event(request, event))


@router.get("/risks/grading", response={200: GradingIO, **ERRORS}, summary="Grade bands")
def grading_get(request, event: EventCode):
    return services.grading_of(_event(request, event))


@router.put(
    "/risks/grading",
    response={200: GradingIO, **ERRORS},
    summary="Change the grade bands (every risk point is graded again)",
)
def grading_set(request, event: EventCode, payload: GradingIO):
    return services.risk_grading_set(
        actor=request.user, event=_event(request, event), **payload.dict()
    )


@router.get("/risks/{risk_id}", response={200: RiskPointOut, **ERRORS}, summary="One risk point")
def risk_detail(request, risk_id: int):
    return get_scoped_or_404(request.user, RiskPoint, pk=risk_id)


@router.patch(
    "/risks/{risk_id}", response={200: RiskPointOut, **ERRORS}, summary="Change a risk point"
)
def risk_patch(request, risk_id: int, payload: RiskPointPatch):
    point = get_scoped_or_404(request.user, RiskPoint, pk=risk_id)
    data = _risk_refs(request, point.event, payload.dict(exclude_unset=True))
    return services.risk_point_update(actor=request.user, risk_point=point, **data)
