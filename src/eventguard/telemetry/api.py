"""The telemetry JSON API: devices, the HTTP batch endpoint for devices, statistics.

``POST /api/telemetry/batch`` authenticates the device itself (HTTP Basic, user name
``<event code>/<device id>``, password the device's secret) and goes through the same
ingest service as the MQTT worker.
"""

from __future__ import annotations

import json
from typing import Annotated

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.security import HttpBasicAuth

from eventguard.core import selectors as core_selectors
from eventguard.core import subjects
from eventguard.core.access import get_scoped_or_404
from eventguard.core.schemas import ErrorOut, PageParams

from . import selectors, services
from .models import DeadLetter, Device
from .schemas import (
    BatchOut,
    DeadLetterPage,
    DeviceIn,
    DeviceOut,
    DevicePage,
    DevicePatch,
    DeviceWithSecret,
    StatsOut,
)

router = Router(tags=["telemetry"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}
EventCode = Annotated[str, Query(description="The event's code.")]
MAX_BATCH_ITEMS = 1000


def _page(queryset, page: PageParams) -> dict:
    return {
        "count": queryset.count(),
        "items": list(queryset[page.offset : page.offset + page.limit]),
    }


class DeviceCredentials(HttpBasicAuth):
    """HTTP Basic: user name ``<event code>/<device id>``, password the device's secret."""

    def authenticate(self, request, username, password):
        event_code, sep, device_code = (username or "").partition("/")
        if not sep:
            return None
        device = selectors.device_by_credentials(event_code, device_code, password)
        if device is not None:
            request.device = device
        return device


BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "maxItems": MAX_BATCH_ITEMS,
                    "items": {
                        "type": "object",
                        "required": ["ts", "seq", "kind"],
                        "properties": {
                            "ts": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                            "seq": {"type": "integer"},
                            "kind": {
                                "type": "string",
                                "enum": ["elevator.status", "temperature", "camera.event"],
                            },
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "/telemetry/batch",
    auth=DeviceCredentials(),
    response={200: BatchOut, 400: ErrorOut, 401: ErrorOut},
    summary="A device sends a batch of telemetry messages",
    openapi_extra=BATCH_BODY,
)
def telemetry_batch(request: HttpRequest):
    """Each message is stored, dropped as a duplicate of a stored (device, seq), or kept in
    the dead-letter store with its reason; the response says which, item by item."""
    device: Device = request.device
    event_code = device.event.code
    try:
        items = json.loads(request.body)
    except ValueError:
        items = None
    if not isinstance(items, list):
        services.telemetry_ingest(
            messages=[
                services.Inbound(
                    event_code, device.code, body=request.body, source=DeadLetter.Source.HTTP
                )
            ]
        )
        raise ValidationError({"body": _("Send a JSON array of telemetry messages.")})
    if len(items) > MAX_BATCH_ITEMS:
        raise ValidationError(
            {"body": _("Send at most %(n)d messages at once.") % {"n": MAX_BATCH_ITEMS}}
        )
    messages = [
        services.Inbound(
            event_code,
            device.code,
            data=item,
            body=b"null" if item is None else None,
            source=DeadLetter.Source.HTTP,
        )
        for item in items
    ]
    result = services.telemetry_ingest(messages=messages)
    return {
        "stored": result.stored,
        "duplicates": result.duplicates,
        "dead_letters": sum(result.dead_letters.values()),
        "results": [
            {"index": i, "outcome": outcome, "reason": reason, "detail": detail}
            for i, (outcome, reason, detail) in enumerate(result.outcomes)
        ],
    }


@router.get("/devices", response={200: DevicePage, **ERRORS}, summary="Devices of an event")
def device_list(
    request, event: EventCode, filters: Query[selectors.DeviceFilters], page: Query[PageParams]
):
    qs = selectors.device_list(
        user=request.user, event=core_selectors.event_by_code(request.user, event), filters=filters
    )
    return _page(qs.select_related("event"), page)


@router.post("/devices", response={201: DeviceWithSecret, **ERRORS}, summary="Register a device")
def device_create(request, payload: DeviceIn):
    event = core_selectors.event_by_code(request.user, payload.event)
    label, pk = subjects.parse_key(payload.subject)
    device, secret = services.device_create(
        actor=request.user,
        event=event,
        code=payload.code,
        kind=payload.kind.value,
        subject_type=label,
        subject_id=pk,
        name=payload.name,
        offline_after=payload.offline_after,
    )
    return Status(201, {"device": device, "secret": secret})


@router.get("/devices/{device_id}", response={200: DeviceOut, **ERRORS}, summary="One device")
def device_detail(request, device_id: int):
    return get_scoped_or_404(request.user, Device.objects.select_related("event"), pk=device_id)


@router.patch(
    "/devices/{device_id}", response={200: DeviceOut, **ERRORS}, summary="Change a device"
)
def device_patch(request, device_id: int, payload: DevicePatch):
    device = get_scoped_or_404(request.user, Device.objects.select_related("event"), pk=device_id)
    changes = payload.model_dump(exclude_unset=True)
    return services.device_update(actor=request.user, device=device, **changes)


@router.post(
    "/devices/{device_id}/rotate-secret",
    response={200: DeviceWithSecret, **ERRORS},
    summary="Give a device a new secret",
)
def device_rotate_secret(request, device_id: int):
    device = get_scoped_or_404(request.user, Device.objects.select_related("event"), pk=device_id)
    device, secret = services.device_rotate_secret(actor=request.user, device=device)
    return {"device": device, "secret": secret}


@router.get(
    "/telemetry/dead-letters",
    response={200: DeadLetterPage, **ERRORS},
    summary="Messages refused, with their reason",
)
def dead_letter_list(
    request, event: EventCode, filters: Query[selectors.DeadLetterFilters], page: Query[PageParams]
):
    qs = selectors.dead_letter_list(
        user=request.user, event=core_selectors.event_by_code(request.user, event), filters=filters
    )
    return _page(qs, page)


@router.get(
    "/telemetry/stats",
    response={200: StatsOut, **ERRORS},
    summary="Messages stored, duplicates and dead letters by reason",
)
def telemetry_stats(request, event: EventCode):
    event_obj = core_selectors.event_by_code(request.user, event)
    if not selectors.may_view_monitoring(request.user, event_obj):
        raise PermissionDenied(_("The telemetry statistics are for the monitoring domain."))
    return selectors.telemetry_stats(event_obj)
