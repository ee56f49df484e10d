"""The equipment API: registry, key units' testing, fixed posts, patrols, campaign.

Handlers parse, call one service or selector, and render; lists share their filters with
the list pages (``selectors``). A record out of the caller's scope answers 404.
"""

from __future__ import annotations

from typing import Annotated

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import File, Query, Router, Status
from ninja.files import UploadedFile

from eventguard.core import selectors as core_selectors
from eventguard.core.access import get_scoped_or_404, scope
from eventguard.core.models import Unit, User, Zone
from eventguard.core.schemas import ErrorOut, ImportRefusedOut, ImportResultOut, PageParams

from . import importers, selectors, services
from .models import Equipment, Patrol, PostShift
from .schemas import (
    CampaignRecordPage,
    ChecklistIn,
    ChecklistOut,
    CoverageOut,
    EquipmentIn,
    EquipmentOut,
    EquipmentPage,
    EquipmentPatch,
    GuaranteeTestIn,
    GuaranteeTestOut,
    KeyUnitPage,
    PatrolCompleteIn,
    PatrolCompleteOut,
    PatrolOut,
    PatrolPage,
    PatrolPlanIn,
    PatrolPlanOut,
    RoundProgressOut,
    SettingsIO,
    ShiftIn,
    ShiftOut,
    ShiftPage,
)

router = Router(tags=["equipment"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}
EventCode = Annotated[str, Query(description="The event's code.")]
DryRun = Annotated[bool, Query(description="Check the file without writing anything.")]


def _event(request, code: str):
    return core_selectors.event_by_code(request.user, code)


def _page(queryset, page: PageParams) -> dict:
    return {
        "count": queryset.count(),
        "items": list(queryset[page.offset : page.offset + page.limit]),
    }


def _ref(user, event, model, pk, field: str, qs=None):
    if pk is None:
        return None
    record = scope(user, qs if qs is not None else model, event=event).filter(pk=pk).first()
    if record is None:
        raise ValidationError(
            {
                field: _("No %(what)s with id %(id)s in this event.")
                % {"what": model._meta.verbose_name, "id": pk}
            }
        )
    return record


def _import_response(result):
    body = result.as_dict()
    if result.ok:
        return Status(200, body)
    return Status(400, {"detail": _("The file was refused: nothing was imported."), **body})


# ---------------------------------------------------------------- registry


@router.get("/equipment", response={200: EquipmentPage, **ERRORS}, summary="Equipment of an event")
def equipment_list(
    request, event: EventCode, filters: Query[selectors.EquipmentFilters], page: Query[PageParams]
):
    return _page(
        selectors.equipment_list(user=request.user, event=_event(request, event), filters=filters),
        page,
    )


@router.post("/equipment", response={201: EquipmentOut, **ERRORS}, summary="Register equipment")
def equipment_create(request, event: EventCode, payload: EquipmentIn):
    record = _event(request, event)
    data = payload.dict(exclude_none=True)
    data["zone"] = _ref(request.user, record, Zone, data.get("zone"), "zone")
    data["user_unit"] = _ref(request.user, record, Unit, data["user_unit"], "user_unit")
    data["maintenance_unit"] = _ref(
        request.user, record, Unit, data.get("maintenance_unit"), "maintenance_unit"
    )
    equipment = services.equipment_create(actor=request.user, event=record, **data)
    return Status(201, equipment)


@router.post(
    "/equipment/import",
    response={
        200: ImportResultOut,
        400: ImportRefusedOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
    },
    summary="Import equipment from an XLSX or CSV file (all or nothing)",
)
def equipment_import(request, event: EventCode, file: File[UploadedFile], dry_run: DryRun = True):
    record = _event(request, event)
    result = importers.import_equipment(
        actor=request.user, event=record, content=file.read(), filename=file.name, dry_run=dry_run
    )
    return _import_response(result)


@router.get(
    "/equipment/settings",
    response={200: SettingsIO, **ERRORS},
    summary="Opening hours and patrol windows of an event",
)
def settings_get(request, event: EventCode):
    return services.settings_of(_event(request, event))


@router.put(
    "/equipment/settings",
    response={200: SettingsIO, **ERRORS},
    summary="Change the opening hours and patrol windows",
)
def settings_put(request, event: EventCode, payload: SettingsIO):
    return services.equipment_settings_set(
        actor=request.user, event=_event(request, event), **payload.dict()
    )


@router.get(
    "/equipment/coverage",
    response={200: CoverageOut, **ERRORS},
    summary="Lifts and escalators without a person at their post in some open hour",
)
def coverage(request, event: EventCode):
    record = _event(request, event)
    result = selectors.post_coverage(record)
    visible = scope(request.user, Equipment, event=record).filter(
        pk__in=[*result.covered_ids, *result.gaps]
    )
    return {
        "open_hours": len(result.hours),
        "posted": visible.count(),
        "covered": visible.filter(pk__in=result.covered_ids).count(),
        "gaps": selectors.coverage_gaps(user=request.user, event=record, coverage=result),
    }


@router.get("/equipment/shifts", response={200: ShiftPage, **ERRORS}, summary="Post shifts")
def shift_list(
    request, event: EventCode, filters: Query[selectors.ShiftFilters], page: Query[PageParams]
):
    return _page(
        selectors.shift_list(user=request.user, event=_event(request, event), filters=filters),
        page,
    )


@router.post("/equipment/shifts", response={201: ShiftOut, **ERRORS}, summary="Add a post shift")
def shift_create(request, event: EventCode, payload: ShiftIn):
    record = _event(request, event)
    equipment = _ref(request.user, record, Equipment, payload.equipment, "equipment")
    person = User.objects.filter(
        pk=payload.person, assignments__event=record, assignments__is_active=True
    ).first()
    if person is None:
        raise ValidationError({"person": _("No such person in this event.")})
    shift = services.post_shift_create(
        actor=request.user,
        equipment=equipment,
        person=person,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
    )
    return Status(201, shift)


@router.post(
    "/equipment/shifts/{shift_id}/sign-on",
    response={200: ShiftOut, **ERRORS},
    summary="Sign on at my post",
)
def shift_sign_on(request, shift_id: int):
    shift = get_scoped_or_404(request.user, PostShift, pk=shift_id)
    return services.shift_sign_on(actor=request.user, shift=shift)


@router.post(
    "/equipment/shifts/{shift_id}/sign-off",
    response={200: ShiftOut, **ERRORS},
    summary="Sign off from my post",
)
def shift_sign_off(request, shift_id: int):
    shift = get_scoped_or_404(request.user, PostShift, pk=shift_id)
    return services.shift_sign_off(actor=request.user, shift=shift)


# ---------------------------------------------------------------- patrols


@router.get("/equipment/patrols", response={200: PatrolPage, **ERRORS}, summary="Patrols")
def patrol_list(
    request, event: EventCode, filters: Query[selectors.PatrolFilters], page: Query[PageParams]
):
    return _page(
        selectors.patrol_list(user=request.user, event=_event(request, event), filters=filters),
        page,
    )


@router.post(
    "/equipment/patrols/plan",
    response={200: PatrolPlanOut, **ERRORS},
    summary="Plan the patrols of some days (idempotent)",
)
def patrol_plan(request, event: EventCode, payload: PatrolPlanIn):
    import datetime as dt

    record = _event(request, event)
    if payload.day_to < payload.day_from or (payload.day_to - payload.day_from).days > 62:
        raise ValidationError({"day_to": _("Plan between one day and two months at a time.")})
    days = [
        payload.day_from + dt.timedelta(days=i)
        for i in range((payload.day_to - payload.day_from).days + 1)
    ]
    planned = services.patrol_plan_generate(actor=request.user, event=record, days=days)
    return {"planned": planned}


@router.get(
    "/equipment/patrols/{patrol_id}", response={200: PatrolOut, **ERRORS}, summary="One patrol"
)
def patrol_detail(request, patrol_id: int):
    return get_scoped_or_404(request.user, Patrol, pk=patrol_id)


@router.post(
    "/equipment/patrols/{patrol_id}/complete",
    response={200: PatrolCompleteOut, **ERRORS},
    summary="Complete a patrol; each fault becomes a hidden danger",
)
def patrol_complete(request, patrol_id: int, payload: PatrolCompleteIn):
    patrol = get_scoped_or_404(request.user, Patrol, pk=patrol_id)
    findings = {
        code: services.Finding(description=f.description, grade=f.grade)
        for code, f in payload.findings.items()
    }
    patrol, hazards = services.patrol_complete(
        actor=request.user,
        patrol=patrol,
        answers=payload.answers,
        findings=findings,
        notes=payload.notes,
    )
    return {"patrol": patrol, "hazards": [h.pk for h in hazards]}


@router.get(
    "/equipment/checklists",
    response={200: list[ChecklistOut], **ERRORS},
    summary="Patrol checklists, every version",
)
def checklist_list(request, event: EventCode):
    return list(selectors.checklists(user=request.user, event=_event(request, event)))


@router.post(
    "/equipment/checklists",
    response={201: ChecklistOut, **ERRORS},
    summary="Publish a checklist (a known code gets a new version)",
)
def checklist_publish(request, event: EventCode, payload: ChecklistIn):
    checklist = services.checklist_publish(
        actor=request.user,
        event=_event(request, event),
        code=payload.code,
        name_zh=payload.name_zh,
        name_en=payload.name_en,
        kinds=payload.kinds,
        items=[item.dict() for item in payload.items],
    )
    return Status(201, checklist)


# ---------------------------------------------------------------- key guarantee units


@router.get(
    "/equipment/key-units",
    response={200: KeyUnitPage, **ERRORS},
    summary="Key guarantee units and whether they are inspected",
)
def key_unit_list(
    request, event: EventCode, filters: Query[selectors.KeyUnitFilters], page: Query[PageParams]
):
    return _page(
        selectors.key_unit_list(user=request.user, event=_event(request, event), filters=filters),
        page,
    )


@router.get(
    "/equipment/key-units/{unit_id}/progress",
    response={200: list[RoundProgressOut], **ERRORS},
    summary="What is tested and what is missing, per round",
)
def key_unit_progress(request, event: EventCode, unit_id: int):
    record = _event(request, event)
    unit = get_scoped_or_404(
        request.user,
        Unit.objects.filter(category__code=selectors.KEY_UNIT_CATEGORY),
        event=record,
        pk=unit_id,
    )
    rows = selectors.key_unit_progress(user=request.user, event=record, unit=unit)
    return [
        {
            "round": row["round"],
            "done": row["done"],
            "unit_test": row["unit_test"],
            "equipment_total": row["equipment_total"],
            "equipment_tested": len(row["equipment_tests"]),
            "missing_equipment": row["missing_equipment"],
        }
        for row in rows
    ]


@router.post(
    "/equipment/guarantee-tests",
    response={201: GuaranteeTestOut, **ERRORS},
    summary="Record a guarantee test",
)
def guarantee_test_record(request, event: EventCode, payload: GuaranteeTestIn):
    record = _event(request, event)
    round_ = selectors.guarantee_rounds(record).filter(code=payload.round).first()
    if round_ is None:
        raise ValidationError({"round": _("No such round in this event.")})
    unit = _ref(request.user, record, Unit, payload.unit, "unit")
    equipment = _ref(request.user, record, Equipment, payload.equipment, "equipment")
    test = services.guarantee_test_record(
        actor=request.user,
        round=round_,
        unit=unit,
        equipment=equipment,
        tested_on=payload.tested_on,
        result=payload.result,
        findings=payload.findings,
        tester=request.user,
    )
    return Status(201, test)


# ---------------------------------------------------------------- campaign


@router.get(
    "/equipment/campaign-records",
    response={200: CampaignRecordPage, **ERRORS},
    summary="City-wide campaign records, with their totals",
)
def campaign_records(
    request,
    event: EventCode,
    filters: Query[selectors.CampaignRecordFilters],
    page: Query[PageParams],
):
    record = _event(request, event)
    qs = selectors.campaign_record_list(user=request.user, event=record, filters=filters)
    totals = selectors.campaign_totals(record, qs)
    return {
        **_page(qs, page),
        "units_inspected": totals["units"],
        "equipment_sets": totals["sets"],
    }


@router.post(
    "/equipment/campaign-records/import",
    response={
        200: ImportResultOut,
        400: ImportRefusedOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
    },
    summary="Import campaign records from an XLSX or CSV file (all or nothing)",
)
def campaign_import(request, event: EventCode, file: File[UploadedFile], dry_run: DryRun = True):
    result = importers.import_campaign_records(
        actor=request.user,
        event=_event(request, event),
        content=file.read(),
        filename=file.name,
        dry_run=dry_run,
    )
    return _import_response(result)


# ---------------------------------------------------------------- one piece of equipment


@router.get(
    "/equipment/{equipment_id}",
    response={200: EquipmentOut, **ERRORS},
    summary="One piece of equipment",
)
def equipment_detail(request, equipment_id: int):
    return get_scoped_or_404(request.user, Equipment, pk=equipment_id)


@router.patch(
    "/equipment/{equipment_id}",
    response={200: EquipmentOut, **ERRORS},
    summary="Change a piece of equipment",
)
def equipment_patch(request, equipment_id: int, payload: EquipmentPatch):
    equipment = get_scoped_or_404(request.user, Equipment, pk=equipment_id)
    data = payload.dict(exclude_unset=True)
    if "zone" in data:
        data["zone"] = _ref(request.user, equipment.event, Zone, data["zone"], "zone")
    if "maintenance_unit" in data:
        data["maintenance_unit"] = _ref(
            request.user, equipment.event, Unit, data["maintenance_unit"], "maintenance_unit"
        )
    return services.equipment_update(actor=request.user, equipment=equipment, **data)


@router.post(
    "/equipment/{equipment_id}/patrols/start",
    response={200: PatrolOut, **ERRORS},
    summary="Start (or resume) the patrol of this equipment now",
)
def patrol_start(request, equipment_id: int):
    equipment = get_scoped_or_404(request.user, Equipment, pk=equipment_id)
    return services.patrol_start(actor=request.user, equipment=equipment)
