"""The JSON API: one NinjaAPI, a router per domain, token or session authentication.

Errors are JSON: ``{"detail": message, "errors": [{"field": name, "message": text}]}``.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer, SessionAuth

from .core.models import ApiToken
from .core.servicekit import error_dict
from .core.services import token_digest

LAST_USED_RESOLUTION = dt.timedelta(seconds=60)
PARAMETER_SOURCES = {"body", "query", "path", "header", "cookie", "form", "file"}


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>``; only the token's SHA-256 digest is stored."""

    def authenticate(self, request, token):
        record = (
            ApiToken.objects.select_related("user")
            .filter(digest=token_digest(token), revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        if record is None:
            return None
        now = timezone.now()
        if record.last_used_at is None or now - record.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
        request.user = record.user
        # As on the web pages, a person reads messages in the language they chose.
        if record.user.language:
            translation.activate(record.user.language)
            request.LANGUAGE_CODE = translation.get_language()
        return record.user


class WebSession(SessionAuth):
    """The web session, with the CSRF token for writes.

    Consulted only for a logged-in session and when no Authorization header was sent:
    a caller without credentials, or with a wrong or revoked token, gets 401 (not a CSRF
    refusal, and never a silent fall-back to a session)."""

    def __call__(self, request):
        if "Authorization" in request.headers or not request.user.is_authenticated:
            return None
        return super().__call__(request)


api = NinjaAPI(
    title="EventGuard API",
    version="1",
    description="Market-supervision service guarantee for major events.",
    auth=[BearerToken(), WebSession()],
    urls_namespace="api",
    # Swagger UI's default validator badge would call an outside host.
    docs=Swagger(settings={"validatorUrl": None}),
)


def _errors_response(request, status: int, detail: str, errors: list[dict] | None = None):
    body = {"detail": detail}
    if errors is not None:
        body["errors"] = errors
    return api.create_response(request, body, status=status)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    errors = [
        {"field": field, "message": message}
        for field, messages in error_dict(exc).items()
        for message in messages
    ]
    return _errors_response(request, 400, _("The request is not valid."), errors)


@api.exception_handler(NinjaValidationError)
def on_schema_error(request, exc: NinjaValidationError):
    errors = []
    for error in exc.errors:
        # ("query", "limit"), ("body", "payload", "zone"), ("file", "file"): name the field.
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] in PARAMETER_SOURCES:
            loc = loc[1:]
        if loc and loc[0] == "payload":
            loc = loc[1:]
        errors.append({"field": ".".join(loc) or "__all__", "message": error.get("msg", "")})
    return _errors_response(request, 400, _("The request is not valid."), errors)


@api.exception_handler(PermissionDenied)
def on_permission_denied(request, exc):
    return _errors_response(request, 403, str(exc) or _("You may not do this."))


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return _errors_response(request, 404, _("Not found."))


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request, exc):
    return _errors_response(request, 401, _("Authentication required: send a Bearer token."))


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return _errors_response(request, exc.status_code, str(exc))


def _mount_routers() -> None:
    from .alerts.api import router as alerts_router
    from .coldchain.api import router as coldchain_router
    from .command.api import router as command_router
    from .core.api import router as core_router
    from .equipment.api import router as equipment_router
    from .hazards.api import router as hazards_router
    from .telemetry.api import router as telemetry_router

    api.add_router("", core_router)
    api.add_router("", equipment_router)
    api.add_router("", hazards_router)
    api.add_router("", coldchain_router)
    api.add_router("", telemetry_router)
    api.add_router("", alerts_router)
    api.add_router("", command_router)


_mount_routers()
