"""The registry's web pages: thin views that parse, call a service or selector, render.

Reads go through ``selectors`` (which scope every queryset) or ``access.get_scoped_or_404``;
writes through ``services``. A record out of the user's scope answers 404; a record the
user can see but not change answers 403 to an edit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence

import pydantic
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_POST
from ninja import FilterSchema

from . import access, selectors, services
from .access import CHANGE, VIEW, get_scoped_or_404
from .figures import figures_report
from .forms import EventForm, ImportForm, PersonCreateForm, UnitForm, ZoneForm
from .importers import (
    ASSIGNMENT_EXPORT_COLUMNS,
    PEOPLE_COLUMNS,
    UNIT_COLUMNS,
    ZONE_COLUMNS,
    import_people,
    import_units,
    import_zones,
)
from .models import AuditEntry, Role, RoleAssignment, Unit, UnitCategory, Zone, ZoneKind
from .tabular import Column, export_table
from .web import add_service_errors, event_view, list_context

PAGE_SIZE = 50
EXPORT_FORMATS = ("csv", "xlsx")

# ---------------------------------------------------------------- shared helpers


def parse_filters(schema: type[FilterSchema], query) -> tuple[FilterSchema, list[str]]:
    """The list filters of a query string, through the same FilterSchema the API uses.

    A value that does not parse is dropped (the list shows unfiltered by it) and named.
    """
    data = {name: query.get(name) for name in schema.model_fields if query.get(name, "") != ""}
    errors: list[str] = []
    while True:
        try:
            return schema(**data), errors
        except pydantic.ValidationError as exc:
            bad = {str(e["loc"][0]) for e in exc.errors() if e.get("loc")}
            if not bad or not bad & set(data):
                return schema(), errors
            for name in sorted(bad & set(data)):
                errors.append(
                    _("“%(value)s” is not a valid value for %(name)s.")
                    % {"value": data.pop(name), "name": name}
                )


def paginate(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def export_requested(request) -> str | None:
    fmt = request.GET.get("format", "")
    return fmt if fmt in EXPORT_FORMATS else None


def export_response(request, *, columns: Sequence[Column], records, name: str, event):
    """The filtered list as a download; ``?template=1`` gives the empty list (the headers)."""
    if request.GET.get("template"):
        records = []
    return export_table(
        columns=columns,
        records=records,
        fmt=export_requested(request),
        filename=f"{event.code}-{name}",
    )


def may_create(user, event, domains: set[str] | frozenset[str]) -> bool:
    """Whether ``user`` holds a grant to change records of one of ``domains`` in ``event``
    that is not tied to their own unit: the test for offering a "new" button and page.
    The service still decides on the record itself."""
    if access.is_superuser(user):
        return True
    return any(
        g.unit_id is None and g.domains & set(domains)
        for g in access.grants(user, event=event, action=CHANGE)
    )


def is_event_admin(user, event) -> bool:
    return "admin" in access.roles_in(user, event)


def may_read_audit(user, event) -> bool:
    if access.is_superuser(user):
        return True
    return any("audit" in g.domains for g in access.grants(user, event=event, action=VIEW))


def creatable_unit_categories(user, event):
    categories = selectors.categories()
    if access.is_superuser(user):
        return categories
    needed = Unit.scope.change_domain  # changing a unit's registry entry needs it too
    domains = set()
    for g in access.grants(user, event=event, action=CHANGE):
        if g.unit_id is None and (needed is None or needed in g.domains):
            domains |= g.domains
    return categories.filter(domain__in=sorted(domains))


def submit(form, call: Callable):
    """Parse the form, call the service; a service refusal is shown on the form.

    Returns the service's result, or None when the form is shown again with errors.
    """
    if not form.is_valid():
        return None
    try:
        return call(form.cleaned_data)
    except ValidationError as exc:
        add_service_errors(form, exc)
    except PermissionDenied as exc:
        form.add_error(None, str(exc))
    return None


def render_form(request, event, *, form, title, cancel_url, submit_label=None, intro=""):
    return render(
        request,
        "core/form.html",
        {
            "event": event,
            "form": form,
            "title": title,
            "cancel_url": cancel_url,
            "submit_label": submit_label or _("Save"),
            "intro": intro,
        },
    )


# ---------------------------------------------------------------- sign-in, language, start


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


class LoginView(auth_views.LoginView):
    """Django's login, refused for a while after too many failures for a name or an address."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "").strip()
        until = services.login_blocked_until(username=username, address=client_address(request))
        if until is not None:
            # An unbound form: a blocked attempt must not even reach authentication.
            form = self.get_form_class()(request, initial={"username": username})
            return self.blocked(form, until)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        if any(e.code == "invalid_login" for e in form.non_field_errors().as_data()):
            username = form.data.get("username", "").strip()
            address = client_address(self.request)
            services.login_failure_record(username=username, address=address)
            until = services.login_blocked_until(username=username, address=address)
            if until is not None:
                return self.blocked(form, until)
        return super().form_invalid(form)

    def blocked(self, form, until: dt.datetime):
        context = self.get_context_data(form=form, blocked_message=self.blocked_message(until))
        return self.render_to_response(context, status=429)

    @staticmethod
    def blocked_message(until: dt.datetime) -> str:
        return _(
            "Too many failed log-in attempts for this name or from this address. "
            "Try again after %(time)s."
        ) % {"time": date_format(timezone.localtime(until), "Y-m-d H:i")}


class LogoutView(auth_views.LogoutView):
    pass


@login_required
def home(request):
    events = list(access.events_for(request.user)[:2])
    if len(events) == 1:
        return redirect("core:event_home", events[0].code)
    return redirect("core:event_list")


@require_POST
def set_language(request):
    """The language cookie, and for a logged-in person their own choice."""
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        language = translation.get_language()
    if request.user.is_authenticated and request.user.language != language:
        services.person_set_language(actor=request.user, language=language)
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    response = HttpResponseRedirect(target)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response


@login_required
def event_list(request):
    return render(request, "core/event_list.html", {"events": access.events_for(request.user)})


# ---------------------------------------------------------------- event


def event_phase(event) -> str:
    import zoneinfo

    today = timezone.now().astimezone(zoneinfo.ZoneInfo(event.time_zone)).date()
    if today < event.preparation_start:
        return _("Not started")
    if today < event.opening:
        return _("Preparation")
    if today <= event.closing:
        return pgettext("event phase", "Running")
    return pgettext("event phase", "Closed")


def sees_whole_event(user, event) -> bool:
    """Whether the user's view covers every record of the event (no zone, domain or unit
    narrowing): only then does a figure's records page list everything the figure counts."""
    if access.is_superuser(user):
        return True
    return any(
        g.unit_id is None and not g.zone_paths and access.ALL_DOMAINS <= g.domains
        for g in access.grants(user, event=event, action=VIEW)
    )


def figure_cards(event) -> list[dict]:
    report = figures_report(event)
    key = "en" if (translation.get_language() or "").startswith("en") else "zh-Hans"
    return [
        {"key": k, "label": f["label"][key], "value": f["value"], "records_url": f["records_url"]}
        for k, f in report["figures"].items()
    ]


@event_view
def event_home(request, event):
    counts = (
        selectors.unit_list(user=request.user, event=event)
        .order_by()
        .values("category_id")
        .annotate(active=Count("id", filter=Q(is_active=True)), total=Count("id"))
    )
    by_category = {row["category_id"]: row for row in counts}
    categories = [
        {"category": c, **by_category[c.pk]}
        for c in UnitCategory.objects.filter(pk__in=list(by_category))
    ]
    return render(
        request,
        "core/event_home.html",
        {
            "event": event,
            "phase": event_phase(event),
            "categories": categories,
            "figures": figure_cards(event),
            "figures_partial": not sees_whole_event(request.user, event),
            "may_edit": access.is_event_admin(request.user, event),
        },
    )


@event_view
def event_edit(request, event):
    if not access.is_event_admin(request.user, event):
        raise PermissionDenied(_("You may not change this event."))
    fields = list(EventForm.base_fields)
    form = EventForm(request.POST or None, initial={f: getattr(event, f) for f in fields})
    if request.method == "POST":
        result = submit(
            form,
            lambda data: services.event_update(actor=request.user, event=event, **data),
        )
        if result is not None:
            messages.success(request, _("The event was saved."))
            return redirect("core:event_home", event.code)
    return render_form(
        request,
        event,
        form=form,
        title=_("Edit the event"),
        cancel_url=reverse("core:event_home", args=[event.code]),
    )


@event_view
def figures(request, event):
    return render(
        request,
        "core/figures.html",
        {
            "event": event,
            "figures": figure_cards(event),
            "figures_partial": not sees_whole_event(request.user, event),
        },
    )


# ---------------------------------------------------------------- zones


def zone_depth(zone) -> int:
    return max(zone.path.count("/") - 2, 0)


def _natural(code: str) -> tuple:
    """ "h2-1" before "h10-1": digits compare as numbers."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", code.lower()))


def in_tree_order(zones) -> list:
    """Zones depth-first, siblings by code, so a tree reads like one. The materialised
    path keeps children under their parent but orders siblings by their ids."""
    zones = list(zones)
    code_of = {str(z.pk): z.code for z in zones}
    for z in zones:
        z.tree_key = tuple(_natural(code_of.get(p, p)) for p in z.path.strip("/").split("/"))
    return sorted(zones, key=lambda z: z.tree_key)


@event_view
def zone_list(request, event):
    filters, filter_errors = parse_filters(selectors.ZoneFilters, request.GET)
    zones = selectors.zone_list(user=request.user, event=event, filters=filters)
    if export_requested(request):
        return export_response(
            request, columns=ZONE_COLUMNS, records=zones, name="zones", event=event
        )
    page = paginate(request, in_tree_order(zones))
    for zone in page:
        zone.depth = zone_depth(zone)
    context = list_context(
        request,
        page,
        filters,
        filter_errors,
        event=event,
        kinds=ZoneKind.choices,
        may_create=may_create(request.user, event, {"registry"}),
    )
    return render(request, "core/zone_list.html", context)


def _zone_parents(user, event):
    return access.scope(user, Zone, event=event, action=CHANGE).order_by("path")


def _zone_values(data) -> dict:
    return {k: data[k] for k in ("code", "kind", "name_zh", "name_en", "parent", "is_core_area")}


@event_view
def zone_create(request, event):
    if not may_create(request.user, event, {"registry"}):
        raise PermissionDenied(_("You may not add zones."))
    initial = {}
    parent_id = request.GET.get("parent", "")
    if parent_id.isdigit():
        initial["parent"] = parent_id
    form = ZoneForm(
        request.POST or None, initial=initial, parents=_zone_parents(request.user, event)
    )
    if request.method == "POST":
        zone = submit(
            form,
            lambda data: services.zone_create(
                actor=request.user, event=event, **_zone_values(data)
            ),
        )
        if zone is not None:
            messages.success(request, _("Zone “%(name)s” was added.") % {"name": zone.name})
            return redirect("core:zone_detail", event.code, zone.pk)
    return render_form(
        request,
        event,
        form=form,
        title=_("New zone"),
        cancel_url=reverse("core:zone_list", args=[event.code]),
    )


@event_view
def zone_detail(request, event, pk: int):
    zone = get_scoped_or_404(
        request.user, Zone.objects.select_related("parent"), event=event, pk=pk
    )
    children = selectors.zone_list(user=request.user, event=event).filter(parent=zone)
    units = selectors.unit_list(
        user=request.user, event=event, filters=selectors.UnitFilters(zone=zone.pk)
    )
    return render(
        request,
        "core/zone_detail.html",
        {
            "event": event,
            "zone": zone,
            "ancestors": _ancestors(request.user, event, zone),
            "children": children,
            "units": units[:PAGE_SIZE],
            "unit_count": units.count(),
            "may_edit": access.allows(request.user, CHANGE, zone),
            "may_add_child": may_create(request.user, event, {"registry"})
            and access.allows(request.user, CHANGE, zone),
            "may_audit": may_read_audit(request.user, event),
        },
    )


def _ancestors(user, event, zone) -> list:
    ids = [int(part) for part in zone.path.strip("/").split("/")[:-1] if part]
    visible = {z.pk: z for z in selectors.zone_list(user=user, event=event).filter(pk__in=ids)}
    return [visible[i] for i in ids if i in visible]


@event_view
def zone_edit(request, event, pk: int):
    zone = get_scoped_or_404(request.user, Zone, event=event, pk=pk)
    if not access.allows(request.user, CHANGE, zone):
        raise PermissionDenied(_("You may not change this zone."))
    initial = _zone_values({f: getattr(zone, f) for f in ZoneForm.base_fields})
    form = ZoneForm(
        request.POST or None,
        initial=initial,
        parents=_zone_parents(request.user, event).exclude(path__startswith=zone.path),
    )
    if request.method == "POST":
        result = submit(
            form,
            lambda data: services.zone_update(actor=request.user, zone=zone, **_zone_values(data)),
        )
        if result is not None:
            messages.success(request, _("The zone was saved."))
            return redirect("core:zone_detail", event.code, zone.pk)
    return render_form(
        request,
        event,
        form=form,
        title=_("Edit zone %(name)s") % {"name": zone.name},
        cancel_url=reverse("core:zone_detail", args=[event.code, zone.pk]),
    )


# ---------------------------------------------------------------- units

UNIT_FORM_FIELDS = (
    "category",
    "name_zh",
    "name_en",
    "credit_code",
    "zone",
    "address",
    "contact_name",
    "contact_phone",
    "contact_email",
    "notes",
)


@event_view
def unit_list(request, event):
    filters, filter_errors = parse_filters(selectors.UnitFilters, request.GET)
    units = selectors.unit_list(user=request.user, event=event, filters=filters)
    if export_requested(request):
        return export_response(
            request, columns=UNIT_COLUMNS, records=units, name="units", event=event
        )
    context = list_context(
        request,
        paginate(request, units),
        filters,
        filter_errors,
        event=event,
        categories=selectors.categories(),
        zones=in_tree_order(selectors.zone_list(user=request.user, event=event)),
        may_create=creatable_unit_categories(request.user, event).exists(),
    )
    return render(request, "core/unit_list.html", context)


def _unit_zones(user, event):
    # Any zone the user sees; whether they may put this unit there is the service's call.
    return access.scope(user, Zone, event=event, action=VIEW).order_by("path")


@event_view
def unit_create(request, event):
    categories = creatable_unit_categories(request.user, event)
    if not categories.exists():
        raise PermissionDenied(_("You may not add units."))
    initial = {}
    if request.GET.get("zone", "").isdigit():
        initial["zone"] = request.GET["zone"]
    form = UnitForm(
        request.POST or None,
        initial=initial,
        categories=categories,
        zones=_unit_zones(request.user, event),
    )
    if request.method == "POST":
        unit = submit(
            form,
            lambda data: services.unit_create(
                actor=request.user, event=event, **{k: data[k] for k in UNIT_FORM_FIELDS}
            ),
        )
        if unit is not None:
            messages.success(request, _("Unit “%(name)s” was added.") % {"name": unit.name})
            return redirect("core:unit_detail", event.code, unit.pk)
    return render_form(
        request,
        event,
        form=form,
        title=_("New unit"),
        cancel_url=reverse("core:unit_list", args=[event.code]),
    )


@event_view
def unit_detail(request, event, pk: int):
    unit = get_scoped_or_404(
        request.user, Unit.objects.select_related("category", "zone"), event=event, pk=pk
    )
    people = selectors.assignment_list(
        user=request.user, event=event, filters=selectors.AssignmentFilters(unit=unit.pk)
    )
    return render(
        request,
        "core/unit_detail.html",
        {
            "event": event,
            "unit": unit,
            "people": people,
            "may_edit": access.allows(request.user, CHANGE, unit),
            "may_audit": may_read_audit(request.user, event),
        },
    )


@event_view
def unit_edit(request, event, pk: int):
    unit = get_scoped_or_404(request.user, Unit, event=event, pk=pk)
    if not access.allows(request.user, CHANGE, unit):
        raise PermissionDenied(_("You may not change this unit."))
    fields = (*UNIT_FORM_FIELDS, "is_active")
    # The unit's own category stays selectable even if the user could not create one of it.
    categories = UnitCategory.objects.filter(
        Q(pk__in=creatable_unit_categories(request.user, event)) | Q(pk=unit.category_id)
    )
    zones = Zone.objects.filter(
        Q(pk__in=_unit_zones(request.user, event)) | Q(pk=unit.zone_id)
    ).order_by("path")
    form = UnitForm(
        request.POST or None,
        initial={f: getattr(unit, f) for f in fields},
        categories=categories,
        zones=zones,
        editing=True,
    )
    if request.method == "POST":
        result = submit(
            form,
            lambda data: services.unit_update(
                actor=request.user, unit=unit, **{k: data[k] for k in fields}
            ),
        )
        if result is not None:
            messages.success(request, _("The unit was saved."))
            return redirect("core:unit_detail", event.code, unit.pk)
    return render_form(
        request,
        event,
        form=form,
        title=_("Edit unit %(name)s") % {"name": unit.name},
        cancel_url=reverse("core:unit_detail", args=[event.code, unit.pk]),
    )


# ---------------------------------------------------------------- people


@event_view
def person_list(request, event):
    filters, filter_errors = parse_filters(selectors.AssignmentFilters, request.GET)
    assignments = selectors.assignment_list(user=request.user, event=event, filters=filters)
    if export_requested(request):
        return export_response(
            request,
            columns=ASSIGNMENT_EXPORT_COLUMNS,
            records=assignments,
            name="people",
            event=event,
        )
    context = list_context(
        request,
        paginate(request, assignments),
        filters,
        filter_errors,
        event=event,
        roles=Role.choices,
        may_create=is_event_admin(request.user, event),
    )
    if filters.unit:
        context["filter_unit"] = (
            selectors.unit_list(user=request.user, event=event).filter(pk=filters.unit).first()
        )
    return render(request, "core/person_list.html", context)


@event_view
def person_create(request, event):
    if not is_event_admin(request.user, event):
        raise PermissionDenied(_("Only administrators may manage people and roles."))
    form = PersonCreateForm(
        request.POST or None,
        initial={"language": translation.get_language(), "role": Role.INSPECTOR},
        zones=selectors.zone_list(user=request.user, event=event),
        units=selectors.units_for_choice(user=request.user, event=event).order_by("name_zh"),
    )

    def create(data):
        with transaction.atomic():
            user = services.person_create(actor=request.user, event=event, **form.person_values())
            return services.role_assign(
                actor=request.user, user=user, event=event, **form.role_values()
            )

    if request.method == "POST":
        assignment = submit(form, create)
        if assignment is not None:
            messages.success(
                request,
                _("%(person)s now holds the role %(role)s.")
                % {"person": assignment.user, "role": assignment.get_role_display()},
            )
            return redirect("core:assignment_detail", event.code, assignment.pk)
    return render_form(
        request,
        event,
        form=form,
        title=_("New person"),
        intro=_("Creates a person and gives them a role in this event."),
        cancel_url=reverse("core:person_list", args=[event.code]),
    )


@event_view
def assignment_detail(request, event, pk: int):
    assignment = get_scoped_or_404(
        request.user,
        RoleAssignment.objects.select_related("user", "unit", "event").prefetch_related("zones"),
        event=event,
        pk=pk,
    )
    return render(
        request,
        "core/assignment_detail.html",
        {
            "event": event,
            "assignment": assignment,
            "person": assignment.user,
            "domain_labels": _domain_labels(assignment.domains),
            "may_revoke": is_event_admin(request.user, event),
            "may_audit": may_read_audit(request.user, event),
        },
    )


def _domain_labels(codes) -> list[str]:
    from .models import Domain

    labels = dict(Domain.choices)
    return [str(labels.get(c, c)) for c in codes]


@require_POST
@event_view
def assignment_revoke(request, event, pk: int):
    assignment = get_scoped_or_404(
        request.user, RoleAssignment.objects.select_related("user", "event"), event=event, pk=pk
    )
    services.role_revoke(actor=request.user, assignment=assignment)
    messages.success(
        request,
        _("The role %(role)s of %(person)s was revoked.")
        % {"role": assignment.get_role_display(), "person": assignment.user},
    )
    return redirect("core:person_list", event.code)


# ---------------------------------------------------------------- imports

IMPORTS = {
    "zones": {
        "title": gettext_lazy("Import zones"),
        "run": import_zones,
        "columns": ZONE_COLUMNS,
        "list": "core:zone_list",
        "help": gettext_lazy(
            "One row per zone. A parent must be listed before its children. A zone whose "
            "code exists is updated."
        ),
    },
    "units": {
        "title": gettext_lazy("Import units"),
        "run": import_units,
        "columns": UNIT_COLUMNS,
        "list": "core:unit_list",
        "help": gettext_lazy(
            "One row per unit. A unit with the same category and credit code is updated."
        ),
    },
    "people": {
        "title": gettext_lazy("Import people"),
        "run": import_people,
        "columns": PEOPLE_COLUMNS,
        "list": "core:person_list",
        "help": gettext_lazy(
            "One row per role of a person. Zones and domains are separated by “;”. People "
            "created here cannot log in until a password is set."
        ),
    },
}


def _import_page(request, event, kind: str, allowed: bool):
    if not allowed:
        raise PermissionDenied(_("You may not import these records."))
    spec = IMPORTS[kind]
    result = None
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        result = spec["run"](
            actor=request.user,
            event=event,
            content=upload.read(),
            filename=upload.name,
            dry_run=form.cleaned_data["dry_run"],
        )
        if result.applied:
            messages.success(
                request,
                _("Imported %(rows)d rows: %(created)d created, %(updated)d updated.")
                % {"rows": result.rows, "created": result.created, "updated": result.updated},
            )
            return redirect(spec["list"], event.code)
    list_url = reverse(spec["list"], args=[event.code])
    labels = {c.key: str(c.label) for c in spec["columns"]}
    return render(
        request,
        "core/import.html",
        {
            "event": event,
            "form": form,
            "result": result,
            "errors": [
                {
                    "row": e.row,
                    "column": e.column,
                    "label": labels.get(e.column, ""),
                    "message": e.message,
                }
                for e in (result.errors if result else [])
            ],
            "title": spec["title"],
            "help": spec["help"],
            "list_url": list_url,
            "template_xlsx": f"{list_url}?format=xlsx&template=1",
            "template_csv": f"{list_url}?format=csv&template=1",
        },
    )


@event_view
def zone_import(request, event):
    return _import_page(request, event, "zones", may_create(request.user, event, {"registry"}))


@event_view
def unit_import(request, event):
    allowed = creatable_unit_categories(request.user, event).exists()
    return _import_page(request, event, "units", allowed)


@event_view
def person_import(request, event):
    return _import_page(request, event, "people", is_event_admin(request.user, event))


# ---------------------------------------------------------------- audit trail

AUDIT_COLUMNS = [
    Column("seq", gettext_lazy("No.")),
    Column("at", gettext_lazy("Time")),
    Column("actor_name", gettext_lazy("Actor")),
    Column("action", gettext_lazy("Action")),
    Column("object_type", gettext_lazy("Object type")),
    Column("object_id", gettext_lazy("Object id")),
    Column("object_repr", gettext_lazy("Object")),
    Column("request_id", gettext_lazy("Request id")),
    Column("before", gettext_lazy("Before"), export=lambda e: _json_text(e.before)),
    Column("after", gettext_lazy("After"), export=lambda e: _json_text(e.after)),
    Column("prev_hash", gettext_lazy("Previous hash")),
    Column("hash", gettext_lazy("Hash")),
]


def _json_text(value) -> str:
    import json

    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _json_value(value) -> str:
    """One recorded value as JSON (``null`` for an empty one, unlike a missing one)."""
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _require_audit_reader(user, event) -> None:
    # The trail is not merely forbidden to others: for them it does not exist.
    if not may_read_audit(user, event):
        raise Http404(_("No such page."))


def _aware(value):
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


@event_view
def audit_list(request, event):
    _require_audit_reader(request.user, event)
    filters, filter_errors = parse_filters(selectors.AuditFilters, request.GET)
    filters.since, filters.until = _aware(filters.since), _aware(filters.until)
    entries = selectors.audit_list(user=request.user, event=event, filters=filters)
    if export_requested(request):
        return export_response(
            request, columns=AUDIT_COLUMNS, records=entries, name="audit", event=event
        )
    in_event = selectors.audit_list(user=request.user, event=event)
    context = list_context(
        request,
        paginate(request, entries.defer("before", "after")),
        filters,
        filter_errors,
        event=event,
        actors=in_event.order_by("actor_name").values_list("actor_name", flat=True).distinct(),
        object_types=in_event.order_by("object_type")
        .values_list("object_type", flat=True)
        .distinct(),
    )
    return render(request, "core/audit_list.html", context)


@event_view
def audit_detail(request, event, seq: int):
    _require_audit_reader(request.user, event)
    entry = get_scoped_or_404(request.user, AuditEntry, event=event, seq=seq)
    before, after = entry.before or {}, entry.after or {}
    rows = [
        {
            "name": name,
            "before": _json_value(before[name]) if name in before else "",
            "after": _json_value(after[name]) if name in after else "",
            "changed": bool(before and after)
            and before.get(name, object()) != after.get(name, object()),
        }
        for name in sorted(set(before) | set(after))
    ]
    neighbours = selectors.audit_list(user=request.user, event=event)
    return render(
        request,
        "core/audit_detail.html",
        {
            "event": event,
            "entry": entry,
            "rows": rows,
            "previous": neighbours.filter(seq__lt=entry.seq).order_by("-seq").first(),
            "next": neighbours.filter(seq__gt=entry.seq).order_by("seq").first(),
            "history_url": reverse("core:audit_list", args=[event.code])
            + f"?object_type={entry.object_type}&q={entry.object_id}",
        },
    )
