"""Every write of dual prevention: risk grading, risk points, hidden dangers and their photos."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from eventguard.core import access
from eventguard.core.access import CHANGE, require
from eventguard.core.audit import Change, audit, audit_many, snapshot
from eventguard.core.bus import publish
from eventguard.core.models import Event, RoleAssignment, Unit, User, Zone
from eventguard.core.servicekit import apply_changes, save_validated

from .models import (
    DEFAULT_ORANGE_FROM,
    DEFAULT_RED_ABOVE,
    DEFAULT_YELLOW_FROM,
    Hazard,
    HazardGrade,
    HazardPhoto,
    HazardSource,
    HazardStatus,
    HazardStep,
    RiskGrading,
    RiskPoint,
)

DEFAULT_PHOTO_MAX_BYTES = 10 * 1024 * 1024

# People of the bureau who assign and verify; unit operators and post staff answer.
REGULATOR_ROLES = frozenset({"admin", "commander", "supervisor", "inspector"})


def _actor_name(actor: User | None) -> str:
    return actor.get_username() if actor is not None else "system"


def _when(actor: User | None, at: dt.datetime | None) -> dt.datetime:
    """Past times are for the system only (the scenario loader, imports of history)."""
    if at is None:
        return timezone.now()
    if actor is not None:
        raise PermissionDenied(_("Only the system may record a step at another time than now."))
    return at


def _is_member(user: User, event: Event) -> bool:
    return RoleAssignment.objects.filter(user=user, event=event, is_active=True).exists()


def is_regulator(actor: User | None, event: Event) -> bool:
    """Whether ``actor`` may assign and verify hidden dangers in ``event``."""
    if actor is None or access.is_superuser(actor):
        return True
    return any(
        g.role in REGULATOR_ROLES and "hazards" in g.domains and g.unit_id is None
        for g in access.grants(actor, event=event, action=CHANGE)
    )


# ---------------------------------------------------------------- risk grading


def grading_of(event: Event) -> RiskGrading:
    """The event's grade bands, or the defaults (unsaved) when none are stored."""
    grading = RiskGrading.objects.filter(event=event).first()
    if grading is None:
        grading = RiskGrading(
            event=event,
            red_above=DEFAULT_RED_ABOVE,
            orange_from=DEFAULT_ORANGE_FROM,
            yellow_from=DEFAULT_YELLOW_FROM,
        )
    return grading


def risk_grading_set(
    *,
    actor: User | None,
    event: Event,
    red_above: Decimal,
    orange_from: Decimal,
    yellow_from: Decimal,
) -> RiskGrading:
    """Change the grade bands; every risk point of the event is graded again."""
    with transaction.atomic():
        grading = RiskGrading.objects.select_for_update().filter(event=event).first()
        creating = grading is None
        if creating:
            grading = grading_of(event)
        require(actor, CHANGE, grading)
        before = None if creating else snapshot(grading)
        grading.red_above = Decimal(red_above)
        grading.orange_from = Decimal(orange_from)
        grading.yellow_from = Decimal(yellow_from)
        if creating:
            save_validated(grading)
        else:
            save_validated(grading, update_fields=["red_above", "orange_from", "yellow_from"])
        changes = [
            Change(action="risk_grading.set", obj=grading, before=before, after=snapshot(grading))
        ]
        regraded = []
        for point in RiskPoint.objects.filter(event=event).select_for_update():
            grade = grading.grade_for(point.score)
            if grade != point.grade:
                changes.append(
                    Change(
                        action="risk_point.regrade",
                        obj=point,
                        before={"grade": point.grade},
                        after={"grade": grade},
                        event_code=event.code,
                    )
                )
                point.grade = grade
                regraded.append(point)
        RiskPoint.objects.bulk_update(regraded, ["grade"], batch_size=500)
        audit_many(actor=actor, changes=changes)
        publish("hazards.risk_grading.changed", event_id=event.pk, regraded=len(regraded))
    return grading


# ---------------------------------------------------------------- risk points

RISK_POINT_EDITABLE = {
    "title",
    "domain",
    "hazard_description",
    "zone",
    "responsible_unit",
    "equipment",
    "likelihood",
    "exposure",
    "consequence",
    "control_measures",
    "responsible_person",
    "review_on",
    "is_active",
}


def lec_score(likelihood, exposure, consequence) -> Decimal:
    """D = L x E x C."""
    product = Decimal(str(likelihood)) * Decimal(str(exposure)) * Decimal(str(consequence))
    return product.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _check_risk_point(point: RiskPoint) -> None:
    event_id = point.event_id
    errors = {}
    if point.zone is not None and point.zone.event_id != event_id:
        errors["zone"] = _("The zone belongs to another event.")
    if point.responsible_unit is not None and point.responsible_unit.event_id != event_id:
        errors["responsible_unit"] = _("The unit belongs to another event.")
    if point.equipment is not None and point.equipment.event_id != event_id:
        errors["equipment"] = _("The equipment belongs to another event.")
    if point.responsible_person is not None and not _is_member(
        point.responsible_person, point.event
    ):
        errors["responsible_person"] = _("The responsible person holds no role in this event.")
    if errors:
        raise ValidationError(errors)


def _grade_point(point: RiskPoint) -> None:
    for name in ("likelihood", "exposure", "consequence"):
        value = getattr(point, name)
        if value in (None, ""):
            raise ValidationError({name: _("Choose a value from the table.")})
        setattr(point, name, Decimal(str(value)))
    point.score = lec_score(point.likelihood, point.exposure, point.consequence)
    point.grade = grading_of(point.event).grade_for(point.score)


def risk_point_create(
    *,
    actor: User | None,
    event: Event,
    code: str,
    title: str,
    hazard_description: str,
    likelihood,
    exposure,
    consequence,
    domain: str = "equipment",
    zone: Zone | None = None,
    responsible_unit: Unit | None = None,
    equipment=None,
    control_measures: str = "",
    responsible_person: User | None = None,
    review_on: dt.date | None = None,
) -> RiskPoint:
    with transaction.atomic():
        if equipment is not None:
            zone = zone or equipment.zone
            responsible_unit = responsible_unit or equipment.user_unit
        point = RiskPoint(
            event=event,
            code=code,
            title=title,
            domain=domain,
            hazard_description=hazard_description,
            zone=zone,
            responsible_unit=responsible_unit,
            equipment=equipment,
            likelihood=likelihood,
            exposure=exposure,
            consequence=consequence,
            control_measures=control_measures,
            responsible_person=responsible_person,
            review_on=review_on,
        )
        require(actor, CHANGE, point)
        _check_risk_point(point)
        _grade_point(point)
        save_validated(point)
        audit(actor=actor, action="risk_point.create", obj=point, after=snapshot(point))
        publish("hazards.risk_point.created", risk_point_id=point.pk, event_id=event.pk)
    return point


def risk_point_update(*, actor: User | None, risk_point: RiskPoint, **changes) -> RiskPoint:
    with transaction.atomic():
        require(actor, CHANGE, risk_point)
        before = snapshot(risk_point)
        for name in ("likelihood", "exposure", "consequence"):
            if name in changes and changes[name] not in (None, ""):
                changes[name] = Decimal(str(changes[name]))
        changed = apply_changes(risk_point, changes, editable=RISK_POINT_EDITABLE)
        if not changed:
            return risk_point
        require(actor, CHANGE, risk_point)
        _check_risk_point(risk_point)
        _grade_point(risk_point)
        save_validated(risk_point, update_fields=[*changed, "score", "grade"])
        audit(
            actor=actor,
            action="risk_point.update",
            obj=risk_point,
            before=before,
            after=snapshot(risk_point),
        )
        publish(
            "hazards.risk_point.updated",
            risk_point_id=risk_point.pk,
            event_id=risk_point.event_id,
            fields=changed,
        )
    return risk_point


# ---------------------------------------------------------------- photos


def _image_type(head: bytes) -> tuple[str, str] | None:
    """The image type by its first bytes, never by its name: (content type, extension)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def photo_max_bytes() -> int:
    return int(getattr(settings, "EVENTGUARD_PHOTO_MAX_BYTES", DEFAULT_PHOTO_MAX_BYTES))


def check_photo(upload) -> tuple[str, str]:
    """Refuse a photo that is too large or is not a JPEG, PNG or WebP image."""
    name = getattr(upload, "name", "") or _("photo")
    limit = photo_max_bytes()
    if upload.size > limit:
        raise ValidationError(
            {
                "photos": _("“%(name)s” is %(size).1f MB; a photo may be at most %(limit).1f MB.")
                % {"name": name, "size": upload.size / 1048576, "limit": limit / 1048576}
            }
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    kind = _image_type(head)
    if kind is None:
        raise ValidationError(
            {"photos": _("“%(name)s” is not a JPEG, PNG or WebP image.") % {"name": name}}
        )
    return kind


def _store_photos(
    *, actor, hazard: Hazard, step: HazardStep, uploads: Iterable, stored: list
) -> list[HazardPhoto]:
    photos = []
    for upload in uploads:
        content_type, ext = check_photo(upload)
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        photo = HazardPhoto(
            hazard=hazard,
            step=step,
            content_type=content_type,
            size=upload.size,
            sha256=digest.hexdigest(),
            uploaded_by=actor,
        )
        photo.file.save(f"{uuid.uuid4().hex}.{ext}", upload, save=False)
        stored.append(photo.file.name)
        save_validated(photo)
        photos.append(photo)
    return photos


def _discard_files(names: list[str]) -> None:
    from django.core.files.storage import default_storage

    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            pass


# ---------------------------------------------------------------- hidden dangers: the workflow


@dataclass(frozen=True)
class Transition:
    to: str
    label: Promise
    regulator_only: bool


# The closed loop, the one table of allowed transitions: (from status, action) -> transition.
TRANSITIONS: dict[tuple[str, str], Transition] = {
    (HazardStatus.REPORTED, "assign"): Transition(
        HazardStatus.ASSIGNED, pgettext_lazy("hazard step", "Assign"), True
    ),
    (HazardStatus.ASSIGNED, "assign"): Transition(
        HazardStatus.ASSIGNED, gettext_lazy("Reassign"), True
    ),
    (HazardStatus.ASSIGNED, "rectify"): Transition(
        HazardStatus.RECTIFIED, gettext_lazy("Rectify"), False
    ),
    (HazardStatus.RECTIFIED, "accept"): Transition(
        HazardStatus.CLOSED, pgettext_lazy("hazard step", "Accept"), True
    ),
    (HazardStatus.RECTIFIED, "reject"): Transition(
        HazardStatus.ASSIGNED, gettext_lazy("Reject"), True
    ),
}
ACTIONS = {
    "assign": gettext_lazy("assign"),
    "rectify": gettext_lazy("rectify"),
    "accept": gettext_lazy("accept"),
    "reject": gettext_lazy("reject"),
}


def actions_from(status: str) -> list[str]:
    return [action for (origin, action) in TRANSITIONS if origin == status]


def actions_for(user: User | None, hazard: Hazard) -> list[str]:
    """The actions ``user`` may take on ``hazard`` now."""
    if not access.allows(user, CHANGE, hazard):
        return []
    regulator = is_regulator(user, hazard.event)
    return [
        action
        for action in actions_from(hazard.status)
        if regulator or not TRANSITIONS[(hazard.status, action)].regulator_only
    ]


def _refuse(hazard: Hazard, field: str, message: str) -> ValidationError:
    return ValidationError(
        {field: _("Hidden danger %(code)s: %(reason)s") % {"code": hazard.code, "reason": message}}
    )


def hazard_transition(
    *,
    actor: User | None,
    hazard: Hazard,
    action: str,
    note: str = "",
    assignee: User | None = None,
    measure: str | None = None,
    deadline: dt.datetime | None = None,
    grade: str | None = None,
    photos: Iterable = (),
    at: dt.datetime | None = None,
) -> Hazard:
    """Apply one step of the closed loop and record it on the hazard's timeline."""
    stored: list[str] = []
    try:
        with transaction.atomic():
            hazard = (
                Hazard.objects.select_for_update(of=("self",))
                .select_related("event", "zone", "unit")
                .get(pk=hazard.pk)
            )
            require(actor, CHANGE, hazard)
            if action not in ACTIONS:
                raise ValidationError({"action": _("Unknown action “%(a)s”.") % {"a": action}})
            transition = TRANSITIONS.get((hazard.status, action))
            if transition is None:
                possible = [
                    str(HazardStatus(origin).label)
                    for (origin, act) in TRANSITIONS
                    if act == action
                ]
                raise _refuse(
                    hazard,
                    "action",
                    _("cannot %(action)s it while it is %(status)s; it must first be %(need)s.")
                    % {
                        "action": ACTIONS[action],
                        "status": hazard.get_status_display(),
                        "need": _(" or ").join(possible),
                    },
                )
            if transition.regulator_only and not is_regulator(actor, hazard.event):
                raise PermissionDenied(
                    _("Hidden danger %(code)s: only the bureau's staff may %(action)s it.")
                    % {"code": hazard.code, "action": ACTIONS[action]}
                )
            when = _when(actor, at)
            before = snapshot(hazard)
            origin = hazard.status
            note = (note or "").strip()
            fields = ["status"]
            if action == "assign":
                measure = (measure if measure is not None else hazard.measure or "").strip()
                assignee = assignee or hazard.assignee
                deadline = deadline or hazard.deadline
                if assignee is None:
                    raise _refuse(hazard, "assignee", _("the responsible person is missing."))
                if not measure:
                    raise _refuse(hazard, "measure", _("the rectification measure is missing."))
                if deadline is None:
                    raise _refuse(hazard, "deadline", _("the deadline is missing."))
                if deadline <= when:
                    raise _refuse(hazard, "deadline", _("the deadline must lie in the future."))
                if not _is_member(assignee, hazard.event):
                    raise _refuse(
                        hazard, "assignee", _("the responsible person holds no role in this event.")
                    )
                hazard.assignee, hazard.measure, hazard.deadline = assignee, measure, deadline
                fields += ["assignee", "measure", "deadline"]
                if grade:
                    hazard.grade = grade
                    fields.append("grade")
            elif action == "rectify":
                if not note:
                    raise _refuse(hazard, "note", _("the rectification evidence is missing."))
                hazard.rectified_at, hazard.rectification_note = when, note
                fields += ["rectified_at", "rectification_note"]
            elif action == "accept":
                hazard.closed_at = when
                fields.append("closed_at")
            elif action == "reject":
                if not note:
                    raise _refuse(hazard, "note", _("the reason for the rejection is missing."))
                hazard.rectified_at, hazard.rectification_note = None, ""
                hazard.rejections += 1
                fields += ["rectified_at", "rectification_note", "rejections"]
            hazard.status = transition.to
            save_validated(hazard, update_fields=fields)
            step = HazardStep.objects.create(
                hazard=hazard,
                action=action,
                from_status=origin,
                to_status=hazard.status,
                actor=actor,
                actor_name=str(actor) if actor is not None else "system",
                at=when,
                note=note,
            )
            _store_photos(actor=actor, hazard=hazard, step=step, uploads=photos, stored=stored)
            audit(
                actor=actor,
                action=f"hazard.{action}",
                obj=hazard,
                before=before,
                after=snapshot(hazard, extra={"note": note}),
            )
            publish(
                f"hazards.hazard.{action}",
                hazard_id=hazard.pk,
                event_id=hazard.event_id,
                status=hazard.status,
                grade=hazard.grade,
            )
    except BaseException:
        _discard_files(stored)
        raise
    return hazard


def hazard_assign(
    *,
    actor: User | None,
    hazard: Hazard,
    assignee: User,
    measure: str,
    deadline: dt.datetime,
    note: str = "",
    grade: str | None = None,
    at: dt.datetime | None = None,
) -> Hazard:
    return hazard_transition(
        actor=actor,
        hazard=hazard,
        action="assign",
        assignee=assignee,
        measure=measure,
        deadline=deadline,
        note=note,
        grade=grade,
        at=at,
    )


def hazard_rectify(
    *,
    actor: User | None,
    hazard: Hazard,
    evidence: str,
    photos: Iterable = (),
    at: dt.datetime | None = None,
) -> Hazard:
    return hazard_transition(
        actor=actor, hazard=hazard, action="rectify", note=evidence, photos=photos, at=at
    )


def hazard_accept(
    *, actor: User | None, hazard: Hazard, note: str = "", at: dt.datetime | None = None
) -> Hazard:
    return hazard_transition(actor=actor, hazard=hazard, action="accept", note=note, at=at)


def hazard_reject(
    *, actor: User | None, hazard: Hazard, reason: str, at: dt.datetime | None = None
) -> Hazard:
    return hazard_transition(actor=actor, hazard=hazard, action="reject", note=reason, at=at)


def hazard_report(
    *,
    actor: User | None,
    event: Event,
    title: str,
    description: str = "",
    grade: str = HazardGrade.GENERAL,
    source: str = HazardSource.MANUAL,
    source_ref: str = "",
    zone: Zone | None = None,
    unit: Unit | None = None,
    equipment=None,
    risk_point: RiskPoint | None = None,
    photos: Iterable = (),
    at: dt.datetime | None = None,
) -> Hazard:
    """A hidden danger found on a patrol, in an inspection, from an alarm or by hand."""
    stored: list[str] = []
    try:
        with transaction.atomic():
            when = _when(actor, at)
            if equipment is not None:
                zone = zone or equipment.zone
                unit = unit or equipment.user_unit
            if risk_point is not None:
                zone = zone or risk_point.zone
                unit = unit or risk_point.responsible_unit
            hazard = Hazard(
                event=event,
                title=(title or "").strip(),
                description=(description or "").strip(),
                grade=grade,
                source=source,
                source_ref=source_ref,
                zone=zone,
                unit=unit,
                equipment=equipment,
                risk_point=risk_point,
                reported_by=actor,
                reported_at=when,
            )
            require(actor, CHANGE, hazard)
            errors = {}
            for name, ref in (
                ("zone", zone),
                ("unit", unit),
                ("equipment", equipment),
                ("risk_point", risk_point),
            ):
                if ref is not None and ref.event_id != event.pk:
                    errors[name] = _("It belongs to another event.")
            if errors:
                raise ValidationError(errors)
            save_validated(hazard)
            step = HazardStep.objects.create(
                hazard=hazard,
                action="report",
                from_status="",
                to_status=hazard.status,
                actor=actor,
                actor_name=str(actor) if actor is not None else "system",
                at=when,
                note=hazard.description,
            )
            _store_photos(actor=actor, hazard=hazard, step=step, uploads=photos, stored=stored)
            audit(actor=actor, action="hazard.report", obj=hazard, after=snapshot(hazard))
            publish(
                "hazards.hazard.reported",
                hazard_id=hazard.pk,
                event_id=event.pk,
                grade=hazard.grade,
                source=hazard.source,
            )
    except BaseException:
        _discard_files(stored)
        raise
    return hazard
