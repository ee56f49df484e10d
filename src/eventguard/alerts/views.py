"""The alerts pages: the alarm list and an alarm's page, the rules of an event.

Thin views: parse, call one selector or service, render. A record out of the user's
scope answers 404; an action they may not take is refused by the service (403).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from eventguard.core import access
from eventguard.core.access import CHANGE, get_scoped_or_404
from eventguard.core.models import name_columns
from eventguard.core.servicekit import error_dict
from eventguard.core.web import add_service_errors, event_view, query_of

from . import selectors, services
from .forms import AcknowledgeForm, AssignForm, ClearForm, CommentForm, RuleForm, parse_filters
from .models import AlarmState, Rule, RuleKind, Severity, Source
from .rules import describe_params

PAGE_SIZE = 50


def _may_change_alarms(user, event) -> bool:
    if access.is_superuser(user):
        return True
    return any(g.unit_id is None for g in access.grants(user, event=event, action=CHANGE))


def _refuse_message(request, exc: Exception) -> None:
    if isinstance(exc, ValidationError):
        for messages_ in error_dict(exc).values():
            for message in messages_:
                messages.error(request, message)
    else:
        messages.error(request, str(exc))


# ---------------------------------------------------------------- alarms


# What the alarm list's rows show (alerts/jinja2/alerts/_alarm_rows.html).
ALARM_ROW_FIELDS = ("severity", "state", "subject_name", "last_at", "count")


@event_view
def alarm_list(request, event):
    filters, filter_errors = parse_filters(selectors.AlarmFilters, request.GET)
    alarms = selectors.alarm_list(user=request.user, event=event, filters=filters)
    # The rows show the rule and the zone only: no join of the event and the people, and of
    # each the columns of the table (not the alarm's details and the rule's parameters and
    # state: JSON read and decoded for every row otherwise).
    alarms = (
        alarms.select_related(None)
        .select_related("rule", "zone")
        .only(*ALARM_ROW_FIELDS, *name_columns("rule"), *name_columns("zone"))
    )
    page = Paginator(alarms, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "alerts/alarm_list.html",
        {
            "event": event,
            "page": page,
            "filters": filters,
            "filter_errors": filter_errors,
            "query": query_of(request),
            "is_filtered": any(v not in (None, "") for v in filters.model_dump().values()),
            "states": [("open", pgettext("alarm state", "Open")), *AlarmState.choices],
            "severities": Severity.choices,
            # The rule filter's options: each rule's code and name.
            "rules": selectors.rule_list(user=request.user, event=event)
            .select_related(None)
            .only("code", "name_zh", "name_en"),
            "counts": selectors.open_alarm_counts(user=request.user, event=event),
            "may_change": _may_change_alarms(request.user, event),
        },
    )


def _alarm(request, event, pk):
    return get_scoped_or_404(
        request.user, selectors.alarm_detail_queryset(request.user), event=event, pk=pk
    )


@event_view
def alarm_detail(request, event, pk: int):
    alarm = _alarm(request, event, pk)
    return render(
        request,
        "alerts/alarm_detail.html",
        {
            "event": event,
            "alarm": alarm,
            "timeline": alarm.entries.all(),
            "may_change": access.allows(request.user, CHANGE, alarm),
            "ack_form": AcknowledgeForm(auto_id="ack_%s"),
            "clear_form": ClearForm(auto_id="clear_%s"),
            "assign_form": AssignForm(
                prefix="assign",
                initial={"assignee": alarm.assignee.get_username() if alarm.assignee_id else ""},
            ),
            "comment_form": CommentForm(prefix="comment"),
        },
    )


def _back(request, event, alarm) -> str:
    target = request.POST.get("next", "")
    list_url = reverse("alerts:alarm_list", args=[event.code])
    if target.startswith(list_url):
        return target
    return reverse("alerts:alarm_detail", args=[event.code, alarm.pk])


@require_POST
@event_view
def alarm_acknowledge(request, event, pk: int):
    alarm = _alarm(request, event, pk)
    form = AcknowledgeForm(request.POST)
    form.is_valid()
    try:
        services.alarm_acknowledge(
            actor=request.user, alarm=alarm, note=form.cleaned_data.get("note", "")
        )
        messages.success(request, _("Alarm %(id)s acknowledged.") % {"id": alarm.pk})
    except (ValidationError, PermissionDenied) as exc:
        _refuse_message(request, exc)
    return redirect(_back(request, event, alarm))


@require_POST
@event_view
def alarm_clear(request, event, pk: int):
    alarm = _alarm(request, event, pk)
    form = ClearForm(request.POST)
    if form.is_valid():
        try:
            services.alarm_clear(actor=request.user, alarm=alarm, note=form.cleaned_data["note"])
            messages.success(request, _("Alarm %(id)s cleared.") % {"id": alarm.pk})
            return redirect(_back(request, event, alarm))
        except (ValidationError, PermissionDenied) as exc:
            _refuse_message(request, exc)
    else:
        messages.error(request, _("Say why you clear the alarm by hand."))
    return redirect(reverse("alerts:alarm_detail", args=[event.code, alarm.pk]))


@require_POST
@event_view
def alarm_assign(request, event, pk: int):
    alarm = _alarm(request, event, pk)
    form = AssignForm(request.POST, prefix="assign")
    form.is_valid()
    username = (form.cleaned_data.get("assignee") or "").strip()
    try:
        assignee = selectors.person_in_event(event, username) if username else None
        services.alarm_assign(actor=request.user, alarm=alarm, assignee=assignee)
        messages.success(request, _("Alarm %(id)s assigned.") % {"id": alarm.pk})
    except (ValidationError, PermissionDenied) as exc:
        _refuse_message(request, exc)
    return redirect(reverse("alerts:alarm_detail", args=[event.code, alarm.pk]))


@require_POST
@event_view
def alarm_comment(request, event, pk: int):
    alarm = _alarm(request, event, pk)
    form = CommentForm(request.POST, prefix="comment")
    form.is_valid()
    try:
        services.alarm_comment(
            actor=request.user, alarm=alarm, text=form.cleaned_data.get("text", "")
        )
    except (ValidationError, PermissionDenied) as exc:
        _refuse_message(request, exc)
    return redirect(reverse("alerts:alarm_detail", args=[event.code, alarm.pk]))


# ---------------------------------------------------------------- rules


@event_view
def rule_list(request, event):
    filters, filter_errors = parse_filters(selectors.RuleFilters, request.GET)
    rules = list(selectors.rule_list(user=request.user, event=event, filters=filters))
    for rule in rules:
        rule.summary = describe_params(rule.kind, rule.params)
        rule.available = selectors.rule_available(rule)
        rule.may_change = access.allows(request.user, CHANGE, rule)
    return render(
        request,
        "alerts/rule_list.html",
        {
            "event": event,
            "rules": rules,
            "filters": filters,
            "filter_errors": filter_errors,
            "query": query_of(request),
            "sources": Source.choices,
            "kinds": RuleKind.choices,
            "severities": Severity.choices,
            "may_install": _may_change_alarms(request.user, event)
            and not Rule.objects.filter(event=event).exists(),
        },
    )


@event_view
def rule_edit(request, event, pk: int):
    rule = get_scoped_or_404(request.user, Rule, event=event, pk=pk)
    if not access.allows(request.user, CHANGE, rule):
        raise PermissionDenied(_("You may not change this rule."))
    form = RuleForm(request.POST or None, rule=rule)
    if request.method == "POST" and form.is_valid():
        try:
            services.rule_update(actor=request.user, rule=rule, **form.changes())
            messages.success(request, _("Rule “%(name)s” saved.") % {"name": rule.name})
            return redirect("alerts:rule_list", event.code)
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
    return render(
        request,
        "alerts/rule_form.html",
        {"event": event, "rule": rule, "form": form, "available": selectors.rule_available(rule)},
    )


def _set_enabled(request, event, pk: int, enabled: bool):
    rule = get_scoped_or_404(request.user, Rule, event=event, pk=pk)
    try:
        if enabled:
            services.rule_enable(actor=request.user, rule=rule)
            messages.success(request, _("Rule “%(name)s” enabled.") % {"name": rule.name})
        else:
            services.rule_disable(actor=request.user, rule=rule)
            messages.success(request, _("Rule “%(name)s” disabled.") % {"name": rule.name})
    except (ValidationError, PermissionDenied) as exc:
        _refuse_message(request, exc)
    return redirect("alerts:rule_list", event.code)


@require_POST
@event_view
def rule_enable(request, event, pk: int):
    return _set_enabled(request, event, pk, True)


@require_POST
@event_view
def rule_disable(request, event, pk: int):
    return _set_enabled(request, event, pk, False)


@require_POST
@event_view
def rules_install_defaults(request, event):
    try:
        created = services.rules_install_defaults(actor=request.user, event=event)
        messages.success(request, _("%(n)d rules added.") % {"n": len(created)})
    except (ValidationError, PermissionDenied) as exc:
        _refuse_message(request, exc)
    return redirect("alerts:rule_list", event.code)
