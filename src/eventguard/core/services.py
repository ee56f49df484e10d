"""Every write of the registry: events, zones, unit categories, units, people, roles, tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import zoneinfo
from collections.abc import Iterable

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import access
from .access import CHANGE, require
from .audit import audit, snapshot
from .bus import publish
from .models import (
    ZONE_KIND_DEPTH,
    ApiToken,
    Domain,
    Event,
    RoleAssignment,
    Unit,
    UnitCategory,
    User,
    Zone,
)
from .servicekit import apply_changes, save_validated

# ---------------------------------------------------------------- helpers


def _require_admin(actor: User | None, event: Event | None) -> None:
    """Role and people management is for administrators only (of the event, or superusers)."""
    if actor is None or access.is_superuser(actor):
        return
    if event is not None and access.is_event_admin(actor, event):
        return
    if (
        event is None
        and actor.is_authenticated
        and actor.assignments.filter(role="admin", is_active=True).exists()
    ):
        return
    raise PermissionDenied(_("Only administrators may manage people and roles."))


def _validate_time_zone(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(
            {"time_zone": _("Unknown time zone “%(tz)s”.") % {"tz": name}}
        ) from exc


# ---------------------------------------------------------------- events

EVENT_EDITABLE = {"name_zh", "name_en", "time_zone", "preparation_start", "opening", "closing"}


def event_create(
    *,
    actor: User | None,
    code: str,
    name_zh: str,
    name_en: str,
    preparation_start: dt.date,
    opening: dt.date,
    closing: dt.date,
    time_zone: str = "Asia/Shanghai",
) -> Event:
    if actor is not None and not access.is_superuser(actor):
        raise PermissionDenied(_("Only superusers may create events."))
    with transaction.atomic():
        _validate_time_zone(time_zone)
        event = Event(
            code=code,
            name_zh=name_zh,
            name_en=name_en,
            time_zone=time_zone,
            preparation_start=preparation_start,
            opening=opening,
            closing=closing,
        )
        save_validated(event)
        audit(actor=actor, action="event.create", obj=event, after=snapshot(event))
        publish("core.event.created", event_id=event.pk)
    return event


def event_update(*, actor: User | None, event: Event, **changes) -> Event:
    """The event's names, time zone and phases: for its administrators only (a zone- or
    domain-scoped supervisor holds part of the event, not the event)."""
    if actor is not None and not access.is_event_admin(actor, event):
        raise PermissionDenied(_("Only the event's administrators may change the event."))
    with transaction.atomic():
        # Locked first: a role given meanwhile in the event waits for this change, so that
        # the access stamps renewed below reach its person too.
        list(Event.objects.select_for_update().filter(pk=event.pk).values_list("pk"))
        if "time_zone" in changes:
            _validate_time_zone(changes["time_zone"])
        before = snapshot(event)
        changed = apply_changes(event, changes, editable=EVENT_EDITABLE)
        if not changed:
            return event
        save_validated(event, update_fields=changed)
        # Grants hold their event (each request's own copy): its people read it afresh.
        access.access_changed(event=event)
        audit(actor=actor, action="event.update", obj=event, before=before, after=snapshot(event))
        publish("core.event.updated", event_id=event.pk, fields=changed)
    return event


# ---------------------------------------------------------------- zones

ZONE_EDITABLE = {"parent", "kind", "code", "name_zh", "name_en", "is_core_area"}


def _check_zone_tree(zone: Zone) -> None:
    parent = zone.parent
    if parent is None:
        if zone.kind != "venue":
            raise ValidationError({"parent": _("Only a venue may stand at the top of the tree.")})
        return
    if parent.event_id != zone.event_id:
        raise ValidationError({"parent": _("The parent zone belongs to another event.")})
    if zone.pk and (parent.pk == zone.pk or parent.path.startswith(zone.path or "\0")):
        raise ValidationError({"parent": _("A zone cannot be placed under itself.")})
    if ZONE_KIND_DEPTH[zone.kind] <= ZONE_KIND_DEPTH[parent.kind]:
        raise ValidationError(
            {
                "kind": _("A %(kind)s cannot be placed under a %(parent)s.")
                % {"kind": zone.get_kind_display(), "parent": parent.get_kind_display()}
            }
        )


def zone_create(
    *,
    actor: User | None,
    event: Event,
    kind: str,
    code: str,
    name_zh: str,
    name_en: str = "",
    parent: Zone | None = None,
    is_core_area: bool = False,
) -> Zone:
    with transaction.atomic():
        zone = Zone(
            event=event,
            kind=kind,
            code=code,
            name_zh=name_zh,
            name_en=name_en,
            parent=parent,
            is_core_area=is_core_area,
        )
        # A zone-scoped supervisor may add zones under the zones they hold.
        zone.path = parent.path if parent is not None else ""
        require(actor, CHANGE, zone)
        zone.full_clean(exclude=["path"])
        _check_zone_tree(zone)
        save_validated(zone, exclude=["path"])
        zone.path = f"{parent.path if parent else '/'}{zone.pk}/"
        zone.save(update_fields=["path"])
        audit(actor=actor, action="zone.create", obj=zone, after=snapshot(zone))
        publish("core.zone.created", zone_id=zone.pk, event_id=event.pk)
    return zone


def zone_update(*, actor: User | None, zone: Zone, **changes) -> Zone:
    with transaction.atomic():
        require(actor, CHANGE, zone)
        before = snapshot(zone)
        changed = apply_changes(zone, changes, editable=ZONE_EDITABLE)
        if not changed:
            return zone
        _check_zone_tree(zone)
        save_validated(zone, update_fields=changed, exclude=["path"])
        if "parent" in changed:
            old_path = zone.path
            new_path = f"{zone.parent.path if zone.parent else '/'}{zone.pk}/"
            for z in Zone.objects.filter(path__startswith=old_path).select_for_update():
                z.path = new_path + z.path[len(old_path) :]
                z.save(update_fields=["path"])
            zone.path = new_path
            # Grants hold their zones' paths.
            access.access_changed(event=zone.event)
        audit(actor=actor, action="zone.update", obj=zone, before=before, after=snapshot(zone))
        publish("core.zone.updated", zone_id=zone.pk, event_id=zone.event_id, fields=changed)
    return zone


# ---------------------------------------------------------------- unit categories

CATEGORY_EDITABLE = {"name_zh", "name_en", "domain", "sort_order", "is_active"}


def unit_category_create(
    *,
    actor: User | None,
    code: str,
    name_zh: str,
    name_en: str,
    domain: str,
    sort_order: int = 100,
) -> UnitCategory:
    if actor is not None and not access.is_superuser(actor):
        raise PermissionDenied(_("Only superusers may change the list of unit categories."))
    with transaction.atomic():
        category = UnitCategory(
            code=code, name_zh=name_zh, name_en=name_en, domain=domain, sort_order=sort_order
        )
        save_validated(category)
        audit(actor=actor, action="unit_category.create", obj=category, after=snapshot(category))
    return category


def unit_category_update(*, actor: User | None, category: UnitCategory, **changes) -> UnitCategory:
    if actor is not None and not access.is_superuser(actor):
        raise PermissionDenied(_("Only superusers may change the list of unit categories."))
    with transaction.atomic():
        before = snapshot(category)
        changed = apply_changes(category, changes, editable=CATEGORY_EDITABLE)
        if changed:
            save_validated(category, update_fields=changed)
            audit(
                actor=actor,
                action="unit_category.update",
                obj=category,
                before=before,
                after=snapshot(category),
            )
    return category


# ---------------------------------------------------------------- units

UNIT_EDITABLE = {
    "category",
    "name_zh",
    "name_en",
    "credit_code",
    "address",
    "zone",
    "contact_name",
    "contact_phone",
    "contact_email",
    "is_active",
    "notes",
}


def _check_unit_refs(unit: Unit) -> None:
    if unit.zone is not None and unit.zone.event_id != unit.event_id:
        raise ValidationError({"zone": _("The zone belongs to another event.")})
    if unit.category_id and not unit.category.is_active and unit._state.adding:
        raise ValidationError({"category": _("This category is no longer in use.")})


def unit_create(
    *,
    actor: User | None,
    event: Event,
    category: UnitCategory,
    name_zh: str,
    credit_code: str,
    name_en: str = "",
    address: str = "",
    zone: Zone | None = None,
    contact_name: str = "",
    contact_phone: str = "",
    contact_email: str = "",
    notes: str = "",
) -> Unit:
    with transaction.atomic():
        unit = Unit(
            event=event,
            category=category,
            name_zh=name_zh,
            name_en=name_en,
            credit_code=(credit_code or "").strip().upper(),
            address=address,
            zone=zone,
            contact_name=contact_name,
            contact_phone=contact_phone,
            contact_email=contact_email,
            notes=notes,
        )
        require(actor, CHANGE, unit)
        _check_unit_refs(unit)
        save_validated(unit)
        audit(actor=actor, action="unit.create", obj=unit, after=snapshot(unit))
        publish("core.unit.created", unit_id=unit.pk, event_id=event.pk)
    return unit


def unit_update(*, actor: User | None, unit: Unit, **changes) -> Unit:
    with transaction.atomic():
        require(actor, CHANGE, unit)
        if "credit_code" in changes:
            changes["credit_code"] = (changes["credit_code"] or "").strip().upper()
        before = snapshot(unit)
        changed = apply_changes(unit, changes, editable=UNIT_EDITABLE)
        if not changed:
            return unit
        # The new values must be within the actor's scope as well (no moving a unit out).
        require(actor, CHANGE, unit)
        _check_unit_refs(unit)
        save_validated(unit, update_fields=changed)
        audit(actor=actor, action="unit.update", obj=unit, before=before, after=snapshot(unit))
        publish("core.unit.updated", unit_id=unit.pk, event_id=unit.event_id, fields=changed)
    return unit


# ---------------------------------------------------------------- people and roles

PERSON_EDITABLE = {"display_name", "email", "phone", "organisation", "language", "is_active"}


def person_create(
    *,
    actor: User | None,
    username: str,
    display_name: str = "",
    email: str = "",
    phone: str = "",
    organisation: str = "",
    language: str = "zh-hans",
    password: str | None = None,
    event: Event | None = None,
) -> User:
    """A person. Without a password they cannot log in until one is set."""
    _require_admin(actor, event)
    with transaction.atomic():
        user = User(
            username=username,
            display_name=display_name,
            email=email,
            phone=phone,
            organisation=organisation,
            language=language,
        )
        if password:
            try:
                validate_password(password, user)
            except ValidationError as exc:
                raise ValidationError({"password": exc.messages}) from exc
            user.set_password(password)
        else:
            user.set_unusable_password()
        save_validated(user)
        audit(actor=actor, action="person.create", obj=user, after=snapshot(user))
    return user


def person_update(*, actor: User | None, user: User, event: Event | None = None, **changes) -> User:
    _require_admin(actor, event)
    with transaction.atomic():
        before = snapshot(user)
        changed = apply_changes(user, changes, editable=PERSON_EDITABLE)
        if changed:
            save_validated(user, update_fields=changed)
            audit(
                actor=actor, action="person.update", obj=user, before=before, after=snapshot(user)
            )
    return user


def person_set_password(*, actor: User | None, user: User, password: str) -> User:
    if actor is not None and actor.pk != user.pk:
        _require_admin(actor, None)
    with transaction.atomic():
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from exc
        user.set_password(password)
        user.save(update_fields=["password"])
        audit(actor=actor, action="person.set_password", obj=user)
    return user


def person_set_language(*, actor: User, language: str) -> User:
    """A person's own choice of language."""
    if language not in {"zh-hans", "en"}:
        raise ValidationError({"language": _("Unknown language.")})
    with transaction.atomic():
        before = snapshot(actor)
        actor.language = language
        actor.save(update_fields=["language"])
        audit(
            actor=actor,
            action="person.set_language",
            obj=actor,
            before=before,
            after=snapshot(actor),
        )
    return actor


def role_assign(
    *,
    actor: User | None,
    user: User,
    event: Event,
    role: str,
    zones: Iterable[Zone] = (),
    domains: Iterable[str] = (),
    unit: Unit | None = None,
) -> RoleAssignment:
    _require_admin(actor, event)
    zones = list(zones)
    domains = sorted(set(domains))
    with transaction.atomic():
        unknown = [d for d in domains if d not in Domain.values]
        if unknown:
            raise ValidationError(
                {"domains": _("Unknown domain: %(names)s.") % {"names": ", ".join(unknown)}}
            )
        if any(z.event_id != event.pk for z in zones):
            raise ValidationError({"zones": _("A zone belongs to another event.")})
        if unit is not None and unit.event_id != event.pk:
            raise ValidationError({"unit": _("The unit belongs to another event.")})
        assignment = RoleAssignment(user=user, event=event, role=role, domains=domains, unit=unit)
        save_validated(assignment)
        assignment.zones.set(zones)
        audit(
            actor=actor,
            action="role.assign",
            obj=assignment,
            after=snapshot(assignment, extra={"zones": [z.code for z in zones]}),
        )
        publish("core.role.assigned", assignment_id=assignment.pk, event_id=event.pk)
        access.access_changed(users=[user])
    return assignment


def role_revoke(*, actor: User | None, assignment: RoleAssignment) -> None:
    _require_admin(actor, assignment.event)
    with transaction.atomic():
        before = snapshot(assignment, extra={"zones": [z.code for z in assignment.zones.all()]})
        pk = assignment.pk
        assignment.delete()
        audit(
            actor=actor,
            action="role.revoke",
            object_type="core.roleassignment",
            object_id=str(pk),
            object_repr=str(before.get("role", "")),
            event_code=assignment.event.code,
            before=before,
        )
        access.access_changed(users=[assignment.user])


# ---------------------------------------------------------------- API tokens

TOKEN_PREFIX = "egt_"


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_create(*, actor: User | None, user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new token for ``user``. The raw token is returned once and never stored."""
    if actor is not None and actor.pk != user.pk:
        _require_admin(actor, None)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken(user=user, name=name, prefix=raw[:12], digest=token_digest(raw))
        save_validated(token)
        audit(
            actor=actor,
            action="token.create",
            obj=token,
            after={"user": user.username, "name": name, "prefix": token.prefix},
        )
    return token, raw


def token_revoke(*, actor: User | None, token: ApiToken) -> ApiToken:
    if actor is not None and actor.pk != token.user_id:
        _require_admin(actor, None)
    with transaction.atomic():
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit(actor=actor, action="token.revoke", obj=token, after={"prefix": token.prefix})
    return token


# ---------------------------------------------------------------- login rate limit


def _login_window() -> dt.timedelta:
    from django.conf import settings

    return dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)


def login_blocked_until(*, username: str, address: str) -> dt.datetime | None:
    """When login attempts for this username or from this address may resume, or None.

    After ``LOGIN_MAX_FAILURES`` failures within the window, for the username OR the
    address, every attempt is refused (even with the right password) until enough of
    those failures have aged out of the window.
    """
    from django.conf import settings

    from .models import LoginFailure

    limit = settings.LOGIN_MAX_FAILURES
    window = _login_window()
    since = timezone.now() - window
    until = None
    for lookup in ({"username": username[:150]}, {"address": address[:64]}):
        if not next(iter(lookup.values())):
            continue
        times = list(
            LoginFailure.objects.filter(at__gt=since, **lookup)
            .order_by("-at")
            .values_list("at", flat=True)[:limit]
        )
        if len(times) >= limit:
            # The oldest of the last ``limit`` failures must leave the window first.
            candidate = times[-1] + window
            until = candidate if until is None else max(until, candidate)
    return until


def login_failure_record(*, username: str, address: str) -> None:
    """Record a failed login (wrong username or password) and drop failures too old to count.

    Written by the system on behalf of an anonymous visitor, hence no acting user.
    """
    from .models import LoginFailure

    now = timezone.now()
    username = (username or "")[:150]
    address = (address or "unknown")[:64]
    with transaction.atomic():
        LoginFailure.objects.filter(at__lte=now - _login_window()).delete()
        failure = LoginFailure(username=username or "-", address=address, at=now)
        save_validated(failure)
        known = User.objects.filter(username=username).only("pk").first()
        audit(
            actor=None,
            action="auth.login_failed",
            object_type="core.user",
            object_id=str(known.pk) if known else "",
            object_repr=username,
            after={"username": username, "address": address},
        )
        publish("core.login.failed", username=username, address=address)
