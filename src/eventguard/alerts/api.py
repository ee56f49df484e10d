"""The alerts JSON API: alarms and their workflow, rules listed, edited, enabled, disabled.

The alarm list shares its filters with the alarm page (``selectors.AlarmFilters``); an
alarm out of the caller's scope answers 404, one in scope they may not change 403.
"""

from __future__ import annotations

from typing import Annotated

from django.http import HttpRequest
from ninja import Query, Router, Status

from eventguard.core import selectors as core_selectors
from eventguard.core.access import get_scoped_or_404
from eventguard.core.schemas import ErrorOut, PageParams

from . import selectors, services
from .models import KIND_SOURCE, Rule, RuleKind
from .rules import KIND_PARAMS
from .schemas import (
    AcknowledgeIn,
    AlarmDetailOut,
    AlarmEntryOut,
    AlarmPage,
    AssignIn,
    ClearIn,
    CommentIn,
    RuleIn,
    RuleKindOut,
    RuleOut,
    RulePage,
    RulePatch,
)

router = Router(tags=["alerts"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}
EventCode = Annotated[str, Query(description="The event's code.")]


def _page(queryset, page: PageParams) -> dict:
    return {
        "count": queryset.count(),
        "items": list(queryset[page.offset : page.offset + page.limit]),
    }


def _alarm(request: HttpRequest, alarm_id: int):
    return get_scoped_or_404(
        request.user, selectors.alarm_detail_queryset(request.user), pk=alarm_id
    )


@router.get("/alarms", response={200: AlarmPage, **ERRORS}, summary="Alarms")
def alarm_list(
    request,
    filters: Query[selectors.AlarmFilters],
    page: Query[PageParams],
    event: Annotated[
        str | None, Query(description="The event's code; all my events if empty.")
    ] = None,
):
    """Unacknowledged first, then acknowledged, then cleared; the most severe and the
    latest first within each."""
    event_obj = core_selectors.event_by_code(request.user, event) if event else None
    return _page(selectors.alarm_list(user=request.user, event=event_obj, filters=filters), page)


@router.get("/alarms/{alarm_id}", response={200: AlarmDetailOut, **ERRORS}, summary="One alarm")
def alarm_detail(request, alarm_id: int):
    return _alarm(request, alarm_id)


@router.post(
    "/alarms/{alarm_id}/acknowledge",
    response={200: AlarmDetailOut, **ERRORS},
    summary="Acknowledge an alarm",
)
def alarm_acknowledge(request, alarm_id: int, payload: AcknowledgeIn | None = None):
    alarm = services.alarm_acknowledge(
        actor=request.user, alarm=_alarm(request, alarm_id), note=payload.note if payload else ""
    )
    return _alarm(request, alarm.pk)


@router.post(
    "/alarms/{alarm_id}/clear", response={200: AlarmDetailOut, **ERRORS}, summary="Clear an alarm"
)
def alarm_clear(request, alarm_id: int, payload: ClearIn):
    alarm = services.alarm_clear(
        actor=request.user, alarm=_alarm(request, alarm_id), note=payload.note
    )
    return _alarm(request, alarm.pk)


@router.post(
    "/alarms/{alarm_id}/assign",
    response={200: AlarmDetailOut, **ERRORS},
    summary="Assign an alarm to a person",
)
def alarm_assign(request, alarm_id: int, payload: AssignIn):
    alarm = _alarm(request, alarm_id)
    assignee = (
        selectors.person_in_event(alarm.event, payload.assignee) if payload.assignee else None
    )
    services.alarm_assign(actor=request.user, alarm=alarm, assignee=assignee, note=payload.note)
    return _alarm(request, alarm.pk)


@router.post(
    "/alarms/{alarm_id}/comments",
    response={201: AlarmEntryOut, **ERRORS},
    summary="Comment on an alarm",
)
def alarm_comment(request, alarm_id: int, payload: CommentIn):
    entry = services.alarm_comment(
        actor=request.user, alarm=_alarm(request, alarm_id), text=payload.text
    )
    return Status(201, entry)


@router.get("/rule-kinds", response={200: list[RuleKindOut], **ERRORS}, summary="Kinds of rule")
def rule_kinds(request):
    """Each kind of rule with the parameters it takes."""
    return [
        {
            "kind": kind.value,
            "label": str(kind.label),
            "source": KIND_SOURCE[kind].value,
            "params": [
                {
                    "name": p.name,
                    "label": str(p.label),
                    "type": p.type,
                    "required": p.required,
                    "default": p.default,
                    "choices": [list(c) for c in p.choice_list()],
                    "help": str(p.help),
                }
                for p in KIND_PARAMS[kind]
            ],
        }
        for kind in RuleKind
    ]


@router.get("/rules", response={200: RulePage, **ERRORS}, summary="Rules of an event")
def rule_list(
    request, event: EventCode, filters: Query[selectors.RuleFilters], page: Query[PageParams]
):
    event_obj = core_selectors.event_by_code(request.user, event)
    return _page(selectors.rule_list(user=request.user, event=event_obj, filters=filters), page)


@router.post("/rules", response={201: RuleOut, **ERRORS}, summary="Add a rule")
def rule_create(request, payload: RuleIn):
    event = core_selectors.event_by_code(request.user, payload.event)
    fields = payload.model_dump(exclude={"event", "kind", "severity"})
    rule = services.rule_create(
        actor=request.user,
        event=event,
        kind=payload.kind.value,
        severity=payload.severity.value,
        **fields,
    )
    return Status(201, rule)


@router.get("/rules/{rule_id}", response={200: RuleOut, **ERRORS}, summary="One rule")
def rule_detail(request, rule_id: int):
    return get_scoped_or_404(request.user, Rule.objects.select_related("event"), pk=rule_id)


@router.patch("/rules/{rule_id}", response={200: RuleOut, **ERRORS}, summary="Change a rule")
def rule_patch(request, rule_id: int, payload: RulePatch):
    rule = get_scoped_or_404(request.user, Rule.objects.select_related("event"), pk=rule_id)
    changes = payload.model_dump(exclude_unset=True)
    if changes.get("severity") is not None:
        changes["severity"] = str(changes["severity"])
    return services.rule_update(actor=request.user, rule=rule, **changes)


@router.post("/rules/{rule_id}/enable", response={200: RuleOut, **ERRORS}, summary="Enable a rule")
def rule_enable(request, rule_id: int):
    rule = get_scoped_or_404(request.user, Rule.objects.select_related("event"), pk=rule_id)
    return services.rule_enable(actor=request.user, rule=rule)


@router.post(
    "/rules/{rule_id}/disable", response={200: RuleOut, **ERRORS}, summary="Disable a rule"
)
def rule_disable(request, rule_id: int):
    rule = get_scoped_or_404(request.user, Rule.objects.select_related("event"), pk=rule_id)
    return services.rule_disable(actor=request.user, rule=rule)
