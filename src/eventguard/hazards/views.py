"""Pages of dual prevention: thin views that parse, call one service or selector, render."""

from __future__ import annotations

import pydantic
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from eventguard.core import access
from eventguard.core.access import CHANGE, get_scoped_or_404, scope
from eventguard.core.models import Unit, User, Zone, name_columns
from eventguard.core.servicekit import error_dict
from eventguard.core.web import add_service_errors, event_view, query_of
from eventguard.equipment.models import Equipment

from . import selectors, services
from .forms import ACTION_FORMS, GradingForm, HazardReportForm, RiskPointForm
from .models import (
    CONSEQUENCE_CHOICES,
    LIKELIHOOD_CHOICES,
    Hazard,
    HazardGrade,
    HazardPhoto,
    HazardSource,
    HazardStatus,
    RiskDomain,
    RiskGrade,
    RiskPoint,
)

PAGE_SIZE = 50


def parse_filters(schema, query):
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


def _may_report(user, event) -> bool:
    if access.is_superuser(user):
        return True
    return any("hazards" in g.domains for g in access.grants(user, event=event, action=CHANGE))


def _event_people(event):
    return (
        User.objects.filter(assignments__event=event, assignments__is_active=True, is_active=True)
        .distinct()
        .order_by("username")
    )


# ---------------------------------------------------------------- hidden dangers


# What the hidden-danger list's rows show (hazards/jinja2/hazards/_hazard_rows.html): the
# columns of the table and what tells an overdue one.
HAZARD_ROW_FIELDS = (
    "title",
    "source",
    "reported_at",
    "status",
    "grade",
    "deadline",
    "rectified_at",
)


@event_view
def hazard_list(request, event):
    filters, errors = parse_filters(selectors.HazardFilters, request.GET)
    qs = selectors.hazard_list(user=request.user, event=event, filters=filters)
    # The rows show the zone and the unit only: no join of the people and the equipment.
    qs = (
        qs.select_related(None)
        .select_related("zone", "unit")
        .only(*HAZARD_ROW_FIELDS, *name_columns("zone"), *name_columns("unit"))
    )
    return render(
        request,
        "hazards/hazard_list.html",
        {
            "event": event,
            "page": paginate(request, qs),
            "filters": filters,
            "query": query_of(request),
            "filter_errors": errors,
            "is_filtered": any(v for k, v in request.GET.items() if k != "page"),
            "statuses": HazardStatus.choices,
            "grades": HazardGrade.choices,
            "sources": HazardSource.choices,
            "now": timezone.now(),
            "may_report": _may_report(request.user, event),
        },
    )


@event_view
def hazard_report(request, event):
    if not _may_report(request.user, event):
        raise PermissionDenied(_("You may not report hidden dangers in this event."))
    zones = scope(request.user, Zone, event=event).filter(kind__in=["hall", "zone", "area"])
    units = scope(request.user, Unit, event=event)
    equipment = scope(request.user, Equipment, event=event)
    form = HazardReportForm(
        request.POST or None,
        request.FILES or None,
        zones=zones,
        units=units,
        equipment=equipment,
    )
    if request.method == "POST" and form.is_valid():
        try:
            hazard = services.hazard_report(actor=request.user, event=event, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            if isinstance(exc, PermissionDenied):
                exc = ValidationError(str(exc))
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Hidden danger %(code)s reported.") % {"code": hazard.code})
            return redirect("hazards:hazard_detail", event.code, hazard.pk)
    return render(
        request,
        "hazards/hazard_form.html",
        {"event": event, "form": form, "title": _("Report a hidden danger")},
    )


def _action_forms(user, hazard, event, bound=None):
    forms = []
    for action in services.actions_for(user, hazard):
        form_class = ACTION_FORMS[action]
        kwargs = {"prefix": action}
        if action == "assign":
            kwargs["people"] = _event_people(event)
            kwargs["initial"] = {
                "assignee": hazard.assignee_id,
                "measure": hazard.measure,
                "deadline": timezone.localtime(hazard.deadline).strftime("%Y-%m-%dT%H:%M")
                if hazard.deadline
                else "",
                "grade": hazard.grade,
            }
        if bound is not None and bound[0] == action:
            form = form_class(bound[1], bound[2], **kwargs)
        else:
            form = form_class(**kwargs)
        forms.append(
            {
                "action": action,
                "label": services.TRANSITIONS[(hazard.status, action)].label,
                "form": form,
            }
        )
    return forms


@event_view
def hazard_detail(request, event, pk):
    hazard = get_scoped_or_404(
        request.user,
        Hazard.objects.select_related("zone", "unit", "equipment", "assignee", "risk_point"),
        event=event,
        pk=pk,
    )
    bound = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in services.ACTIONS:
            raise Http404(_("No such action."))
        bound = (action, request.POST, request.FILES)
        forms = _action_forms(request.user, hazard, event, bound)
        entry = next((f for f in forms if f["action"] == action), None)
        if entry is None:
            # Not possible now, or not for this person: the service names the reason.
            try:
                services.hazard_transition(actor=request.user, hazard=hazard, action=action)
            except ValidationError as exc:
                for messages_ in error_dict(exc).values():
                    for message in messages_:
                        messages.error(request, message)
            return redirect("hazards:hazard_detail", event.code, hazard.pk)
        form = entry["form"]
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                services.hazard_transition(actor=request.user, hazard=hazard, action=action, **data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("%(code)s: %(action)s done.")
                    % {"code": hazard.code, "action": entry["label"]},
                )
                return redirect("hazards:hazard_detail", event.code, hazard.pk)
    else:
        forms = _action_forms(request.user, hazard, event)
    return render(
        request,
        "hazards/hazard_detail.html",
        {
            "event": event,
            "hazard": hazard,
            "timeline": selectors.hazard_timeline(user=request.user, hazard=hazard),
            "action_forms": forms,
            "overdue": hazard.is_overdue(),
            "source_url": _source_url(event, hazard),
        },
    )


def _source_url(event, hazard) -> str:
    """The page of the patrol a hidden danger was found on, if any."""
    kind, _sep, pk = hazard.source_ref.partition(":")
    if kind == "patrol" and pk.isdigit():
        return reverse("equipment:patrol_detail", args=[event.code, int(pk)])
    return ""


@event_view
def hazard_photo(request, event, pk, photo_pk):
    """A photo of a hidden danger, only to those who may see the hidden danger."""
    hazard = get_scoped_or_404(request.user, Hazard, event=event, pk=pk)
    photo = get_scoped_or_404(
        request.user, HazardPhoto.objects.filter(hazard=hazard), event=event, pk=photo_pk
    )
    try:
        handle = photo.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404(_("The photo file is missing.")) from exc
    response = FileResponse(handle, content_type=photo.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


# ---------------------------------------------------------------- risk points


@event_view
def risk_list(request, event):
    filters, errors = parse_filters(selectors.RiskPointFilters, request.GET)
    qs = selectors.risk_point_list(user=request.user, event=event, filters=filters)
    return render(
        request,
        "hazards/risk_list.html",
        {
            "event": event,
            "page": paginate(request, qs),
            "filters": filters,
            "query": query_of(request),
            "filter_errors": errors,
            "is_filtered": any(v for k, v in request.GET.items() if k != "page"),
            "grades": RiskGrade.choices,
            "domains": RiskDomain.choices,
            "may_manage": _may_manage_risks(request.user, event),
        },
    )


def _may_manage_risks(user, event) -> bool:
    return services.is_regulator(user, event) and _may_report(user, event)


def _risk_form(request, event, *, initial=None, editing=False):
    return RiskPointForm(
        request.POST or None,
        initial=initial,
        editing=editing,
        zones=scope(request.user, Zone, event=event).filter(kind__in=["hall", "zone", "area"]),
        equipment=scope(request.user, Equipment, event=event),
        units=scope(request.user, Unit, event=event),
        people=_event_people(event),
    )


@event_view
def risk_create(request, event):
    if not _may_manage_risks(request.user, event):
        raise PermissionDenied(_("You may not add risk points."))
    form = _risk_form(request, event)
    if request.method == "POST" and form.is_valid():
        try:
            point = services.risk_point_create(actor=request.user, event=event, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Risk point %(code)s added.") % {"code": point.code})
            return redirect("hazards:risk_detail", event.code, point.pk)
    return render(
        request,
        "core/form.html",
        {
            "event": event,
            "form": form,
            "title": _("New risk point"),
            "intro": _("D = L × E × C; the grade follows from the event's bands."),
            "submit_label": _("Save"),
            "cancel_url": reverse("hazards:risk_list", args=[event.code]),
        },
    )


@event_view
def risk_edit(request, event, pk):
    point = get_scoped_or_404(request.user, RiskPoint, event=event, pk=pk)
    if not access.allows(request.user, CHANGE, point) or not _may_manage_risks(request.user, event):
        raise PermissionDenied(_("You may not change this risk point."))
    initial = {
        name: getattr(point, name)
        for name in (
            "code",
            "title",
            "domain",
            "hazard_description",
            "zone",
            "equipment",
            "responsible_unit",
            "responsible_person",
            "control_measures",
            "review_on",
        )
    }
    for name in ("likelihood", "exposure", "consequence"):
        initial[name] = str(getattr(point, name).normalize())
    form = _risk_form(request, event, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("code", None)
        try:
            services.risk_point_update(actor=request.user, risk_point=point, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Risk point %(code)s saved.") % {"code": point.code})
            return redirect("hazards:risk_detail", event.code, point.pk)
    return render(
        request,
        "core/form.html",
        {
            "event": event,
            "form": form,
            "title": _("Change risk point %(code)s") % {"code": point.code},
            "intro": _("D = L × E × C; the grade follows from the event's bands."),
            "submit_label": _("Save"),
            "cancel_url": reverse("hazards:risk_detail", args=[event.code, point.pk]),
        },
    )


@event_view
def risk_detail(request, event, pk):
    point = get_scoped_or_404(
        request.user,
        RiskPoint.objects.select_related(
            "zone", "equipment", "responsible_unit", "responsible_person"
        ),
        event=event,
        pk=pk,
    )
    hazards = scope(request.user, Hazard, event=event).filter(risk_point=point)
    return render(
        request,
        "hazards/risk_detail.html",
        {
            "event": event,
            "point": point,
            "hazards": hazards,
            "grading": services.grading_of(event),
            "may_edit": access.allows(request.user, CHANGE, point)
            and _may_manage_risks(request.user, event),
        },
    )


@event_view
def risk_matrix(request, event):
    return render(
        request,
        "hazards/risk_matrix.html",
        {
            "event": event,
            "matrix": selectors.risk_matrix(user=request.user, event=event),
            "likelihood_labels": dict(LIKELIHOOD_CHOICES),
            "consequence_labels": dict(CONSEQUENCE_CHOICES),
            "may_manage": _may_manage_risks(request.user, event),
        },
    )


@event_view
def risk_map(request, event):
    return render(
        request,
        "hazards/risk_map.html",
        {
            "event": event,
            "halls": selectors.venue_colour_map(user=request.user, event=event),
            "grades": RiskGrade.choices,
        },
    )


@event_view
def risk_grading(request, event):
    if not _may_manage_risks(request.user, event):
        raise PermissionDenied(_("You may not change the grade bands."))
    grading = services.grading_of(event)
    form = GradingForm(
        request.POST or None,
        initial={
            "red_above": grading.red_above,
            "orange_from": grading.orange_from,
            "yellow_from": grading.yellow_from,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.risk_grading_set(actor=request.user, event=event, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Grade bands saved; every risk point was graded again."))
            return redirect("hazards:risk_matrix", event.code)
    return render(
        request,
        "core/form.html",
        {
            "event": event,
            "form": form,
            "title": _("Risk grade bands"),
            "intro": _(
                "Blue (low) below the yellow band. Changing the bands grades every risk point "
                "of the event again."
            ),
            "submit_label": _("Save"),
            "cancel_url": reverse("hazards:risk_matrix", args=[event.code]),
        },
    )
