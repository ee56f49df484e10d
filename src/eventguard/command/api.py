"""The unified-command JSON API: work orders and their steps, escalation chains, alarm
statistics, notification preferences and feed, webhooks and their delivery log.

The work-order list shares its filters with the page (``selectors.WorkOrderFilters``); a work
order out of the caller's scope answers 404."""

from __future__ import annotations

from typing import Annotated, Literal

from django.http import HttpRequest
from ninja import Query, Router, Status

from eventguard.alerts import selectors as alert_selectors
from eventguard.core import selectors as core_selectors
from eventguard.core.access import get_scoped_or_404
from eventguard.core.schemas import ErrorOut, PageParams

from . import selectors, services
from .schemas import (
    ChainIn,
    DeliveryOut,
    EmailDeliveryOut,
    LevelOut,
    NotificationOut,
    PreferenceIn,
    PreferenceOut,
    StatisticOut,
    WebhookCreatedOut,
    WebhookIn,
    WebhookOut,
    WebhookUpdateIn,
    WorkOrderDetailOut,
    WorkOrderIn,
    WorkOrderPage,
    WorkStepIn,
)

router = Router(tags=["command"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}
EventCode = Annotated[str, Query(description="The event's code.")]


def _event(request: HttpRequest, code: str):
    return core_selectors.event_by_code(request.user, code)


def _work(request: HttpRequest, work_id: int):
    return get_scoped_or_404(
        request.user, selectors.work_order_detail_queryset(request.user), pk=work_id
    )


# ---------------------------------------------------------------- work orders


@router.get("/work-orders", response={200: WorkOrderPage, **ERRORS}, summary="Work orders")
def work_order_list(
    request,
    filters: Query[selectors.WorkOrderFilters],
    page: Query[PageParams],
    event: Annotated[str | None, Query(description="The event's code; all mine if empty.")] = None,
):
    """Soonest deadline first; ``overdue=true`` lists the open ones past their deadline."""
    event_obj = _event(request, event) if event else None
    qs = selectors.work_order_list(user=request.user, event=event_obj, filters=filters)
    return {"count": qs.count(), "items": list(qs[page.offset : page.offset + page.limit])}


@router.post(
    "/work-orders", response={201: WorkOrderDetailOut, **ERRORS}, summary="Dispatch a work order"
)
def work_order_dispatch(request, payload: WorkOrderIn):
    from eventguard.alerts.selectors import alarm_detail_queryset
    from eventguard.hazards.models import Hazard

    alarm = hazard = None
    if payload.alarm is not None:
        alarm = get_scoped_or_404(
            request.user, alarm_detail_queryset(request.user), pk=payload.alarm
        )
        event = alarm.event
    elif payload.hazard is not None:
        hazard = get_scoped_or_404(request.user, Hazard, pk=payload.hazard)
        event = hazard.event
    else:
        event = None
    assignee = (
        alert_selectors.person_in_event(event, payload.assignee)
        if payload.assignee and event is not None
        else None
    )
    work = services.work_order_dispatch(
        actor=request.user,
        alarm=alarm,
        hazard=hazard,
        assignee=assignee,
        deadline=payload.deadline,
        instructions=payload.instructions,
        title=payload.title,
    )
    return Status(201, _work(request, work.pk))


@router.get(
    "/work-orders/{work_id}", response={200: WorkOrderDetailOut, **ERRORS}, summary="One work order"
)
def work_order_detail(request, work_id: int):
    return _work(request, work_id)


@router.post(
    "/work-orders/{work_id}/{action}",
    response={200: WorkOrderDetailOut, **ERRORS},
    summary="Accept, arrive at, complete or return a work order",
)
def work_order_step(
    request,
    work_id: int,
    action: Literal["accept", "arrive", "complete", "return"],
    payload: WorkStepIn | None = None,
):
    """Only the assignee moves their work order: dispatched -> accepted -> on site -> done,
    or returned from any open state. ``complete`` and ``return`` need a note."""
    services.work_order_transition(
        actor=request.user,
        work_order=_work(request, work_id),
        action=action,
        note=payload.note if payload else "",
    )
    return _work(request, work_id)


# ---------------------------------------------------------------- escalation


@router.get(
    "/escalation-chains", response={200: list[LevelOut], **ERRORS}, summary="Escalation chains"
)
def escalation_chain_list(request, event: EventCode):
    return list(selectors.escalation_chains(user=request.user, event=_event(request, event)))


@router.put(
    "/escalation-chains",
    response={200: list[LevelOut], **ERRORS},
    summary="Replace the escalation chain of one severity",
)
def escalation_chain_set(request, event: EventCode, payload: ChainIn):
    return services.escalation_chain_set(
        actor=request.user,
        event=_event(request, event),
        severity=payload.severity,
        levels=[level.dict() for level in payload.levels],
    )


@router.get(
    "/alarm-statistics",
    response={200: list[StatisticOut], **ERRORS},
    summary="Alarm statistics per rule, zone or severity",
)
def alarm_statistics(
    request, event: EventCode, by: Literal["rule", "zone", "severity"] = "severity"
):
    """Counts, open counts, mean seconds to acknowledge and to clear."""
    return selectors.alarm_statistics(user=request.user, event=_event(request, event), by=by)


# ---------------------------------------------------------------- notifications


@router.get(
    "/notification-preferences",
    response={200: list[PreferenceOut], **ERRORS},
    summary="My notification preferences",
)
def preference_list(request, event: EventCode):
    return selectors.preferences(user=request.user, event=_event(request, event))


@router.put(
    "/notification-preferences",
    response={200: PreferenceOut, **ERRORS},
    summary="Set what reaches me on one channel",
)
def preference_set(request, event: EventCode, payload: PreferenceIn):
    return services.notification_preference_set(
        actor=request.user, event=_event(request, event), **payload.dict()
    )


@router.get("/notifications", response={200: list[NotificationOut], **ERRORS}, summary="My feed")
def notification_list(request, event: EventCode, after: int = 0):
    return selectors.feed(user=request.user, event=_event(request, event), after=after)


@router.get("/webhooks", response={200: list[WebhookOut], **ERRORS}, summary="Webhooks")
def webhook_list(request, event: EventCode):
    return list(selectors.webhook_list(user=request.user, event=_event(request, event)))


@router.post("/webhooks", response={201: WebhookCreatedOut, **ERRORS}, summary="Add a webhook")
def webhook_create(request, event: EventCode, payload: WebhookIn):
    """The answer carries the signing secret: each body is signed
    ``X-EventGuard-Signature: sha256=<HMAC-SHA256(secret, body) in hex>``."""
    hook = services.webhook_create(
        actor=request.user, event=_event(request, event), **payload.dict()
    )
    return Status(201, hook)


def _webhook(request: HttpRequest, webhook_id: int):
    from .models import Webhook

    return get_scoped_or_404(request.user, Webhook.objects.select_related("event"), pk=webhook_id)


@router.put(
    "/webhooks/{webhook_id}", response={200: WebhookOut, **ERRORS}, summary="Change a webhook"
)
def webhook_update(request, webhook_id: int, payload: WebhookUpdateIn):
    """Name, address and what it is told; the secret is changed by ``rotate-secret``."""
    return services.webhook_update(
        actor=request.user, webhook=_webhook(request, webhook_id), **payload.dict()
    )


@router.post(
    "/webhooks/{webhook_id}/pause", response={200: WebhookOut, **ERRORS}, summary="Pause a webhook"
)
def webhook_pause(request, webhook_id: int):
    """No new deliveries, and the waiting ones are held until it is reactivated."""
    return services.webhook_set_active(
        actor=request.user, webhook=_webhook(request, webhook_id), active=False
    )


@router.post(
    "/webhooks/{webhook_id}/activate",
    response={200: WebhookOut, **ERRORS},
    summary="Reactivate a webhook",
)
def webhook_activate(request, webhook_id: int):
    """What waited while it was paused is posted on the worker's next round."""
    return services.webhook_set_active(
        actor=request.user, webhook=_webhook(request, webhook_id), active=True
    )


@router.post(
    "/webhooks/{webhook_id}/rotate-secret",
    response={200: WebhookCreatedOut, **ERRORS},
    summary="A new signing secret",
)
def webhook_secret_rotate(request, webhook_id: int):
    """The answer carries the new secret, once; every delivery from now on is signed with
    it."""
    return services.webhook_secret_rotate(actor=request.user, webhook=_webhook(request, webhook_id))


@router.post(
    "/webhook-deliveries/{delivery_id}/retry",
    response={200: DeliveryOut, **ERRORS},
    summary="Retry a delivery now",
)
def delivery_retry(request, delivery_id: int):
    """A pending or failed delivery becomes due now; the worker's next round posts it."""
    from .models import WebhookDelivery

    delivery = get_scoped_or_404(request.user, WebhookDelivery, pk=delivery_id)
    return services.webhook_delivery_retry(actor=request.user, delivery=delivery)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response={200: list[DeliveryOut], **ERRORS},
    summary="A webhook's delivery log",
)
def delivery_list(request, webhook_id: int):
    hook = _webhook(request, webhook_id)
    return list(selectors.delivery_list(user=request.user, webhook=hook)[:100])


@router.get(
    "/email-deliveries",
    response={200: list[EmailDeliveryOut], **ERRORS},
    summary="The event's e-mail delivery log",
)
def email_delivery_list(
    request,
    event: EventCode,
    state: Annotated[
        Literal["pending", "delivered", "failed"] | None,
        Query(description="pending, delivered or failed; all if empty."),
    ] = None,
):
    """Each e-mail to one person, its attempts (time, error) and state; a failed one is
    retried with the same backoff as webhooks, at most as many times."""
    return list(
        selectors.email_delivery_list(user=request.user, event=_event(request, event), state=state)[
            :100
        ]
    )
