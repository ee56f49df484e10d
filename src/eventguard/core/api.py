"""The registry's JSON API: who am I, events, zones, units, people and roles, the audit
trail and the figures.

Handlers parse, call one service or selector, and render. Every list and record goes
through :func:`core.access.scope`: a record out of the caller's scope answers 404, a
record in scope that the caller may not change answers 403 (the services decide). The
list endpoints share their filters with the list pages (``core.selectors``).
"""

from __future__ import annotations

from typing import Annotated

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Query, Router, Status
from ninja.files import UploadedFile

from . import access, importers, selectors, services
from .access import CHANGE, get_scoped_or_404, scope
from .figures import figures_report
from .models import Event, RoleAssignment, Unit, User, Zone
from .schemas import (
    AssignmentIn,
    AssignmentOut,
    AssignmentPage,
    AuditPage,
    CategoryOut,
    ErrorOut,
    EventOut,
    EventPatch,
    FiguresOut,
    ImportRefusedOut,
    ImportResultOut,
    MeOut,
    PageParams,
    UnitIn,
    UnitOut,
    UnitPage,
    UnitPatch,
    ZoneIn,
    ZoneOut,
    ZonePage,
    ZonePatch,
)
from .tabular import export_table

router = Router(tags=["registry"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}
EventCode = Annotated[str, Query(description="The event's code.")]
DryRun = Annotated[bool, Query(description="Check the file without writing anything.")]
ExportFormat = Annotated[str, Query(alias="format", description="csv or xlsx")]
EXPORT_RESPONSES = {
    "responses": {
        200: {
            "description": "The list as a spreadsheet, headers in the caller's language.",
            "content": {
                "text/csv": {"schema": {"type": "string", "format": "binary"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
        }
    }
}


# ---------------------------------------------------------------- helpers


def _event(request: HttpRequest, code: str) -> Event:
    """An event the caller holds a role in, else 404."""
    return selectors.event_by_code(request.user, code)


def _page(queryset, page: PageParams) -> dict:
    return {
        "count": queryset.count(),
        "items": list(queryset[page.offset : page.offset + page.limit]),
    }


def _may_change_some(user: User, event: Event, model) -> bool:
    """Whether one of the caller's roles in ``event`` could change some record of ``model``
    (read from the model's ScopeSpec). The services still decide each record; this spares
    someone who may change nothing of the kind a list of per-record refusals."""
    if access.is_superuser(user):
        return True
    spec = model.scope
    for g in access.grants(user, event=event, action=CHANGE):
        if spec.change_domain and spec.change_domain not in g.domains:
            continue
        if spec.domain and spec.domain not in g.domains:
            continue
        if g.unit_id is not None and spec.unit is None:
            continue
        return True
    return False


def _require_change_some(user: User, event: Event, model) -> None:
    if not _may_change_some(user, event, model):
        raise PermissionDenied(
            _("You may not add or change %(what)s in this event.")
            % {"what": model._meta.verbose_name_plural}
        )


def _require_people_admin(user: User, event: Event) -> None:
    if "admin" not in access.roles_in(user, event):
        raise PermissionDenied(_("Only administrators may manage people and roles."))


def _zone_ref(user: User, event: Event, zone_id: int | None, field: str) -> Zone | None:
    """A zone named in a request body: one of the event's zones the caller can see."""
    if zone_id is None:
        return None
    zone = scope(user, Zone, event=event).filter(pk=zone_id).first()
    if zone is None:
        raise ValidationError({field: _("No zone with id %(id)s in this event.") % {"id": zone_id}})
    return zone


def _unit_ref(user: User, event: Event, unit_id: int | None) -> Unit | None:
    if unit_id is None:
        return None
    unit = scope(user, Unit, event=event).filter(pk=unit_id).first()
    if unit is None:
        raise ValidationError(
            {"unit": _("No unit with id %(id)s in this event.") % {"id": unit_id}}
        )
    return unit


def _category(code: str):
    category = selectors.categories().filter(code=code).first()
    if category is None:
        raise ValidationError(
            {"category": _("Unknown unit category “%(value)s”.") % {"value": code}}
        )
    return category


def _export_format(fmt: str) -> str:
    if fmt not in {"csv", "xlsx"}:
        raise ValidationError({"format": _("Choose csv or xlsx.")})
    return fmt


def _import_response(result):
    body = result.as_dict()
    if result.ok:
        return Status(200, body)
    return Status(400, {"detail": _("The file was refused: nothing was imported."), **body})


# ---------------------------------------------------------------- who am I, events


@router.get("/me", response={200: MeOut, **ERRORS}, summary="Who am I: my events and roles")
def me(request):
    user = request.user
    assignments = (
        scope(user, RoleAssignment)
        .filter(user=user, is_active=True)
        .select_related("event", "unit__category")
        .prefetch_related("zones")
        .order_by("-event__opening", "event__code", "role")
    )
    events: dict[int, tuple[Event, list[RoleAssignment]]] = {}
    for assignment in assignments:
        events.setdefault(assignment.event_id, (assignment.event, []))[1].append(assignment)
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "phone": user.phone,
        "organisation": user.organisation,
        "language": user.language,
        "is_superuser": user.is_superuser,
        "events": [
            {**EventOut.model_validate(event).model_dump(), "roles": roles}
            for event, roles in events.values()
        ],
    }


@router.get("/events", response={200: list[EventOut], **ERRORS}, summary="My events")
def event_list(request):
    # The events the caller holds a role in: the same list as the web page's.
    return access.events_for(request.user)


@router.get("/events/{code}", response={200: EventOut, **ERRORS}, summary="One event")
def event_detail(request, code: str):
    return _event(request, code)


@router.patch("/events/{code}", response={200: EventOut, **ERRORS}, summary="Change an event")
def event_patch(request, code: str, payload: EventPatch):
    event = _event(request, code)
    return services.event_update(
        actor=request.user, event=event, **payload.model_dump(exclude_unset=True)
    )


@router.get(
    "/unit-categories", response={200: list[CategoryOut], **ERRORS}, summary="Unit categories"
)
def unit_category_list(request):
    return selectors.categories()


# ---------------------------------------------------------------- zones


@router.get("/zones", response={200: ZonePage, **ERRORS}, summary="Zones of an event")
def zone_list(
    request,
    event: EventCode,
    filters: Query[selectors.ZoneFilters],
    page: Query[PageParams],
):
    qs = selectors.zone_list(user=request.user, event=_event(request, event), filters=filters)
    return _page(qs.select_related("event"), page)


@router.post("/zones", response={201: ZoneOut, **ERRORS}, summary="Add a zone")
def zone_create(request, payload: ZoneIn):
    user = request.user
    event = _event(request, payload.event)
    _require_change_some(user, event, Zone)
    fields = payload.model_dump(exclude={"event", "parent"})
    fields["kind"] = payload.kind.value
    zone = services.zone_create(
        actor=user, event=event, parent=_zone_ref(user, event, payload.parent, "parent"), **fields
    )
    return Status(201, zone)


@router.post(
    "/zones/import",
    response={
        200: ImportResultOut,
        400: ImportRefusedOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
    },
    summary="Import zones from an XLSX or CSV file (all or nothing)",
)
def zone_import(
    request,
    event: EventCode,
    file: File[UploadedFile],
    dry_run: DryRun = True,
):
    record = _event(request, event)
    _require_change_some(request.user, record, Zone)
    result = importers.import_zones(
        actor=request.user, event=record, content=file.read(), filename=file.name, dry_run=dry_run
    )
    return _import_response(result)


@router.get(
    "/zones/export", response=ERRORS, summary="Zones as CSV or XLSX", openapi_extra=EXPORT_RESPONSES
)
def zone_export(
    request,
    event: EventCode,
    filters: Query[selectors.ZoneFilters],
    fmt: ExportFormat = "csv",
):
    record = _event(request, event)
    return export_table(
        columns=importers.ZONE_COLUMNS,
        records=selectors.zone_list(user=request.user, event=record, filters=filters),
        fmt=_export_format(fmt),
        filename=f"{record.code}-zones",
    )


@router.get("/zones/{zone_id}", response={200: ZoneOut, **ERRORS}, summary="One zone")
def zone_detail(request, zone_id: int):
    return get_scoped_or_404(request.user, Zone.objects.select_related("event"), pk=zone_id)


@router.patch("/zones/{zone_id}", response={200: ZoneOut, **ERRORS}, summary="Change a zone")
def zone_patch(request, zone_id: int, payload: ZonePatch):
    user = request.user
    zone = get_scoped_or_404(user, Zone.objects.select_related("event", "parent"), pk=zone_id)
    changes = payload.model_dump(exclude_unset=True)
    if "parent" in changes:
        changes["parent"] = _zone_ref(user, zone.event, changes["parent"], "parent")
    if changes.get("kind") is not None:
        changes["kind"] = changes["kind"].value
    return services.zone_update(actor=user, zone=zone, **changes)


# ---------------------------------------------------------------- units


@router.get("/units", response={200: UnitPage, **ERRORS}, summary="Supervised units of an event")
def unit_list(
    request,
    event: EventCode,
    filters: Query[selectors.UnitFilters],
    page: Query[PageParams],
):
    qs = selectors.unit_list(user=request.user, event=_event(request, event), filters=filters)
    return _page(qs.select_related("event"), page)


@router.post("/units", response={201: UnitOut, **ERRORS}, summary="Register a unit")
def unit_create(request, payload: UnitIn):
    user = request.user
    event = _event(request, payload.event)
    _require_change_some(user, event, Unit)
    fields = payload.model_dump(exclude={"event", "category", "zone"})
    unit = services.unit_create(
        actor=user,
        event=event,
        category=_category(payload.category),
        zone=_zone_ref(user, event, payload.zone, "zone"),
        **fields,
    )
    return Status(201, unit)


@router.post(
    "/units/import",
    response={
        200: ImportResultOut,
        400: ImportRefusedOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
    },
    summary="Import units from an XLSX or CSV file (all or nothing)",
)
def unit_import(
    request,
    event: EventCode,
    file: File[UploadedFile],
    dry_run: DryRun = True,
):
    record = _event(request, event)
    _require_change_some(request.user, record, Unit)
    result = importers.import_units(
        actor=request.user, event=record, content=file.read(), filename=file.name, dry_run=dry_run
    )
    return _import_response(result)


@router.get(
    "/units/export", response=ERRORS, summary="Units as CSV or XLSX", openapi_extra=EXPORT_RESPONSES
)
def unit_export(
    request,
    event: EventCode,
    filters: Query[selectors.UnitFilters],
    fmt: ExportFormat = "csv",
):
    record = _event(request, event)
    return export_table(
        columns=importers.UNIT_COLUMNS,
        records=selectors.unit_list(user=request.user, event=record, filters=filters),
        fmt=_export_format(fmt),
        filename=f"{record.code}-units",
    )


@router.get("/units/{unit_id}", response={200: UnitOut, **ERRORS}, summary="One unit")
def unit_detail(request, unit_id: int):
    return get_scoped_or_404(
        request.user, Unit.objects.select_related("event", "category", "zone"), pk=unit_id
    )


@router.patch("/units/{unit_id}", response={200: UnitOut, **ERRORS}, summary="Change a unit")
def unit_patch(request, unit_id: int, payload: UnitPatch):
    user = request.user
    unit = get_scoped_or_404(
        user, Unit.objects.select_related("event", "category", "zone"), pk=unit_id
    )
    changes = payload.model_dump(exclude_unset=True)
    if "category" in changes:
        changes["category"] = _category(changes["category"] or "")
    if "zone" in changes:
        changes["zone"] = _zone_ref(user, unit.event, changes["zone"], "zone")
    return services.unit_update(actor=user, unit=unit, **changes)


# ---------------------------------------------------------------- people and roles


@router.post(
    "/people/import",
    response={
        200: ImportResultOut,
        400: ImportRefusedOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
    },
    summary="Import people and their roles from an XLSX or CSV file (all or nothing)",
)
def people_import(
    request,
    event: EventCode,
    file: File[UploadedFile],
    dry_run: DryRun = True,
):
    record = _event(request, event)
    _require_people_admin(request.user, record)
    result = importers.import_people(
        actor=request.user, event=record, content=file.read(), filename=file.name, dry_run=dry_run
    )
    return _import_response(result)


@router.get(
    "/assignments", response={200: AssignmentPage, **ERRORS}, summary="People's roles in an event"
)
def assignment_list(
    request,
    event: EventCode,
    filters: Query[selectors.AssignmentFilters],
    page: Query[PageParams],
):
    qs = selectors.assignment_list(user=request.user, event=_event(request, event), filters=filters)
    return _page(qs.select_related("unit__category"), page)


@router.post(
    "/assignments",
    response={201: AssignmentOut, **ERRORS},
    summary="Give a person a role (the person is created when the username is new)",
)
def assignment_create(request, payload: AssignmentIn):
    user = request.user
    event = _event(request, payload.event)
    zones = [_zone_ref(user, event, zone_id, "zones") for zone_id in payload.zones]
    unit = _unit_ref(user, event, payload.unit)
    with transaction.atomic():  # a new person without their role is not kept
        person = User.objects.filter(username=payload.username).first()
        if person is None:
            person = services.person_create(
                actor=user,
                event=event,
                username=payload.username,
                display_name=payload.display_name,
                email=payload.email,
                phone=payload.phone,
                organisation=payload.organisation,
                language=payload.language,
            )
        assignment = services.role_assign(
            actor=user,
            user=person,
            event=event,
            role=payload.role.value,
            zones=zones,
            domains=[d.value for d in payload.domains],
            unit=unit,
        )
    return Status(201, assignment)


@router.get(
    "/assignments/export",
    response=ERRORS,
    summary="People's roles as CSV or XLSX",
    openapi_extra=EXPORT_RESPONSES,
)
def assignment_export(
    request,
    event: EventCode,
    filters: Query[selectors.AssignmentFilters],
    fmt: ExportFormat = "csv",
):
    record = _event(request, event)
    return export_table(
        columns=importers.ASSIGNMENT_EXPORT_COLUMNS,
        records=selectors.assignment_list(user=request.user, event=record, filters=filters),
        fmt=_export_format(fmt),
        filename=f"{record.code}-people",
    )


@router.get(
    "/assignments/{assignment_id}", response={200: AssignmentOut, **ERRORS}, summary="One role"
)
def assignment_detail(request, assignment_id: int):
    return get_scoped_or_404(
        request.user,
        RoleAssignment.objects.select_related("event", "user", "unit__category").prefetch_related(
            "zones"
        ),
        pk=assignment_id,
    )


@router.delete(
    "/assignments/{assignment_id}", response={204: None, **ERRORS}, summary="Revoke a role"
)
def assignment_delete(request, assignment_id: int):
    assignment = get_scoped_or_404(
        request.user, RoleAssignment.objects.select_related("event", "user"), pk=assignment_id
    )
    services.role_revoke(actor=request.user, assignment=assignment)
    return Status(204, None)


# ---------------------------------------------------------------- audit trail, figures


@router.get(
    "/audit",
    response={200: AuditPage, **ERRORS},
    summary="The audit trail of an event (auditors and administrators)",
)
def audit_list(
    request,
    event: EventCode,
    filters: Query[selectors.AuditFilters],
    page: Query[PageParams],
):
    record = _event(request, event)
    user = request.user
    if not access.is_superuser(user) and not any(
        "audit" in g.domains for g in access.grants(user, event=record)
    ):
        raise Http404
    return _page(selectors.audit_list(user=user, event=record, filters=filters), page)


@router.get(
    "/figures",
    response={200: FiguresOut, **ERRORS},
    summary="The event's headline figures, each with the list of the records it counts",
)
def figures(request, event: EventCode):
    # Headline figures are aggregates, shown to everyone in the event as on its home page;
    # each records_url leads to a list that is scoped to the reader.
    return figures_report(_event(request, event))
