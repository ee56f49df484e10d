"""The cold-chain pages: thin views that parse, call a service or selector, and render.

Reads go through ``selectors`` (which scope every queryset); writes through ``services``.
A record out of the user's scope answers 404.
"""

from __future__ import annotations

import pydantic
import segno
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from eventguard.core import access
from eventguard.core.access import CHANGE, scope
from eventguard.core.models import Unit, name_columns
from eventguard.core.tabular import Column, export_table
from eventguard.core.web import add_service_errors, event_view, query_of

from . import forms, importers, selectors, services, workflow
from .models import BoxState, WarehouseBatch

PAGE_SIZE = 50


def _parse_filters(schema, query):
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


def _paginate(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _is_staff(user, event) -> bool:
    try:
        workflow.require_loop_staff(user, event)
    except PermissionDenied:
        return False
    return True


def _may_declare(user, event) -> bool:
    return access.is_superuser(user) or any(
        "coldchain" in g.domains for g in access.grants(user, event=event, action=CHANGE)
    )


def _units(user, event, category):
    return scope(user, Unit, event=event).filter(category__code=category).order_by("name_zh")


# ---------------------------------------------------------------- overview


@event_view
def overview(request, event):
    qs = selectors.box_list(user=request.user, event=event)
    counts = dict(qs.order_by().values_list("state").annotate(n=Count("pk")))
    states = [(s, counts.get(s.value, 0)) for s in BoxState]
    settings_row = services.coldchain_settings_of(event)
    context = {
        "event": event,
        "states": states,
        "total": sum(counts.values()),
        "settings": settings_row,
        "at_risk": qs.filter(selectors.deadline_q(event, at_risk=True)).count(),
        "late": qs.filter(selectors.deadline_q(event, late=True)).count(),
        "is_staff": _is_staff(request.user, event),
    }
    return render(request, "coldchain/overview.html", context)


# ---------------------------------------------------------------- consignments


@event_view
def consignment_list(request, event):
    filters, errors = _parse_filters(selectors.ConsignmentFilters, request.GET)
    qs = selectors.consignment_list(user=request.user, event=event, filters=filters)
    return render(
        request,
        "coldchain/consignment_list.html",
        {
            "event": event,
            "page": _paginate(request, qs),
            "query": query_of(request),
            "filter_errors": errors,
            "may_create": _may_declare(request.user, event),
        },
    )


@event_view
def consignment_create(request, event):
    # Exhibitors the user can see: its own unit for an exhibitor, all for the staff. The
    # service decides whether the consignment may be declared for the one chosen.
    exhibitors = _units(request.user, event, "exhibitor")
    if not _may_declare(request.user, event) or not exhibitors.exists():
        raise PermissionDenied
    form = forms.ConsignmentForm(request.POST or None, exhibitors=exhibitors)
    if request.method == "POST" and form.is_valid():
        try:
            consignment = services.consignment_create(
                actor=request.user, event=event, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, _("Consignment %(ref)s declared.") % {"ref": consignment.reference}
            )
            return redirect("coldchain:consignment_detail", event.code, consignment.pk)
    return render(
        request,
        "core/form.html",
        {
            "event": event,
            "form": form,
            "title": _("New consignment"),
            "submit_label": _("Declare"),
            "cancel_url": reverse("coldchain:consignment_list", args=[event.code]),
        },
    )


@event_view
def consignment_detail(request, event, pk):
    consignment = selectors.consignment_detail(user=request.user, event=event, pk=pk)
    boxes = selectors.box_list(
        user=request.user, event=event, filters=selectors.BoxFilters(consignment=consignment.pk)
    )
    is_staff = _is_staff(request.user, event)
    manifest_form = forms.UploadForm()
    release_form = forms.PortReleaseForm(
        initial={"iq_certificate_no": consignment.iq_certificate_no}
    )
    result = None
    if request.method == "POST" and request.POST.get("action") == "manifest":
        manifest_form = forms.UploadForm(request.POST, request.FILES)
        if manifest_form.is_valid():
            upload = manifest_form.cleaned_data["file"]
            result = importers.import_manifest(
                actor=request.user,
                consignment=consignment,
                content=upload.read(),
                filename=upload.name,
                dry_run=manifest_form.cleaned_data["dry_run"],
            )
            if result.applied:
                messages.success(request, _("%(n)d boxes declared.") % {"n": result.created})
                return redirect("coldchain:consignment_detail", event.code, consignment.pk)
    elif request.method == "POST" and request.POST.get("action") == "port_release":
        release_form = forms.PortReleaseForm(request.POST)
        if release_form.is_valid():
            try:
                moved = services.consignment_port_release(
                    actor=request.user,
                    consignment=consignment,
                    iq_certificate_no=release_form.cleaned_data["iq_certificate_no"],
                    at=release_form.cleaned_data["at"],
                )
            except ValidationError as exc:
                add_service_errors(release_form, exc)
            else:
                messages.success(
                    request, _("%(n)d boxes released at the port.") % {"n": len(moved)}
                )
                return redirect("coldchain:consignment_detail", event.code, consignment.pk)
    return render(
        request,
        "coldchain/consignment_detail.html",
        {
            "event": event,
            "consignment": consignment,
            "page": _paginate(request, boxes),
            "manifest_form": manifest_form,
            "release_form": release_form,
            "result": result,
            "may_declare": access.allows(request.user, CHANGE, consignment),
            "is_staff": is_staff,
            "manifest_columns": importers.MANIFEST_COLUMNS,
        },
    )


# ---------------------------------------------------------------- boxes

BOX_EXPORT_COLUMNS = [
    Column("code", gettext_lazy("Traceability code")),
    Column("epc", gettext_lazy("EPC (GS1 Digital Link)")),
    Column(
        "consignment", gettext_lazy("Consignment no."), export=lambda b: b.consignment.reference
    ),
    Column("exhibitor", gettext_lazy("Exhibitor"), export=lambda b: b.consignment.exhibitor.name),
    Column("product", gettext_lazy("Product")),
    Column(
        "temperature_class",
        gettext_lazy("Temperature class"),
        export=lambda b: str(b.get_temperature_class_display()),
    ),
    Column("weight_kg", gettext_lazy("Weight (kg)")),
    Column("state", gettext_lazy("State"), export=lambda b: str(b.get_state_display())),
    Column("received_at", gettext_lazy("Received at the warehouse")),
    Column("cleared_at", gettext_lazy("Cleared at")),
    Column("entered_at", gettext_lazy("Entered the venue at")),
]


# What the box list's rows show (coldchain/jinja2/coldchain/_box_rows.html).
BOX_ROW_FIELDS = ("code", "product", "temperature_class", "state", "received_at", "entered_at")


@event_view
def box_list(request, event):
    filters, errors = _parse_filters(selectors.BoxFilters, request.GET)
    sort = request.GET.get("sort", "code")
    qs = selectors.box_list(user=request.user, event=event, filters=filters, sort=sort)
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        return export_table(
            columns=BOX_EXPORT_COLUMNS,
            records=qs.iterator(chunk_size=2000),
            fmt=fmt,
            filename=f"{event.code}-boxes",
        )
    # The rows show the exhibitor only (the exports above, the batch and the transport too),
    # and of each box the columns of the table: not the dozen other columns, dates among
    # them, turned into Python values for 50 rows and not shown.
    qs = (
        qs.select_related(None)
        .select_related("consignment__exhibitor")
        .only(*BOX_ROW_FIELDS, *name_columns("consignment__exhibitor"))
    )
    return render(
        request,
        "coldchain/box_list.html",
        {
            "event": event,
            "page": _paginate(request, qs),
            "query": query_of(request),
            "filters": filters,
            "filter_errors": errors,
            "is_filtered": any(v is not None for v in filters.dict().values()),
            "states": BoxState.choices,
        },
    )


@event_view
def box_detail(request, event, code):
    box = selectors.box_detail(user=request.user, event=event, code=code)
    is_staff = _is_staff(request.user, event)
    dispose_form = forms.DisposeForm()
    if request.method == "POST":
        dispose_form = forms.DisposeForm(request.POST)
        if dispose_form.is_valid():
            try:
                services.box_dispose(actor=request.user, box=box, **dispose_form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(dispose_form, exc)
            else:
                messages.success(request, _("Box %(code)s disposed of.") % {"code": box.code})
                return redirect("coldchain:box_detail", event.code, box.code)
    return render(
        request,
        "coldchain/box_detail.html",
        {
            "event": event,
            "box": box,
            "timeline": list(reversed(selectors.box_timeline(box))),
            "readings": selectors.box_readings(box),
            "missing": workflow.explain(box),
            "is_staff": is_staff,
            "dispose_form": dispose_form,
        },
    )


@event_view
def box_label(request, event, code):
    box = selectors.box_detail(user=request.user, event=event, code=code)
    qr = segno.make(box.epc, error="m")
    return render(
        request,
        "coldchain/box_label.html",
        {"event": event, "box": box, "qr_svg": qr.svg_inline(scale=4, border=2)},
    )


# ---------------------------------------------------------------- the gate


@event_view
def gate(request, event):
    if not _is_staff(request.user, event):
        raise PermissionDenied
    form = forms.GateForm(request.POST or None)
    result = None
    if request.method == "POST" and form.is_valid():
        result = services.gate_enter(
            actor=request.user,
            event=event,
            scanned=form.cleaned_data["code"],
            celsius=form.cleaned_data.get("celsius"),
        )
        form = forms.GateForm()  # ready for the next scan
    return render(request, "coldchain/gate.html", {"event": event, "form": form, "result": result})


# ---------------------------------------------------------------- exhibitors and deadline


@event_view
def exhibitor_list(request, event):
    received = {"true": True, "false": False}.get(request.GET.get("received", ""))
    qs = selectors.exhibitor_summary(user=request.user, event=event, received=received)
    return render(
        request,
        "coldchain/exhibitor_list.html",
        {
            "event": event,
            "page": _paginate(request, qs),
            "received": received,
            "query": query_of(request),
        },
    )


@event_view
def deadline(request, event):
    settings_row = services.coldchain_settings_of(event)
    is_staff = _is_staff(request.user, event)
    form = forms.SettingsForm(
        request.POST or None,
        initial={
            "entry_deadline": settings_row.entry_deadline,
            "at_risk_hours": settings_row.at_risk_hours,
        },
    )
    if request.method == "POST":
        if not is_staff:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.coldchain_settings_update(
                    actor=request.user, event=event, **form.cleaned_data
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Cold-chain settings saved."))
                return redirect("coldchain:deadline", event.code)
    qs = selectors.box_list(user=request.user, event=event)
    return render(
        request,
        "coldchain/deadline.html",
        {
            "event": event,
            "settings": settings_row,
            "form": form,
            "is_staff": is_staff,
            "at_risk": qs.filter(selectors.deadline_q(event, at_risk=True)).count(),
            "late": qs.filter(selectors.deadline_q(event, late=True)).count(),
            "on_time": qs.filter(selectors.deadline_q(event, on_time=True)).count(),
        },
    )


# ---------------------------------------------------------------- the warehouse desk

STEP_FORMS = ("receive", "disinfect", "sample", "results", "release", "depart")


def _step_forms(request, event, data=None, files=None, bound: str = ""):
    batches = WarehouseBatch.objects.filter(event=event).order_by("-received_at")
    make = {
        "receive": lambda d, f: forms.ReceiveForm(
            d, warehouses=_units(request.user, event, "coldchain_warehouse")
        ),
        "disinfect": lambda d, f: forms.DisinfectionForm(d, batches=batches),
        "sample": lambda d, f: forms.SampleForm(
            d, batches=batches, laboratories=_units(request.user, event, "laboratory")
        ),
        "results": lambda d, f: forms.UploadForm(d, f),
        "release": lambda d, f: forms.ReleaseForm(d, batches=batches),
        "depart": lambda d, f: forms.DepartForm(
            d, batches=batches, carriers=_units(request.user, event, "coldchain_carrier")
        ),
    }
    return {
        name: factory(data if name == bound else None, files if name == bound else None)
        for name, factory in make.items()
    }


def _selected_boxes(request, event, form, step: str):
    codes = form.box_codes()
    if codes:
        return selectors.scoped_boxes_by_code(
            user=request.user, event=event, codes=codes, action=CHANGE
        )
    batch = form.cleaned_data["batch"]
    sources = workflow.TRANSITIONS[step].sources
    return list(
        selectors.box_list(
            user=request.user, event=event, filters=selectors.BoxFilters(batch=batch.pk)
        ).filter(state__in=sources)
    )


def _run_step(request, event, name: str, form):
    data = form.cleaned_data
    if name == "receive":
        boxes = selectors.scoped_boxes_by_code(
            user=request.user, event=event, codes=form.box_codes(), action=CHANGE
        )
        services.batch_receive(
            actor=request.user,
            event=event,
            warehouse=data["warehouse"],
            number=data["number"],
            received_at=data["received_at"],
            boxes=boxes,
        )
        return len(boxes)
    if name == "disinfect":
        return len(
            services.disinfection_record_bulk(
                actor=request.user,
                boxes=_selected_boxes(request, event, form, "disinfect"),
                agent=data["agent"],
                operator=data["operator"],
                performed_at=data["performed_at"],
                surfaces=data["surfaces"],
            )
        )
    if name == "sample":
        return len(
            services.sample_take_bulk(
                actor=request.user,
                boxes=_selected_boxes(request, event, form, "sample"),
                laboratory=data["laboratory"],
                sampled_at=data["sampled_at"],
                surfaces=data["surfaces"],
            )
        )
    if name == "release":
        return len(
            services.box_release_bulk(
                actor=request.user,
                boxes=_selected_boxes(request, event, form, "release"),
                certificate_no=data["certificate_no"],
                released_at=data["released_at"],
            )
        )
    if name == "depart":
        boxes = _selected_boxes(request, event, form, "depart")
        services.transport_depart(
            actor=request.user,
            event=event,
            number=data["number"],
            vehicle_plate=data["vehicle_plate"],
            carrier=data["carrier"],
            departed_at=data["departed_at"],
            boxes=boxes,
        )
        return len(boxes)
    raise ValueError(name)


@event_view
def steps(request, event):
    if not _is_staff(request.user, event):
        raise PermissionDenied
    bound = request.POST.get("step", "") if request.method == "POST" else ""
    step_forms = _step_forms(request, event, request.POST, request.FILES, bound)
    result = None
    if bound in step_forms and step_forms[bound].is_valid():
        form = step_forms[bound]
        if bound == "results":
            upload = form.cleaned_data["file"]
            result = importers.import_lab_results(
                actor=request.user,
                event=event,
                content=upload.read(),
                filename=upload.name,
                dry_run=form.cleaned_data["dry_run"],
            )
            if result.applied:
                messages.success(request, _("%(n)d results recorded.") % {"n": result.updated})
                return redirect("coldchain:steps", event.code)
        else:
            try:
                moved = _run_step(request, event, bound, form)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("%(n)d boxes took the step.") % {"n": moved})
                return redirect("coldchain:steps", event.code)
    return render(
        request,
        "coldchain/steps.html",
        {
            "event": event,
            "forms": step_forms,
            "bound": bound,
            "result": result,
            "result_columns": importers.RESULT_COLUMNS,
        },
    )
