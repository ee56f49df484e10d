"""The GS1 EPCIS 2.0 REST interface of an event, after the GS1 REST bindings.

``POST /epcis/{event}/capture`` takes an EPCIS 2.0 JSON or JSON-LD document (or one event)
and stores all of its events or none; ``GET /epcis/{event}/events`` answers an
EPCISQueryDocument (filters ``eventType``, ``GE_eventTime``, ``LT_eventTime``,
``EQ_bizStep``, ``MATCH_epc``; pages of ``perPage`` events, the next one named by
``nextPageToken`` in a ``Link: <...>; rel="next"`` header); ``GET
/epcis/{event}/events/{eventID}`` the events with that eventID. Token (Bearer) or session
authentication, as for the rest of the API.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError

from eventguard.api import BearerToken, WebSession
from eventguard.core import selectors as core_selectors
from eventguard.core.access import get_scoped_or_404
from eventguard.core.servicekit import error_dict

from . import selectors, services
from .epcis.documents import query_document
from .models import EpcisCapture

EPCIS_HEADERS = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0"}
CAPTURE_MEDIA_TYPES = ("application/json", "application/ld+json")

epcis_api = NinjaAPI(
    title="EventGuard EPCIS 2.0 interface",
    version="2.0",
    description="GS1 EPCIS 2.0 capture and query, one repository per event.",
    auth=[BearerToken(), WebSession()],
    urls_namespace="epcis",
    docs=Swagger(settings={"validatorUrl": None}),
)


def _json(request, body: dict, status: int = 200, headers: dict | None = None) -> HttpResponse:
    accept = request.headers.get("Accept", "")
    media_type = "application/ld+json" if "application/ld+json" in accept else "application/json"
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type=media_type
    )
    for name, value in {**EPCIS_HEADERS, **(headers or {})}.items():
        response[name] = value
    return response


def _problem(
    request,
    status: int,
    title: str,
    errors: list[dict] | None = None,
    kind: str = "ImplementationException",
) -> HttpResponse:
    body = {
        "type": f"epcisException:{kind}",
        "title": title,
        "status": status,
        "detail": title,
    }
    if errors is not None:
        body["errors"] = errors
    return _json(request, body, status=status)


@epcis_api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    problems = getattr(exc, "problems", None)
    if problems is not None:
        errors = [p.as_dict() for p in problems]
        title = _("The document was refused: nothing was captured.")
    else:
        errors = [
            {"field": field, "message": message}
            for field, messages in error_dict(exc).items()
            for message in messages
        ]
        title = _("The request is not valid.")
    return _problem(request, 400, title, errors, kind="ValidationException")


@epcis_api.exception_handler(PermissionDenied)
def on_permission_denied(request, exc):
    return _problem(
        request, 403, str(exc) or _("You may not do this."), kind="ClientUnauthorizedException"
    )


@epcis_api.exception_handler(Http404)
def on_not_found(request, exc):
    return _problem(request, 404, _("Not found."), kind="NoSuchResourceException")


@epcis_api.exception_handler(AuthenticationError)
def on_unauthenticated(request, exc):
    return _problem(
        request,
        401,
        _("Authentication required: send a Bearer token."),
        kind="UnauthorizedRequestException",
    )


@epcis_api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return _problem(request, exc.status_code, str(exc))


def _event(request, code: str):
    return core_selectors.event_by_code(request.user, code)


CAPTURE_BODY = {
    "requestBody": {
        "required": True,
        "description": "An EPCIS 2.0 document (EPCISDocument) or a single EPCIS event.",
        "content": {media: {"schema": {"type": "object"}} for media in CAPTURE_MEDIA_TYPES},
    }
}


def _reject_constant(name: str):
    raise ValueError(name)


@epcis_api.post(
    "/{event_code}/capture",
    summary="Capture an EPCIS document: all of its events or none",
    openapi_extra=CAPTURE_BODY,
)
def capture(request, event_code: str):
    event = _event(request, event_code)
    media_type = request.content_type or ""
    if media_type not in CAPTURE_MEDIA_TYPES:
        return _problem(
            request,
            415,
            _("Send the document as application/json or application/ld+json."),
            kind="UnsupportedMediaTypeException",
        )
    try:
        document = json.loads(request.body, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        return _problem(
            request,
            400,
            _("The request body is not JSON."),
            [{"field": "$", "message": str(exc)[:200]}],
            kind="ValidationException",
        )
    record = services.epcis_capture(
        actor=request.user, event=event, document=document, media_type=media_type
    )
    location = reverse("epcis:capture_status", args=[event.code, str(record.pk)])
    return _json(
        request,
        {
            "captureID": str(record.pk),
            "eventCount": record.event_count,
            "stepsApplied": record.steps_applied,
        },
        status=201,
        headers={"Location": location},
    )


@epcis_api.get(
    "/{event_code}/capture/{capture_id}",
    summary="The outcome of a capture",
    url_name="capture_status",
)
def capture_status(request, event_code: str, capture_id: str):
    event = _event(request, event_code)
    try:
        record = get_scoped_or_404(request.user, EpcisCapture, event=event, pk=capture_id)
    except ValidationError as exc:  # not a UUID
        raise Http404 from exc
    return _json(
        request,
        {
            "captureID": str(record.pk),
            "createdAt": record.created_at.isoformat(),
            "finishedAt": record.created_at.isoformat(),
            "running": False,
            "success": True,
            "captureErrorBehaviour": "rollback",
            "eventCount": record.event_count,
            "errors": [],
        },
    )


@epcis_api.get(
    "/{event_code}/events",
    summary="Query events: an EPCISQueryDocument, one page at a time",
)
def events(request, event_code: str):
    event = _event(request, event_code)
    query = selectors.epcis_query_of(request.GET)
    rows, token = selectors.epcis_events(user=request.user, event=event, query=query)
    headers = {}
    if token:
        params = request.GET.copy()
        params["nextPageToken"] = token
        url = request.build_absolute_uri(request.path) + "?" + urlencode(params, doseq=True)
        headers["Link"] = f'<{url}>; rel="next"'
    return _json(request, query_document(rows), headers=headers)


@epcis_api.get(
    "/{event_code}/events/{path:event_id}",
    summary="The event(s) with this eventID, as an EPCISQueryDocument",
)
def event_by_id(request, event_code: str, event_id: str):
    event = _event(request, event_code)
    rows = selectors.epcis_event_by_id(user=request.user, event=event, event_id=event_id)
    if not rows:
        raise Http404
    return _json(request, query_document(rows))
