"""Pages of special equipment: thin views that parse, call one service or selector, render."""

from __future__ import annotations

import datetime as dt
import io

import pydantic
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from eventguard.core import access
from eventguard.core.access import CHANGE, get_scoped_or_404, scope
from eventguard.core.forms import ImportForm
from eventguard.core.models import Unit, Zone, name_columns
from eventguard.core.servicekit import error_dict
from eventguard.core.tabular import export_table
from eventguard.core.web import add_service_errors, event_view, query_of
from eventguard.hazards import selectors as hazard_selectors

from . import importers, selectors, services
from .forms import (
    EquipmentForm,
    GuaranteeTestForm,
    PatrolPlanForm,
    PatrolWalkForm,
    SettingsForm,
)
from .models import (
    POSTED_KINDS,
    Equipment,
    EquipmentKind,
    GuaranteeResult,
    Patrol,
    PatrolStatus,
    PostShift,
    TrafficLevel,
    posted_in_service,
)

PAGE_SIZE = 50

# ---------------------------------------------------------------- helpers


def parse_filters(schema, query):
    """The list filters of a query string, through the FilterSchema the API uses; a value
    that does not parse is dropped and named."""
    data = {name: query.get(name) for name in schema.model_fields if query.get(name, "") != ""}
    errors = []
    while True:
        try:
            return schema(**data), errors
        except pydantic.ValidationError as exc:
            bad = {str(e["loc"][0]) for e in exc.errors() if e.get("loc")} & set(data)
            if not bad:
                return schema(), errors
            for name in sorted(bad):
                errors.append(
                    _("“%(value)s” is not a valid value for %(name)s.")
                    % {"value": data.pop(name), "name": name}
                )


def paginate(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def may_manage(user, event) -> bool:
    """Someone of the bureau who may change equipment records (not tied to one unit)."""
    if access.is_superuser(user):
        return True
    return any(
        g.unit_id is None and "equipment" in g.domains
        for g in access.grants(user, event=event, action=CHANGE)
    )


def _service_error_message(request, exc: ValidationError) -> None:
    for messages_ in error_dict(exc).values():
        for message in messages_:
            messages.error(request, message)


def _zone_choices(user, event):
    return scope(user, Zone, event=event).filter(kind__in=["hall", "zone"]).order_by("path")


# ---------------------------------------------------------------- registry


# What the equipment list's rows show (equipment/jinja2/equipment/_equipment_rows.html).
EQUIPMENT_ROW_FIELDS = (
    "code",
    "kind",
    "is_core_area",
    "position",
    "floor",
    "traffic_level",
    "next_inspection_due",
)


@event_view
def equipment_list(request, event):
    filters, errors = parse_filters(selectors.EquipmentFilters, request.GET)
    qs = selectors.equipment_list(user=request.user, event=event, filters=filters)
    fmt = request.GET.get("format")
    if fmt in {"csv", "xlsx"}:
        records = [] if request.GET.get("template") else qs
        return export_table(
            columns=importers.EQUIPMENT_COLUMNS,
            records=records,
            fmt=fmt,
            filename=f"{event.code}-equipment",
        )
    # The rows show the zone and the user unit only (the export above, the maintainer too),
    # and of each unit the columns of the table.
    qs = (
        qs.select_related(None)
        .select_related("zone", "user_unit")
        .only(*EQUIPMENT_ROW_FIELDS, *name_columns("zone"), *name_columns("user_unit"))
    )
    return render(
        request,
        "equipment/equipment_list.html",
        {
            "event": event,
            "page": paginate(request, qs),
            "filters": filters,
            "query": query_of(request),
            "filter_errors": errors,
            "is_filtered": any(v for k, v in request.GET.items() if k != "page"),
            "kinds": EquipmentKind.choices,
            "traffic_levels": TrafficLevel.choices,
            "zones": _zone_choices(request.user, event),
            "today": timezone.localdate(),
            "may_manage": may_manage(request.user, event),
        },
    )


@event_view
def equipment_detail(request, event, pk):
    equipment = get_scoped_or_404(request.user, Equipment, event=event, pk=pk)
    now = timezone.now()
    shifts = (
        scope(request.user, PostShift, event=event)
        .filter(equipment=equipment, ends_at__gte=now - dt.timedelta(days=1))
        .select_related("person")
        .order_by("starts_at")[:6]
    )
    if not shifts:
        shifts = (
            scope(request.user, PostShift, event=event)
            .filter(equipment=equipment)
            .select_related("person")
            .order_by("-starts_at")[:6]
        )
    patrols = (
        scope(request.user, Patrol, event=event)
        .filter(equipment=equipment)
        .select_related("performed_by")
        .order_by("-window_start")[:10]
    )
    hazards = hazard_selectors.hazard_list(
        user=request.user,
        event=event,
        filters=hazard_selectors.HazardFilters(equipment=equipment.pk),
    )[:10]
    risks = hazard_selectors.risk_point_list(
        user=request.user,
        event=event,
        filters=hazard_selectors.RiskPointFilters(equipment=equipment.pk),
    )
    return render(
        request,
        "equipment/equipment_detail.html",
        {
            "event": event,
            "equipment": equipment,
            "shifts": shifts,
            "patrols": patrols,
            "hazards": hazards,
            "risks": risks,
            "overdue": equipment.inspection_overdue(),
            "patrol_url": request.build_absolute_uri(
                reverse("equipment:patrol_start", args=[event.code, equipment.pk])
            ),
            "may_patrol": access.allows(request.user, CHANGE, equipment)
            and equipment.kind in POSTED_KINDS,
            "may_edit": access.allows(request.user, CHANGE, equipment),
        },
    )


EQUIPMENT_FORM_FIELDS = (
    "registration_no",
    "kind",
    "model_name",
    "zone",
    "floor",
    "position",
    "plan_x",
    "plan_y",
    "user_unit",
    "maintenance_unit",
    "last_inspection_on",
    "next_inspection_due",
    "is_core_area",
    "traffic_level",
    "is_active",
)


def _equipment_form(request, event, *, initial=None, editing=False):
    return EquipmentForm(
        request.POST or None,
        initial=initial,
        editing=editing,
        zones=_zone_choices(request.user, event),
        units=scope(request.user, Unit, event=event, action=CHANGE).select_related("category"),
    )


@event_view
def equipment_create(request, event):
    if not may_manage(request.user, event):
        raise PermissionDenied(_("You may not register equipment."))
    form = _equipment_form(request, event, initial={"traffic_level": "medium"})
    if request.method == "POST" and form.is_valid():
        try:
            equipment = services.equipment_create(
                actor=request.user, event=event, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, _("Equipment %(code)s registered.") % {"code": equipment.code}
            )
            return redirect("equipment:equipment_detail", event.code, equipment.pk)
    return render(
        request,
        "core/form.html",
        {
            "event": event,
            "form": form,
            "title": _("Register equipment"),
            "submit_label": _("Save"),
            "cancel_url": reverse("equipment:equipment_list", args=[event.code]),
        },
    )


@event_view
def equipment_edit(request, event, pk):
    equipment = get_scoped_or_404(request.user, Equipment, event=event, pk=pk)
    if not access.allows(request.user, CHANGE, equipment):
        raise PermissionDenied(_("You may not change this equipment."))
    initial = {name: getattr(equipment, name) for name in ("code", *EQUIPMENT_FORM_FIELDS)}
    form = _equipment_form(request, event, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in EQUIPMENT_FORM_FIELDS}
        try:
            services.equipment_update(actor=request.user, equipment=equipment, **changes)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Equipment %(code)s saved.") % {"code": equipment.code})
            return redirect("equipment:equipment_detail", event.code, equipment.pk)
    return render(
        request,
        "core/form.html",
        {
            "event": event,
            "form": form,
            "title": _("Change equipment %(code)s") % {"code": equipment.code},
            "submit_label": _("Save"),
            "cancel_url": reverse("equipment:equipment_detail", args=[event.code, equipment.pk]),
        },
    )


def qr_svg(url: str) -> bytes:
    import segno

    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=6, border=2, xmldecl=False)
    return buffer.getvalue()


@event_view
def equipment_label(request, event, pk):
    """The QR label: it encodes the URL of the patrol start page of this equipment."""
    equipment = get_scoped_or_404(request.user, Equipment, event=event, pk=pk)
    url = request.build_absolute_uri(
        reverse("equipment:patrol_start", args=[event.code, equipment.pk])
    )
    response = HttpResponse(qr_svg(url), content_type="image/svg+xml")
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="{equipment.code}.svg"'
    return response


@event_view
def equipment_import(request, event):
    if not may_manage(request.user, event):
        raise PermissionDenied(_("You may not import equipment."))
    result = None
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        result = importers.import_equipment(
            actor=request.user,
            event=event,
            content=upload.read(),
            filename=upload.name,
            dry_run=form.cleaned_data["dry_run"],
        )
        if result.applied:
            messages.success(
                request,
                _("Imported: %(c)d created, %(u)d updated.")
                % {"c": result.created, "u": result.updated},
            )
            return redirect("equipment:equipment_list", event.code)
    list_url = reverse("equipment:equipment_list", args=[event.code])
    return render(
        request,
        "core/import.html",
        {
            "event": event,
            "title": _("Import equipment"),
            "help": _(
                "All or nothing: a file with any invalid row is refused whole, with the "
                "reason for each row. A known equipment code updates that equipment."
            ),
            "form": form,
            "result": result,
            "list_url": list_url,
            "template_xlsx": f"{list_url}?format=xlsx&template=1",
            "template_csv": f"{list_url}?format=csv&template=1",
        },
    )


@event_view
def equipment_settings(request, event):
    if not may_manage(request.user, event):
        raise PermissionDenied(_("You may not change these settings."))
    config = services.settings_of(event)
    initial = {
        "open_from": config.open_from,
        "open_until": config.open_until,
        "patrol_windows": "\n".join(f"{a}-{b}" for a, b in config.patrol_windows),
    }
    form = SettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.equipment_settings_set(actor=request.user, event=event, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("equipment:post_coverage", event.code)
    return render(
        request,
        "core/form.html",
        {
            "event": event,
            "form": form,
            "title": _("Opening hours and patrol windows"),
            "intro": _(
                "Shifts cover the open period of every event day; the patrol plan puts "
                "one patrol of each lift and escalator in every window."
            ),
            "submit_label": _("Save"),
            "cancel_url": reverse("equipment:post_coverage", args=[event.code]),
        },
    )


# ---------------------------------------------------------------- key guarantee units


@event_view
def key_unit_list(request, event):
    filters, errors = parse_filters(selectors.KeyUnitFilters, request.GET)
    qs = selectors.key_unit_list(user=request.user, event=event, filters=filters)
    return render(
        request,
        "equipment/key_unit_list.html",
        {
            "event": event,
            "page": paginate(request, qs),
            "filters": filters,
            "query": query_of(request),
            "filter_errors": errors,
            "is_filtered": any(v for k, v in request.GET.items() if k != "page"),
            "rounds": selectors.guarantee_rounds(event),
        },
    )


@event_view
def key_unit_detail(request, event, unit_id):
    unit = get_scoped_or_404(
        request.user,
        Unit.objects.filter(category__code=selectors.KEY_UNIT_CATEGORY),
        event=event,
        pk=unit_id,
    )
    rounds = selectors.guarantee_rounds(event)
    equipment = scope(request.user, Equipment, event=event).filter(user_unit=unit)
    form = GuaranteeTestForm(request.POST or None, rounds=rounds, equipment=equipment)
    may_record = may_manage(request.user, event)
    if request.method == "POST":
        if not may_record:
            raise PermissionDenied(_("You may not record guarantee tests."))
        if form.is_valid():
            try:
                services.guarantee_test_record(
                    actor=request.user,
                    round=form.cleaned_data["round"],
                    unit=unit,
                    equipment=form.cleaned_data["equipment"],
                    tested_on=form.cleaned_data["tested_on"],
                    result=form.cleaned_data["result"],
                    findings=form.cleaned_data["findings"],
                    tester=request.user,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Test recorded."))
                return redirect("equipment:key_unit_detail", event.code, unit.pk)
    progress = selectors.key_unit_progress(user=request.user, event=event, unit=unit)
    return render(
        request,
        "equipment/key_unit_detail.html",
        {
            "event": event,
            "unit": unit,
            "progress": progress,
            "form": form,
            "may_record": may_record,
            "results": GuaranteeResult,
        },
    )


# ---------------------------------------------------------------- fixed posts


@event_view
def post_coverage(request, event):
    coverage = selectors.post_coverage(event)
    gaps = selectors.coverage_gaps(user=request.user, event=event, coverage=coverage)
    visible = scope(request.user, posted_in_service(event), event=event)
    return render(
        request,
        "equipment/post_coverage.html",
        {
            "event": event,
            "gaps": gaps,
            "days": coverage.days,
            "open_hours": len(coverage.hours),
            "posted": visible.count(),
            "covered": visible.filter(pk__in=coverage.covered_ids).count(),
            "config": services.settings_of(event),
            "may_manage": may_manage(request.user, event),
        },
    )


@event_view
def shift_list(request, event):
    filters, errors = parse_filters(selectors.ShiftFilters, request.GET)
    qs = selectors.shift_list(user=request.user, event=event, filters=filters)
    return render(
        request,
        "equipment/shift_list.html",
        {
            "event": event,
            "page": paginate(request, qs),
            "filters": filters,
            "query": query_of(request),
            "filter_errors": errors,
            "is_filtered": any(v for k, v in request.GET.items() if k != "page"),
        },
    )


@event_view
def my_shifts(request, event):
    return render(
        request,
        "equipment/my_shifts.html",
        {
            "event": event,
            "shifts": selectors.my_shifts(user=request.user, event=event),
            "now": timezone.now(),
        },
    )


@require_POST
@event_view
def shift_sign(request, event, pk, what):
    shift = get_scoped_or_404(request.user, PostShift, event=event, pk=pk)
    service = services.shift_sign_on if what == "on" else services.shift_sign_off
    try:
        service(actor=request.user, shift=shift)
    except ValidationError as exc:
        _service_error_message(request, exc)
    else:
        messages.success(
            request,
            (_("Signed on at %(post)s.") if what == "on" else _("Signed off at %(post)s."))
            % {"post": shift.equipment.code},
        )
    return redirect("equipment:my_shifts", event.code)


# ---------------------------------------------------------------- patrols


@event_view
def patrol_list(request, event):
    filters, errors = parse_filters(selectors.PatrolFilters, request.GET)
    qs = selectors.patrol_list(user=request.user, event=event, filters=filters)
    days = services.event_days(event)
    return render(
        request,
        "equipment/patrol_list.html",
        {
            "event": event,
            "page": paginate(request, qs),
            "filters": filters,
            "query": query_of(request),
            "filter_errors": errors,
            "is_filtered": any(v for k, v in request.GET.items() if k != "page"),
            "statuses": PatrolStatus.choices,
            "kinds": [(k.value, k.label) for k in POSTED_KINDS],
            "now": timezone.now(),
            "may_manage": may_manage(request.user, event),
            "plan_form": PatrolPlanForm(
                initial={
                    "day_from": days[0] if days else None,
                    "day_to": days[-1] if days else None,
                }
            ),
        },
    )


@require_POST
@event_view
def patrol_plan(request, event):
    if not may_manage(request.user, event):
        raise PermissionDenied(_("You may not plan patrols."))
    form = PatrolPlanForm(request.POST)
    if not form.is_valid():
        for error in form.errors.values():
            messages.error(request, " ".join(error))
        return redirect("equipment:patrol_list", event.code)
    start, end = form.cleaned_data["day_from"], form.cleaned_data["day_to"]
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    try:
        created = services.patrol_plan_generate(actor=request.user, event=event, days=days)
    except ValidationError as exc:
        _service_error_message(request, exc)
    else:
        messages.success(request, _("%(n)d patrols planned.") % {"n": created})
    return redirect(reverse("equipment:patrol_list", args=[event.code]) + "?status=planned")


@event_view
def patrol_start(request, event, pk):
    """Where the equipment's QR label leads: start (or resume) its patrol."""
    equipment = get_scoped_or_404(request.user, Equipment, event=event, pk=pk)
    if request.method == "POST":
        try:
            patrol = services.patrol_start(actor=request.user, equipment=equipment)
        except ValidationError as exc:
            _service_error_message(request, exc)
        else:
            return redirect("equipment:patrol_walk", event.code, patrol.pk)
    now = timezone.now()
    current = (
        scope(request.user, Patrol, event=event)
        .filter(equipment=equipment, window_start__lte=now, window_end__gt=now)
        .exclude(status=PatrolStatus.COMPLETED)
        .first()
    )
    today = timezone.localdate()
    done_today = (
        scope(request.user, Patrol, event=event)
        .filter(equipment=equipment, day=today, status=PatrolStatus.COMPLETED)
        .select_related("performed_by")
    )
    return render(
        request,
        "equipment/patrol_start.html",
        {
            "event": event,
            "equipment": equipment,
            "current": current,
            "done_today": done_today,
            "checklist": services.current_checklist(event, equipment.kind),
            "may_patrol": access.allows(request.user, CHANGE, equipment),
        },
    )


@event_view
def patrol_walk(request, event, pk):
    patrol = get_scoped_or_404(
        request.user,
        Patrol.objects.select_related("equipment__zone", "checklist"),
        event=event,
        pk=pk,
    )
    if patrol.status != PatrolStatus.IN_PROGRESS or patrol.checklist is None:
        return redirect("equipment:patrol_detail", event.code, patrol.pk)
    form = PatrolWalkForm(request.POST or None, request.FILES or None, checklist=patrol.checklist)
    if request.method == "POST" and form.is_valid():
        try:
            patrol, hazards = services.patrol_complete(
                actor=request.user,
                patrol=patrol,
                answers=form.answers(),
                findings=form.findings(),
                notes=form.cleaned_data["notes"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if hazards:
                messages.warning(
                    request,
                    _("Patrol completed; %(n)d hidden danger(s) reported.") % {"n": len(hazards)},
                )
            else:
                messages.success(request, _("Patrol completed: everything in order."))
            return redirect("equipment:patrol_detail", event.code, patrol.pk)
    return render(
        request,
        "equipment/patrol_walk.html",
        {"event": event, "patrol": patrol, "form": form},
    )


@event_view
def patrol_detail(request, event, pk):
    patrol = get_scoped_or_404(
        request.user,
        Patrol.objects.select_related("equipment__zone", "checklist", "performed_by"),
        event=event,
        pk=pk,
    )
    items = []
    if patrol.checklist is not None:
        for item in patrol.checklist.items:
            items.append(
                {
                    "text": patrol.checklist.item_text(item),
                    "answer": patrol.answers.get(item["code"], ""),
                }
            )
    return render(
        request,
        "equipment/patrol_detail.html",
        {
            "event": event,
            "patrol": patrol,
            "items": items,
            "hazards": selectors.patrol_hazards(patrol, user=request.user),
            "overdue": patrol.is_overdue(),
        },
    )


# ---------------------------------------------------------------- city-wide campaign


@event_view
def campaign(request, event):
    filters, errors = parse_filters(selectors.CampaignRecordFilters, request.GET)
    qs = selectors.campaign_record_list(user=request.user, event=event, filters=filters)
    fmt = request.GET.get("format")
    if fmt in {"csv", "xlsx"}:
        return export_table(
            columns=importers.CAMPAIGN_COLUMNS,
            records=[] if request.GET.get("template") else qs,
            fmt=fmt,
            filename=f"{event.code}-campaign",
        )
    return render(
        request,
        "equipment/campaign.html",
        {
            "event": event,
            "page": paginate(request, qs),
            "filters": filters,
            "query": query_of(request),
            "filter_errors": errors,
            "is_filtered": any(v for k, v in request.GET.items() if k != "page"),
            "campaigns": selectors.campaign_list(user=request.user, event=event),
            "totals": selectors.campaign_totals(event, qs),
            "may_manage": may_manage(request.user, event),
        },
    )


@event_view
def campaign_import(request, event):
    if not may_manage(request.user, event):
        raise PermissionDenied(_("You may not import campaign records."))
    result = None
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        result = importers.import_campaign_records(
            actor=request.user,
            event=event,
            content=upload.read(),
            filename=upload.name,
            dry_run=form.cleaned_data["dry_run"],
        )
        if result.applied:
            messages.success(
                request,
                _("Imported: %(c)d created, %(u)d updated.")
                % {"c": result.created, "u": result.updated},
            )
            return redirect("equipment:campaign", event.code)
    list_url = reverse("equipment:campaign", args=[event.code])
    return render(
        request,
        "core/import.html",
        {
            "event": event,
            "title": _("Import campaign records"),
            "help": _(
                "One row per district and period. All or nothing: a file with any invalid row is "
                "refused whole; a known district and period is corrected."
            ),
            "form": form,
            "result": result,
            "list_url": list_url,
            "template_xlsx": f"{list_url}?format=xlsx&template=1",
            "template_csv": f"{list_url}?format=csv&template=1",
        },
    )
