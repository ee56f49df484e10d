"""The cold-chain API: consignments and manifests, boxes and their journeys, the steps of the
loop in bulk, the venue gate, temperatures and the entry deadline.

Handlers parse, call one service or selector, and render; lists share their filters with
the list pages (``selectors``). A record out of the caller's scope answers 404; boxes named
by code in a request are looked up in the caller's scope, so another exhibitor's box is
"no such box".
"""

from __future__ import annotations

from typing import Annotated

from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils.translation import gettext as _
from ninja import File, Query, Router, Status
from ninja.files import UploadedFile

from eventguard.core import selectors as core_selectors
from eventguard.core.access import CHANGE, get_scoped_or_404, scope
from eventguard.core.models import Unit
from eventguard.core.schemas import ErrorOut, ImportRefusedOut, ImportResultOut, PageParams

from . import importers, selectors, services
from .models import Consignment, Transport
from .schemas import (
    ArrivalIn,
    BatchIn,
    BatchOut,
    BoxDetailOut,
    BoxesMovedOut,
    BoxPage,
    ConsignmentIn,
    ConsignmentOut,
    ConsignmentPage,
    DisinfectionIn,
    DisposeIn,
    ExhibitorPage,
    GateIn,
    GateOut,
    PortReleaseIn,
    ReadingOut,
    ReadingsIn,
    ReleaseIn,
    ResultsIn,
    ResultsOut,
    SamplesIn,
    SettingsIn,
    SettingsOut,
    TransportIn,
    TransportOut,
)
from .services import ReadingIn as ReadingRecord
from .services import ResultRow

router = Router(tags=["coldchain"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}
EventCode = Annotated[str, Query(description="The event's code.")]
DryRun = Annotated[bool, Query(description="Check the file without writing anything.")]
IMPORT_RESPONSES = {
    200: ImportResultOut,
    400: ImportRefusedOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
}


def _event(request, code: str):
    return core_selectors.event_by_code(request.user, code)


def _page(queryset, page: PageParams) -> dict:
    return {
        "count": queryset.count(),
        "items": list(queryset[page.offset : page.offset + page.limit]),
    }


def _unit(request, event, pk: int | None, field: str) -> Unit | None:
    if pk is None:
        return None
    unit = scope(request.user, Unit, event=event).filter(pk=pk).select_related("category").first()
    if unit is None:
        raise ValidationError({field: _("No unit with id %(id)s in this event.") % {"id": pk}})
    return unit


def _boxes(request, event, codes):
    return selectors.scoped_boxes_by_code(
        user=request.user, event=event, codes=codes, action=CHANGE
    )


def _moved(boxes) -> dict:
    return {"moved": len(boxes), "boxes": [b.code for b in boxes]}


def _transport_out(trip, box_count: int) -> dict:
    return {
        "id": trip.pk,
        "number": trip.number,
        "vehicle_plate": trip.vehicle_plate,
        "departed_at": trip.departed_at,
        "arrived_at": trip.arrived_at,
        "box_count": box_count,
    }


def _import_response(result):
    body = result.as_dict()
    if result.ok:
        return Status(200, body)
    return Status(400, {"detail": _("The file was refused: nothing was imported."), **body})


# ---------------------------------------------------------------- consignments


@router.get(
    "/coldchain/consignments",
    response={200: ConsignmentPage, **ERRORS},
    summary="Consignments of an event",
)
def consignment_list(
    request, event: EventCode, filters: Query[selectors.ConsignmentFilters], page: Query[PageParams]
):
    qs = selectors.consignment_list(
        user=request.user, event=_event(request, event), filters=filters
    )
    return _page(qs, page)


@router.post(
    "/coldchain/consignments",
    response={201: ConsignmentOut, **ERRORS},
    summary="Declare a consignment",
)
def consignment_create(request, payload: ConsignmentIn):
    event = _event(request, payload.event)
    fields = payload.dict(exclude={"event", "exhibitor"})
    exhibitor = _unit(request, event, payload.exhibitor, "exhibitor")
    consignment = services.consignment_create(
        actor=request.user, event=event, exhibitor=exhibitor, **fields
    )
    return Status(201, consignment)


@router.get(
    "/coldchain/consignments/{consignment_id}",
    response={200: ConsignmentOut, **ERRORS},
    summary="One consignment",
)
def consignment_detail(request, consignment_id: int):
    return get_scoped_or_404(
        request.user,
        Consignment.objects.select_related("exhibitor__category").annotate(
            box_count=Count("boxes")
        ),
        pk=consignment_id,
    )


@router.post(
    "/coldchain/consignments/{consignment_id}/manifest",
    response=IMPORT_RESPONSES,
    summary="Declare the boxes of a consignment from an XLSX or CSV manifest (all or nothing)",
)
def consignment_manifest(
    request, consignment_id: int, file: File[UploadedFile], dry_run: DryRun = True
):
    consignment = get_scoped_or_404(
        request.user, Consignment.objects.select_related("event"), pk=consignment_id
    )
    result = importers.import_manifest(
        actor=request.user,
        consignment=consignment,
        content=file.read(),
        filename=file.name,
        dry_run=dry_run,
    )
    return _import_response(result)


@router.post(
    "/coldchain/consignments/{consignment_id}/port-release",
    response={200: BoxesMovedOut, **ERRORS},
    summary="Port inspection and quarantine released the consignment",
)
def consignment_port_release(request, consignment_id: int, payload: PortReleaseIn):
    consignment = get_scoped_or_404(
        request.user, Consignment.objects.select_related("event"), pk=consignment_id
    )
    boxes = None
    if payload.boxes is not None:
        boxes = _boxes(request, consignment.event, payload.boxes)
    moved = services.consignment_port_release(
        actor=request.user,
        consignment=consignment,
        iq_certificate_no=payload.iq_certificate_no,
        at=payload.at,
        boxes=boxes,
    )
    return _moved(moved)


# ---------------------------------------------------------------- boxes


@router.get("/coldchain/boxes", response={200: BoxPage, **ERRORS}, summary="Boxes of an event")
def box_list(
    request,
    event: EventCode,
    filters: Query[selectors.BoxFilters],
    page: Query[PageParams],
    sort: str = "code",
):
    qs = selectors.box_list(
        user=request.user, event=_event(request, event), filters=filters, sort=sort
    )
    return _page(qs, page)


@router.get(
    "/coldchain/boxes/{code}",
    response={200: BoxDetailOut, **ERRORS},
    summary="One box and its journey",
)
def box_detail(request, code: str, event: EventCode):
    box = selectors.box_detail(user=request.user, event=_event(request, event), code=code)
    box.timeline = selectors.box_timeline(box)
    return box


@router.post(
    "/coldchain/boxes/{code}/dispose",
    response={200: BoxesMovedOut, **ERRORS},
    summary="Dispose of a quarantined box (destroyed or returned)",
)
def box_dispose(request, code: str, payload: DisposeIn):
    event = _event(request, payload.event)
    box = _boxes(request, event, [code])[0]
    services.box_dispose(
        actor=request.user, box=box, outcome=payload.outcome, reason=payload.reason, at=payload.at
    )
    return _moved([box])


# ---------------------------------------------------------------- steps in bulk


@router.post(
    "/coldchain/batches",
    response={201: BatchOut, **ERRORS},
    summary="Receive a batch of boxes at the central warehouse",
)
def batch_receive(request, payload: BatchIn):
    event = _event(request, payload.event)
    boxes = _boxes(request, event, payload.boxes)
    by_code = {b.code: b for b in boxes}
    readings = None
    if payload.temperatures:
        unknown = [c for c in payload.temperatures if c.strip().upper() not in by_code]
        if unknown:
            raise ValidationError(
                {"temperatures": _("Not in this batch: %(codes)s.") % {"codes": ", ".join(unknown)}}
            )
        readings = {by_code[c.strip().upper()].pk: t for c, t in payload.temperatures.items()}
    batch = services.batch_receive(
        actor=request.user,
        event=event,
        warehouse=_unit(request, event, payload.warehouse, "warehouse"),
        number=payload.number,
        received_at=payload.received_at,
        boxes=boxes,
        readings=readings,
    )
    return Status(
        201,
        {
            "id": batch.pk,
            "number": batch.number,
            "warehouse": batch.warehouse,
            "received_at": batch.received_at,
            "box_count": len(boxes),
        },
    )


@router.post(
    "/coldchain/disinfections",
    response={200: BoxesMovedOut, **ERRORS},
    summary="Record disinfection of boxes (outer carton, smallest package)",
)
def disinfection_record(request, payload: DisinfectionIn):
    event = _event(request, payload.event)
    moved = services.disinfection_record_bulk(
        actor=request.user,
        boxes=_boxes(request, event, payload.boxes),
        agent=payload.agent,
        operator=payload.operator,
        performed_at=payload.performed_at,
        surfaces=payload.surfaces,
    )
    return _moved(moved)


@router.post(
    "/coldchain/samples",
    response={200: BoxesMovedOut, **ERRORS},
    summary="Record NAT sampling of boxes",
)
def sample_take(request, payload: SamplesIn):
    event = _event(request, payload.event)
    moved = services.sample_take_bulk(
        actor=request.user,
        boxes=_boxes(request, event, payload.boxes),
        laboratory=_unit(request, event, payload.laboratory, "laboratory"),
        sampled_at=payload.sampled_at,
        surfaces=payload.surfaces,
    )
    return _moved(moved)


def _rows_refused(exc: services.RowsRefused):
    raise ValidationError(
        {f"results[{e.row - 1}].{e.column}" if e.row else "results": [e.message] for e in exc.rows}
    ) from exc


@router.post(
    "/coldchain/results",
    response={200: ResultsOut, **ERRORS},
    summary="Record NAT results (all or nothing)",
)
def results_record(request, payload: ResultsIn):
    event = _event(request, payload.event)
    rows = [ResultRow(row=i + 1, **r.dict()) for i, r in enumerate(payload.results)]
    try:
        outcome = services.nat_results_record_bulk(actor=request.user, event=event, rows=rows)
    except services.RowsRefused as exc:
        _rows_refused(exc)
    return {
        "cleared": [b.code for b in outcome.cleared],
        "quarantined": [b.code for b in outcome.quarantined],
        "pending": [b.code for b in outcome.pending],
    }


@router.post(
    "/coldchain/results/import",
    response=IMPORT_RESPONSES,
    summary="Import a laboratory's result sheet from XLSX or CSV (all or nothing)",
)
def results_import(request, event: EventCode, file: File[UploadedFile], dry_run: DryRun = True):
    record = _event(request, event)
    result = importers.import_lab_results(
        actor=request.user,
        event=record,
        content=file.read(),
        filename=file.name,
        dry_run=dry_run,
    )
    return _import_response(result)


@router.post(
    "/coldchain/releases",
    response={200: BoxesMovedOut, **ERRORS},
    summary="Release cleared boxes from the warehouse under an exit certificate",
)
def release(request, payload: ReleaseIn):
    event = _event(request, payload.event)
    moved = services.box_release_bulk(
        actor=request.user,
        boxes=_boxes(request, event, payload.boxes),
        certificate_no=payload.certificate_no,
        released_at=payload.released_at,
    )
    return _moved(moved)


@router.post(
    "/coldchain/transports",
    response={201: TransportOut, **ERRORS},
    summary="A vehicle departs for the venue with released boxes",
)
def transport_depart(request, payload: TransportIn):
    event = _event(request, payload.event)
    boxes = _boxes(request, event, payload.boxes)
    trip = services.transport_depart(
        actor=request.user,
        event=event,
        number=payload.number,
        vehicle_plate=payload.vehicle_plate,
        departed_at=payload.departed_at,
        boxes=boxes,
        carrier=_unit(request, event, payload.carrier, "carrier"),
    )
    return Status(201, _transport_out(trip, len(boxes)))


@router.post(
    "/coldchain/transports/{transport_id}/arrival",
    response={200: TransportOut, **ERRORS},
    summary="A vehicle arrived at the venue",
)
def transport_arrive(request, transport_id: int, payload: ArrivalIn):
    trip = get_scoped_or_404(
        request.user, Transport.objects.select_related("event"), pk=transport_id
    )
    trip = services.transport_arrive(
        actor=request.user, transport=trip, arrived_at=payload.arrived_at
    )
    return _transport_out(trip, trip.boxes.count())


# ---------------------------------------------------------------- the gate


@router.post(
    "/coldchain/gate",
    response={200: GateOut, **ERRORS},
    summary="Venue gate: PASS (entry recorded) or REFUSED with the reasons",
)
def gate(request, payload: GateIn):
    event = _event(request, payload.event)
    result = services.gate_enter(
        actor=request.user, event=event, scanned=payload.code, celsius=payload.celsius
    )
    return {
        "verdict": result.verdict,
        "code": result.code,
        "reasons": result.reasons,
        "late": result.late,
        "box": result.box,
    }


# ---------------------------------------------------------------- temperatures


@router.post(
    "/coldchain/temperatures",
    response={201: list[ReadingOut], **ERRORS},
    summary="Temperature readings of boxes, warehouses or vehicles (all or nothing)",
)
def temperature_record(request, payload: ReadingsIn):
    event = _event(request, payload.event)
    codes = [r.box for r in payload.readings if r.box]
    boxes = {b.code: b for b in _boxes(request, event, codes)} if codes else {}
    warehouses = {}
    records = []
    for index, r in enumerate(payload.readings):
        warehouse = None
        if r.warehouse is not None:
            if r.warehouse not in warehouses:
                warehouses[r.warehouse] = _unit(
                    request, event, r.warehouse, f"readings[{index}].warehouse"
                )
            warehouse = warehouses[r.warehouse]
        records.append(
            ReadingRecord(
                subject=r.subject,
                box=boxes.get(r.box.strip().upper()) if r.box else None,
                warehouse=warehouse,
                vehicle_plate=r.vehicle_plate,
                compartment=r.compartment,
                measured_at=r.measured_at,
                celsius=r.celsius,
                device_id=r.device_id,
            )
        )
    rows = services.temperature_record_bulk(actor=request.user, event=event, readings=records)
    return Status(201, rows)


# ---------------------------------------------------------------- deadline and exhibitors


@router.get(
    "/coldchain/settings", response={200: SettingsOut, **ERRORS}, summary="Cold-chain settings"
)
def settings_get(request, event: EventCode):
    return services.coldchain_settings_of(_event(request, event))


@router.put(
    "/coldchain/settings",
    response={200: SettingsOut, **ERRORS},
    summary="Set the cold-chain entry deadline",
)
def settings_put(request, payload: SettingsIn):
    event = _event(request, payload.event)
    return services.coldchain_settings_update(
        actor=request.user,
        event=event,
        entry_deadline=payload.entry_deadline,
        at_risk_hours=payload.at_risk_hours,
    )


@router.get(
    "/coldchain/exhibitors",
    response={200: ExhibitorPage, **ERRORS},
    summary="Exhibitors and their boxes",
)
def exhibitor_list(
    request, event: EventCode, page: Query[PageParams], received: bool | None = None
):
    qs = selectors.exhibitor_summary(
        user=request.user, event=_event(request, event), received=received
    )
    return _page(qs, page)
