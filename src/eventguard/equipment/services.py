"""Every write of special equipment: registry, guarantee testing, fixed posts, patrols and the
city-wide campaign. Bulk services keep the rules of their one-record twins (scope, validation,
audit) for the thousands of rows of a scenario or an import."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Model
from django.utils import timezone
from django.utils.translation import gettext as _

from eventguard.core import access
from eventguard.core.access import CHANGE, VIEW, require
from eventguard.core.audit import Change, audit, audit_many, snapshot
from eventguard.core.bus import publish
from eventguard.core.models import Event, RoleAssignment, Unit, User
from eventguard.core.servicekit import apply_changes, save_validated

from .models import (
    DEFAULT_PATROL_WINDOWS,
    Answer,
    Campaign,
    CampaignRecord,
    ChecklistTemplate,
    Equipment,
    EquipmentKind,
    EquipmentSettings,
    GuaranteeRound,
    GuaranteeTest,
    Patrol,
    PatrolStatus,
    PostShift,
    posted_in_service,
)

# ---------------------------------------------------------------- helpers

SIGN_ON_EARLY = dt.timedelta(minutes=30)


def event_tz(event: Event) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(event.time_zone)


def event_days(event: Event) -> list[dt.date]:
    """The days the event is open, opening to closing."""
    days = []
    day = event.opening
    while day <= event.closing:
        days.append(day)
        day += dt.timedelta(days=1)
    return days


def local_datetime(event: Event, day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=event_tz(event))


def parse_hhmm(text: str) -> dt.time:
    try:
        return dt.time.fromisoformat(str(text).strip())
    except ValueError as exc:
        raise ValidationError(
            {"patrol_windows": _("“%(value)s” is not a time such as 09:30.") % {"value": text}}
        ) from exc


def settings_of(event: Event) -> EquipmentSettings:
    """The event's post and patrol settings, or the defaults (unsaved) when none are stored."""
    stored = EquipmentSettings.objects.filter(event=event).first()
    if stored is not None:
        return stored
    return EquipmentSettings(event=event, patrol_windows=[list(w) for w in DEFAULT_PATROL_WINDOWS])


def patrol_windows(config: EquipmentSettings) -> list[tuple[dt.time, dt.time]]:
    windows = config.patrol_windows or DEFAULT_PATROL_WINDOWS
    return [(parse_hhmm(a), parse_hhmm(b)) for a, b in windows]


def _check_same_event(event_id: int, **refs) -> None:
    errors = {
        name: _("It belongs to another event.")
        for name, ref in refs.items()
        if ref is not None and ref.event_id != event_id
    }
    if errors:
        raise ValidationError(errors)


def _bulk_validate(objs: Sequence[Model]) -> None:
    """Field validation of many new rows; the database's unique and check constraints stay the
    final guard (a violation refuses the whole batch)."""
    errors = []
    for index, obj in enumerate(objs):
        # Relations were handed over as records (no per-row existence query).
        relations = [f.name for f in obj._meta.concrete_fields if f.is_relation]
        try:
            obj.full_clean(exclude=relations, validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            errors.append((index, exc))
    if errors:
        index, exc = errors[0]
        raise ValidationError(
            _("Record %(n)d of %(total)d is not valid: %(error)s")
            % {"n": index + 1, "total": len(objs), "error": "; ".join(exc.messages)}
        )


def _bulk_insert(model, objs: list, *, batch_size: int = 1000) -> list:
    try:
        with transaction.atomic():
            return model.objects.bulk_create(objs, batch_size=batch_size)
    except IntegrityError as exc:
        raise ValidationError(
            _("The records conflict with existing ones: %(error)s") % {"error": exc}
        ) from exc


def _is_member(user: User, event: Event) -> bool:
    return RoleAssignment.objects.filter(user=user, event=event, is_active=True).exists()


# ---------------------------------------------------------------- equipment registry

EQUIPMENT_FIELDS = {
    "code",
    "registration_no",
    "kind",
    "model_name",
    "zone",
    "floor",
    "position",
    "plan_x",
    "plan_y",
    "user_unit",
    "maintenance_unit",
    "last_inspection_on",
    "next_inspection_due",
    "is_core_area",
    "traffic_level",
    "is_active",
}


def _check_equipment(equipment: Equipment) -> None:
    _check_same_event(
        equipment.event_id,
        zone=equipment.zone,
        user_unit=equipment.user_unit if equipment.user_unit_id else None,
        maintenance_unit=equipment.maintenance_unit,
    )


def _new_equipment(event: Event, fields: dict) -> Equipment:
    unknown = sorted(set(fields) - EQUIPMENT_FIELDS)
    if unknown:
        raise ValidationError({name: _("Unknown field.") for name in unknown})
    equipment = Equipment(event=event, **fields)
    if equipment.zone is not None and "is_core_area" not in fields:
        equipment.is_core_area = equipment.zone.is_core_area
    return equipment


def equipment_create(*, actor: User | None, event: Event, **fields) -> Equipment:
    """Register a piece of equipment (code, kind and user unit are required)."""
    with transaction.atomic():
        equipment = _new_equipment(event, fields)
        require(actor, CHANGE, equipment)
        _check_equipment(equipment)
        save_validated(equipment)
        audit(actor=actor, action="equipment.create", obj=equipment, after=snapshot(equipment))
        publish("equipment.equipment.created", equipment_id=equipment.pk, event_id=event.pk)
    return equipment


def equipment_update(*, actor: User | None, equipment: Equipment, **changes) -> Equipment:
    with transaction.atomic():
        require(actor, CHANGE, equipment)
        before = snapshot(equipment)
        changed = apply_changes(equipment, changes, editable=EQUIPMENT_FIELDS - {"code"})
        if not changed:
            return equipment
        require(actor, CHANGE, equipment)  # the new zone and unit must be the actor's too
        _check_equipment(equipment)
        save_validated(equipment, update_fields=changed)
        audit(
            actor=actor,
            action="equipment.update",
            obj=equipment,
            before=before,
            after=snapshot(equipment),
        )
        publish(
            "equipment.equipment.updated",
            equipment_id=equipment.pk,
            event_id=equipment.event_id,
            fields=changed,
        )
    return equipment


def equipment_bulk_create(
    *, actor: User | None, event: Event, items: Sequence[dict]
) -> list[Equipment]:
    """Register many pieces of equipment at once, all or nothing."""
    with transaction.atomic():
        objs = [_new_equipment(event, dict(item)) for item in items]
        codes = [o.code for o in objs]
        if len(set(codes)) != len(codes):
            raise ValidationError({"code": _("An equipment code appears twice.")})
        for obj in objs:
            require(actor, CHANGE, obj)
            _check_equipment(obj)
        _bulk_validate(objs)
        created = _bulk_insert(Equipment, objs)
        audit_many(
            actor=actor,
            changes=[Change(action="equipment.create", obj=o, after=snapshot(o)) for o in created],
        )
        publish("equipment.equipment.bulk_created", event_id=event.pk, count=len(created))
    return created


# ---------------------------------------------------------------- settings


def equipment_settings_set(
    *,
    actor: User | None,
    event: Event,
    open_from: dt.time,
    open_until: dt.time,
    patrol_windows: Sequence[Sequence[str]],
) -> EquipmentSettings:
    with transaction.atomic():
        config = EquipmentSettings.objects.select_for_update().filter(event=event).first()
        creating = config is None
        config = config or EquipmentSettings(event=event)
        require(actor, CHANGE, config)
        before = None if creating else snapshot(config)
        windows = []
        for window in patrol_windows:
            if len(window) != 2:
                raise ValidationError(
                    {"patrol_windows": _("Each patrol window has a start and an end.")}
                )
            start, end = parse_hhmm(window[0]), parse_hhmm(window[1])
            if end <= start:
                raise ValidationError(
                    {"patrol_windows": _("A patrol window must end after it starts.")}
                )
            windows.append((start, end))
        windows.sort()
        if not windows:
            raise ValidationError({"patrol_windows": _("Give at least one patrol window.")})
        for (_s1, e1), (s2, _e2) in zip(windows, windows[1:], strict=False):
            if s2 < e1:
                raise ValidationError({"patrol_windows": _("Patrol windows must not overlap.")})
        config.open_from, config.open_until = open_from, open_until
        config.patrol_windows = [[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in windows]
        save_validated(config)
        audit(
            actor=actor,
            action="equipment_settings.set",
            obj=config,
            before=before,
            after=snapshot(config),
        )
    return config


# ---------------------------------------------------------------- guarantee testing


def guarantee_round_create(
    *,
    actor: User | None,
    event: Event,
    code: str,
    name_zh: str,
    phase: str,
    starts_on: dt.date,
    ends_on: dt.date,
    name_en: str = "",
    covers_equipment: bool = True,
) -> GuaranteeRound:
    with transaction.atomic():
        round_ = GuaranteeRound(
            event=event,
            code=code,
            name_zh=name_zh,
            name_en=name_en,
            phase=phase,
            starts_on=starts_on,
            ends_on=ends_on,
            covers_equipment=covers_equipment,
        )
        require(actor, CHANGE, round_)
        save_validated(round_)
        audit(actor=actor, action="guarantee_round.create", obj=round_, after=snapshot(round_))
    return round_


def _new_test(actor, *, round, unit, equipment, tested_on, result, findings, tester, tester_name):
    test = GuaranteeTest(
        event_id=round.event_id,
        round=round,
        unit=unit,
        equipment=equipment,
        tested_on=tested_on,
        result=result,
        findings=(findings or "").strip(),
        tester=tester,
        tester_name=tester_name or (str(tester) if tester else (str(actor) if actor else "")),
    )
    require(actor, CHANGE, test)
    errors = {}
    if unit.event_id != round.event_id:
        errors["unit"] = _("The unit belongs to another event.")
    elif unit.category.code != "key_guarantee_unit":
        errors["unit"] = _("Guarantee testing is for key guarantee units.")
    if equipment is not None and equipment.user_unit_id != unit.pk:
        errors["equipment"] = _("This equipment is not used by this unit.")
    if not (round.starts_on <= tested_on <= round.ends_on):
        errors["tested_on"] = _("The test date lies outside the round (%(a)s – %(b)s).") % {
            "a": round.starts_on,
            "b": round.ends_on,
        }
    if not test.tester_name:
        errors["tester_name"] = _("Name the tester.")
    if errors:
        raise ValidationError(errors)
    return test


def guarantee_test_record(
    *,
    actor: User | None,
    round: GuaranteeRound,
    unit: Unit,
    tested_on: dt.date,
    result: str,
    equipment: Equipment | None = None,
    findings: str = "",
    tester: User | None = None,
    tester_name: str = "",
) -> GuaranteeTest:
    """The result of guarantee testing a key unit (or one of its pieces of equipment)."""
    with transaction.atomic():
        test = _new_test(
            actor,
            round=round,
            unit=unit,
            equipment=equipment,
            tested_on=tested_on,
            result=result,
            findings=findings,
            tester=tester,
            tester_name=tester_name,
        )
        save_validated(test)
        audit(actor=actor, action="guarantee_test.record", obj=test, after=snapshot(test))
        publish(
            "equipment.guarantee_test.recorded",
            test_id=test.pk,
            event_id=test.event_id,
            result=test.result,
        )
    return test


def guarantee_tests_bulk_record(*, actor: User | None, tests: Sequence[dict]) -> list:
    """Many guarantee test results at once (same rules as :func:`guarantee_test_record`)."""
    with transaction.atomic():
        objs = [
            _new_test(
                actor,
                round=t["round"],
                unit=t["unit"],
                equipment=t.get("equipment"),
                tested_on=t["tested_on"],
                result=t["result"],
                findings=t.get("findings", ""),
                tester=t.get("tester"),
                tester_name=t.get("tester_name", ""),
            )
            for t in tests
        ]
        _bulk_validate(objs)
        created = _bulk_insert(GuaranteeTest, objs)
        audit_many(
            actor=actor,
            changes=[
                Change(action="guarantee_test.record", obj=o, after=snapshot(o)) for o in created
            ],
        )
    return created


# ---------------------------------------------------------------- fixed posts


def _check_post_person(shift: PostShift) -> None:
    person = shift.person
    if not _is_member(person, shift.event):
        raise ValidationError({"person": _("%(p)s holds no role in this event.") % {"p": person}})
    if not access.allows(person, VIEW, shift.equipment):
        raise ValidationError(
            {
                "person": _("%(p)s may not work at %(e)s: it is outside their zones.")
                % {"p": person, "e": shift.equipment.code}
            }
        )


def _overlaps(shifts: Iterable[PostShift]) -> PostShift | None:
    by_person = defaultdict(list)
    for s in shifts:
        by_person[s.person_id].append(s)
    for items in by_person.values():
        items.sort(key=lambda s: s.starts_at)
        for a, b in zip(items, items[1:], strict=False):
            if b.starts_at < a.ends_at:
                return b
    return None


def post_shift_create(
    *,
    actor: User | None,
    equipment: Equipment,
    person: User,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
) -> PostShift:
    with transaction.atomic():
        shift = PostShift(
            event_id=equipment.event_id,
            equipment=equipment,
            person=person,
            starts_at=starts_at,
            ends_at=ends_at,
        )
        require(actor, CHANGE, shift)
        _check_post_person(shift)
        save_validated(shift)
        clash = (
            PostShift.objects.filter(person=person, starts_at__lt=ends_at, ends_at__gt=starts_at)
            .exclude(pk=shift.pk)
            .select_related("equipment")
            .first()
        )
        if clash is not None:
            raise ValidationError(
                {
                    "starts_at": _("%(p)s is already at the post of %(e)s at that time.")
                    % {"p": person, "e": clash.equipment.code}
                }
            )
        audit(actor=actor, action="post_shift.create", obj=shift, after=snapshot(shift))
        publish("equipment.post_shift.created", shift_id=shift.pk, event_id=shift.event_id)
    return shift


def post_shifts_plan(
    *,
    actor: User | None,
    event: Event,
    staffing: Sequence[tuple[Equipment, User]],
    days: Sequence[dt.date] | None = None,
) -> list[PostShift]:
    """A shift over the daily open period of every event day for each (equipment, person).

    Idempotent: shifts that exist already are left as they are."""
    config = settings_of(event)
    days = list(days or event_days(event))
    with transaction.atomic():
        wanted = []
        for equipment, person in staffing:
            for day in days:
                wanted.append(
                    PostShift(
                        event=event,
                        equipment=equipment,
                        person=person,
                        starts_at=local_datetime(event, day, config.open_from),
                        ends_at=local_datetime(event, day, config.open_until),
                    )
                )
        persons = {p.pk: p for _e, p in staffing}
        checked = set()
        for shift in wanted:
            require(actor, CHANGE, shift)
            key = (shift.equipment_id, shift.person_id)
            if key not in checked:
                _check_post_person(shift)
                checked.add(key)
        if not wanted:
            return []
        span_start = min(s.starts_at for s in wanted)
        span_end = max(s.ends_at for s in wanted)
        existing = list(
            PostShift.objects.filter(
                person_id__in=persons, starts_at__lt=span_end, ends_at__gt=span_start
            )
        )
        have = {(s.equipment_id, s.person_id, s.starts_at) for s in existing}
        new = [s for s in wanted if (s.equipment_id, s.person_id, s.starts_at) not in have]
        clash = _overlaps([*existing, *new])
        if clash is not None:
            raise ValidationError(
                {
                    "person": _("%(p)s would stand at two posts at %(t)s.")
                    % {
                        "p": persons.get(clash.person_id, clash.person_id),
                        "t": timezone.localtime(clash.starts_at).strftime("%Y-%m-%d %H:%M"),
                    }
                }
            )
        _bulk_validate(new)
        created = _bulk_insert(PostShift, new)
        audit_many(
            actor=actor,
            changes=[Change(action="post_shift.create", obj=s, after=snapshot(s)) for s in created],
        )
        publish("equipment.post_shift.planned", event_id=event.pk, count=len(created))
    return created


def _sign_check(actor: User | None, shift: PostShift) -> None:
    require(actor, CHANGE, shift)
    if actor is not None and actor.pk != shift.person_id:
        raise PermissionDenied(_("Only the person on this shift may sign on and off."))


def shift_sign_on(
    *, actor: User | None, shift: PostShift, at: dt.datetime | None = None
) -> PostShift:
    with transaction.atomic():
        shift = (
            PostShift.objects.select_for_update(of=("self",))
            .select_related("equipment")
            .get(pk=shift.pk)
        )
        _sign_check(actor, shift)
        if at is not None and actor is not None:
            raise PermissionDenied(_("Only the system may record another time than now."))
        when = at or timezone.now()
        if shift.signed_on_at is not None:
            raise ValidationError(
                {
                    "shift": _("Already signed on at %(t)s.")
                    % {"t": timezone.localtime(shift.signed_on_at).strftime("%H:%M")}
                }
            )
        if when < shift.starts_at - SIGN_ON_EARLY or when >= shift.ends_at:
            raise ValidationError(
                {
                    "shift": _("This shift runs %(a)s – %(b)s; sign on from 30 minutes before.")
                    % {
                        "a": timezone.localtime(shift.starts_at).strftime("%m-%d %H:%M"),
                        "b": timezone.localtime(shift.ends_at).strftime("%H:%M"),
                    }
                }
            )
        before = snapshot(shift)
        shift.signed_on_at = when
        save_validated(shift, update_fields=["signed_on_at"])
        audit(
            actor=actor,
            action="post_shift.sign_on",
            obj=shift,
            before=before,
            after=snapshot(shift),
        )
        publish(
            "equipment.post_shift.signed_on",
            shift_id=shift.pk,
            event_id=shift.event_id,
            equipment_id=shift.equipment_id,
        )
    return shift


def shift_sign_off(
    *, actor: User | None, shift: PostShift, at: dt.datetime | None = None
) -> PostShift:
    with transaction.atomic():
        shift = (
            PostShift.objects.select_for_update(of=("self",))
            .select_related("equipment")
            .get(pk=shift.pk)
        )
        _sign_check(actor, shift)
        if at is not None and actor is not None:
            raise PermissionDenied(_("Only the system may record another time than now."))
        when = at or timezone.now()
        if shift.signed_on_at is None:
            raise ValidationError({"shift": _("Sign on first.")})
        if shift.signed_off_at is not None:
            raise ValidationError({"shift": _("Already signed off.")})
        before = snapshot(shift)
        shift.signed_off_at = max(when, shift.signed_on_at)
        save_validated(shift, update_fields=["signed_off_at"])
        audit(
            actor=actor,
            action="post_shift.sign_off",
            obj=shift,
            before=before,
            after=snapshot(shift),
        )
        publish(
            "equipment.post_shift.signed_off",
            shift_id=shift.pk,
            event_id=shift.event_id,
            equipment_id=shift.equipment_id,
        )
    return shift


def post_shifts_bulk_attendance(
    *, actor: User | None, attendance: Sequence[tuple[PostShift, dt.datetime, dt.datetime | None]]
) -> int:
    """Record sign-on and sign-off times of many past shifts (history, by the system)."""
    if actor is not None:
        raise PermissionDenied(_("Only the system may record attendance in bulk."))
    with transaction.atomic():
        changes, rows = [], []
        for shift, signed_on, signed_off in attendance:
            before = {"signed_on_at": shift.signed_on_at, "signed_off_at": shift.signed_off_at}
            if signed_off is not None and signed_off < signed_on:
                raise ValidationError({"signed_off_at": _("Sign off comes after sign on.")})
            shift.signed_on_at, shift.signed_off_at = signed_on, signed_off
            rows.append(shift)
            changes.append(
                Change(
                    action="post_shift.attendance",
                    obj=shift,
                    before=before,
                    after={"signed_on_at": signed_on, "signed_off_at": signed_off},
                    event_code=shift.event.code,
                )
            )
        # One short UPDATE a row is quicker than bulk_update's CASE over thousands of rows.
        for shift in rows:
            PostShift.objects.filter(pk=shift.pk).update(
                signed_on_at=shift.signed_on_at, signed_off_at=shift.signed_off_at
            )
        audit_many(actor=actor, changes=changes)
    return len(rows)


# ---------------------------------------------------------------- patrol checklists


def checklist_publish(
    *,
    actor: User | None,
    event: Event,
    code: str,
    name_zh: str,
    kinds: Sequence[str],
    items: Sequence[dict],
    name_en: str = "",
) -> ChecklistTemplate:
    """Publish a checklist; an existing code gets a new version (patrols keep the old one)."""
    with transaction.atomic():
        clean_items, seen = [], set()
        for item in items:
            item_code = str(item.get("code", "")).strip()
            text_zh = str(item.get("text_zh", "")).strip()
            text_en = str(item.get("text_en", "")).strip()
            if not item_code or not (text_zh or text_en):
                raise ValidationError({"items": _("Every item needs a code and a text.")})
            if item_code in seen:
                raise ValidationError(
                    {"items": _("Item code “%(c)s” appears twice.") % {"c": item_code}}
                )
            seen.add(item_code)
            clean_items.append({"code": item_code, "text_zh": text_zh, "text_en": text_en})
        if not clean_items:
            raise ValidationError({"items": _("A checklist needs at least one item.")})
        valid_kinds = set(EquipmentKind.values)
        bad = [k for k in kinds if k not in valid_kinds]
        if bad or not kinds:
            raise ValidationError({"kinds": _("Choose the kinds of equipment it applies to.")})
        latest = (
            ChecklistTemplate.objects.select_for_update()
            .filter(event=event, code=code)
            .aggregate(v=Max("version"))["v"]
        )
        checklist = ChecklistTemplate(
            event=event,
            code=code,
            version=(latest or 0) + 1,
            name_zh=name_zh,
            name_en=name_en,
            kinds=sorted(set(kinds)),
            items=clean_items,
            created_by=actor,
        )
        require(actor, CHANGE, checklist)
        save_validated(checklist)
        audit(actor=actor, action="checklist.publish", obj=checklist, after=snapshot(checklist))
    return checklist


def current_checklist(event: Event, kind: str) -> ChecklistTemplate | None:
    """The newest version of the checklist that applies to ``kind``."""
    candidates = ChecklistTemplate.objects.filter(event=event).order_by("code", "-version")
    latest = {}
    for checklist in candidates:
        latest.setdefault(checklist.code, checklist)
    for checklist in sorted(latest.values(), key=lambda c: c.code):
        if kind in checklist.kinds:
            return checklist
    return None


# ---------------------------------------------------------------- patrols


def planned_patrols(
    event: Event,
    equipment: Sequence[Equipment],
    days: Sequence[dt.date],
    windows: Sequence[tuple[dt.time, dt.time]] | None = None,
) -> list[Patrol]:
    """The patrols the plan asks for (unsaved): one per equipment, day and patrol window."""
    windows = windows if windows is not None else patrol_windows(settings_of(event))
    bounds = [
        (day, local_datetime(event, day, start), local_datetime(event, day, end))
        for day in days
        for start, end in windows
    ]
    return [
        Patrol(event=event, equipment=item, day=day, window_start=w_start, window_end=w_end)
        for item in equipment
        for day, w_start, w_end in bounds
    ]


def patrol_plan_generate(
    *,
    actor: User | None,
    event: Event,
    days: Sequence[dt.date] | None = None,
    equipment: Sequence[Equipment] | None = None,
) -> int:
    """Plan a patrol of every lift and escalator in every patrol window of the given days
    (default: the event days). Safe to run again and in several workers: a patrol is unique
    per equipment and window start, and existing ones are skipped."""
    days = list(days or event_days(event))
    windows = patrol_windows(settings_of(event))
    with transaction.atomic():
        if equipment is None:
            qs = posted_in_service(event)
            if actor is not None:
                qs = access.scope(actor, qs, event=event, action=CHANGE)
            equipment = list(qs.select_related("zone", "user_unit").order_by("code"))
        else:
            for item in equipment:
                require(actor, CHANGE, item)
        if not equipment or not days:
            return 0
        have = set(
            Patrol.objects.filter(
                event=event, day__in=days, equipment__in=[e.pk for e in equipment]
            ).values_list("equipment_id", "window_start")
        )
        new = [
            p
            for p in planned_patrols(event, equipment, days, windows)
            if (p.equipment_id, p.window_start) not in have
        ]
        _bulk_validate(new)
        # ignore_conflicts: a second worker that planned the same window wins quietly.
        Patrol.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
        if new:
            audit(
                actor=actor,
                action="patrol.plan",
                object_type="equipment.patrol",
                object_repr=_("Patrol plan"),
                event_code=event.code,
                after={
                    "days": [d.isoformat() for d in days],
                    "equipment": len(equipment),
                    "windows": len(windows),
                    "planned": len(new),
                },
            )
            publish("equipment.patrol.planned", event_id=event.pk, count=len(new))
    return len(new)


def patrol_start(*, actor: User | None, equipment: Equipment, person: User | None = None) -> Patrol:
    """Start (or resume) the patrol of ``equipment`` now: the planned patrol whose window is
    open, else an unplanned one. Reached by scanning the equipment's QR label."""
    person = person or actor
    if person is None:
        raise ValidationError({"person": _("Name the person on patrol.")})
    now = timezone.now()
    event = equipment.event
    with transaction.atomic():
        require(actor, CHANGE, equipment)
        checklist = current_checklist(event, equipment.kind)
        if checklist is None:
            raise ValidationError(
                {
                    "checklist": _("No patrol checklist is published for %(kind)s.")
                    % {"kind": equipment.get_kind_display()}
                }
            )
        open_now = Patrol.objects.select_for_update().filter(
            equipment=equipment, status__in=[PatrolStatus.PLANNED, PatrolStatus.IN_PROGRESS]
        )
        patrol = (
            open_now.filter(status=PatrolStatus.IN_PROGRESS, performed_by=person)
            .order_by("-started_at")
            .first()
            or open_now.filter(window_start__lte=now, window_end__gt=now)
            .order_by("window_start")
            .first()
        )
        if patrol is None:
            patrol = Patrol(
                event=event,
                equipment=equipment,
                day=timezone.localtime(now, event_tz(event)).date(),
                window_start=now,
                window_end=now + dt.timedelta(hours=1),
                planned=False,
            )
            require(actor, CHANGE, patrol)
            save_validated(patrol)
        if patrol.status == PatrolStatus.IN_PROGRESS and patrol.performed_by_id == person.pk:
            return patrol
        before = snapshot(patrol)
        patrol.status = PatrolStatus.IN_PROGRESS
        patrol.performed_by = person
        patrol.started_at = now
        patrol.checklist = checklist
        patrol.answers = {}
        save_validated(
            patrol, update_fields=["status", "performed_by", "started_at", "checklist", "answers"]
        )
        audit(actor=actor, action="patrol.start", obj=patrol, before=before, after=snapshot(patrol))
        publish("equipment.patrol.started", patrol_id=patrol.pk, event_id=event.pk)
    return patrol


@dataclass
class Finding:
    """A fault found on a patrol, described well enough to become a hidden danger."""

    description: str
    grade: str = "general"
    photos: list = field(default_factory=list)


def _check_answers(patrol: Patrol, answers: dict, findings: dict) -> None:
    label = _("Patrol of %(e)s") % {"e": patrol.equipment.code}
    valid = set(Answer.values)
    for item in patrol.checklist.items:
        value = answers.get(item["code"])
        text = patrol.checklist.item_text(item)
        if value not in valid:
            raise ValidationError(
                {"answers": _("%(p)s: item “%(i)s” is not answered.") % {"p": label, "i": text}}
            )
        if value == Answer.FAULT:
            finding = findings.get(item["code"])
            if finding is None or not finding.description.strip():
                raise ValidationError(
                    {
                        "findings": _("%(p)s: describe the fault found at “%(i)s”.")
                        % {"p": label, "i": text}
                    }
                )
    unknown = set(answers) - {item["code"] for item in patrol.checklist.items}
    if unknown:
        raise ValidationError(
            {"answers": _("Unknown checklist items: %(c)s.") % {"c": ", ".join(sorted(unknown))}}
        )


def patrol_complete(
    *,
    actor: User | None,
    patrol: Patrol,
    answers: dict[str, str],
    findings: dict[str, Finding] | None = None,
    notes: str = "",
) -> tuple[Patrol, list]:
    """Finish a patrol: every item answered; each fault becomes a hidden danger, in one step."""
    from eventguard.hazards import services as hazard_services

    findings = findings or {}
    with transaction.atomic():
        patrol = (
            Patrol.objects.select_for_update(of=("self",))
            .select_related("equipment__zone", "equipment__user_unit", "checklist", "event")
            .get(pk=patrol.pk)
        )
        require(actor, CHANGE, patrol)
        if patrol.status != PatrolStatus.IN_PROGRESS:
            raise ValidationError(
                {
                    "status": _(
                        "Patrol of %(e)s is %(s)s: start it by scanning the equipment's label."
                    )
                    % {"e": patrol.equipment.code, "s": patrol.get_status_display()}
                }
            )
        if actor is not None and patrol.performed_by_id != actor.pk:
            raise PermissionDenied(_("This patrol was started by someone else."))
        _check_answers(patrol, answers, findings)
        before = snapshot(patrol)
        hazards = []
        for item in patrol.checklist.items:
            if answers.get(item["code"]) != Answer.FAULT:
                continue
            finding = findings[item["code"]]
            description = finding.description.strip()
            hazards.append(
                hazard_services.hazard_report(
                    actor=actor,
                    event=patrol.event,
                    title=f"{patrol.equipment.code} · {description.splitlines()[0][:80]}",
                    description=_("%(finding)s\n(checklist item: %(item)s)")
                    % {"finding": description, "item": patrol.checklist.item_text(item)},
                    grade=finding.grade,
                    source="patrol",
                    source_ref=f"patrol:{patrol.pk}",
                    equipment=patrol.equipment,
                    photos=finding.photos,
                )
            )
        patrol.answers = dict(answers)
        patrol.notes = (notes or "").strip()
        patrol.status = PatrolStatus.COMPLETED
        patrol.completed_at = timezone.now()
        save_validated(patrol, update_fields=["answers", "notes", "status", "completed_at"])
        audit(
            actor=actor,
            action="patrol.complete",
            obj=patrol,
            before=before,
            after=snapshot(patrol, extra={"hazards": [h.pk for h in hazards]}),
        )
        publish(
            "equipment.patrol.completed",
            patrol_id=patrol.pk,
            event_id=patrol.event_id,
            faults=len(hazards),
        )
    return patrol, hazards


@dataclass
class PatrolRecord:
    """A patrol done in the past, for :func:`patrol_bulk_record`."""

    patrol: Patrol
    person: User
    checklist: ChecklistTemplate
    started_at: dt.datetime
    completed_at: dt.datetime
    answers: dict
    notes: str = ""


def patrol_bulk_record(*, actor: User | None, records: Sequence[PatrolRecord]) -> int:
    """Record many patrols done in the past (the scenario, an import of paper records): a
    planned patrol is completed, an unsaved one (see :func:`planned_patrols`) is added
    completed. A fault answer here must be reported as a hidden danger separately."""
    if actor is not None:
        raise PermissionDenied(_("Only the system may record past patrols in bulk."))
    with transaction.atomic():
        rows, changes = [], []
        for record in records:
            patrol = record.patrol
            if patrol.status == PatrolStatus.COMPLETED:
                raise ValidationError(
                    {"status": _("Patrol %(p)s is already completed.") % {"p": patrol}}
                )
            patrol.checklist = record.checklist
            if patrol.equipment.kind not in record.checklist.kinds:
                raise ValidationError(
                    {
                        "checklist": _("%(c)s does not apply to %(e)s.")
                        % {"c": record.checklist, "e": patrol.equipment.code}
                    }
                )
            _check_answers(
                patrol,
                record.answers,
                {
                    code: Finding(description=record.notes or "-")
                    for code, value in record.answers.items()
                    if value == Answer.FAULT
                },
            )
            if not record.started_at <= record.completed_at:
                raise ValidationError({"completed_at": _("A patrol ends after it starts.")})
            patrol.performed_by = record.person
            patrol.started_at = record.started_at
            patrol.completed_at = record.completed_at
            patrol.answers = record.answers
            patrol.notes = record.notes
            patrol.status = PatrolStatus.COMPLETED
            rows.append(patrol)
            changes.append(
                Change(
                    action="patrol.complete",
                    obj=patrol,
                    after={
                        "performed_by": record.person.pk,
                        "checklist": record.checklist.pk,
                        "started_at": record.started_at,
                        "completed_at": record.completed_at,
                        "answers": record.answers,
                    },
                    event_code=patrol.event.code,
                )
            )
        fresh = [p for p in rows if p.pk is None]
        known = [p for p in rows if p.pk is not None]
        _bulk_validate(fresh)
        _bulk_insert(Patrol, fresh)
        Patrol.objects.bulk_update(
            known,
            ["checklist", "performed_by", "started_at", "completed_at", "answers", "notes"]
            + ["status"],
            batch_size=400,
        )
        audit_many(actor=actor, changes=changes)
    return len(rows)


# ---------------------------------------------------------------- city-wide campaign


def campaign_create(
    *,
    actor: User | None,
    event: Event,
    code: str,
    name_zh: str,
    since: dt.date,
    name_en: str = "",
) -> Campaign:
    with transaction.atomic():
        campaign = Campaign(event=event, code=code, name_zh=name_zh, name_en=name_en, since=since)
        require(actor, CHANGE, campaign)
        save_validated(campaign)
        audit(actor=actor, action="campaign.create", obj=campaign, after=snapshot(campaign))
    return campaign


def campaign_record_save(
    *,
    actor: User | None,
    campaign: Campaign,
    district: str,
    period_start: dt.date,
    period_end: dt.date,
    units_inspected: int,
    equipment_sets: int,
    notes: str = "",
) -> tuple[CampaignRecord, bool]:
    """Record (or correct) what the campaign inspected in a district over a period.
    Returns the record and whether it is new."""
    with transaction.atomic():
        district = (district or "").strip()
        record = (
            CampaignRecord.objects.select_for_update()
            .filter(campaign=campaign, district=district, period_start=period_start)
            .first()
        )
        created = record is None
        record = record or CampaignRecord(
            event_id=campaign.event_id,
            campaign=campaign,
            district=district,
            period_start=period_start,
        )
        require(actor, CHANGE, record)
        before = None if created else snapshot(record)
        record.period_end = period_end
        record.units_inspected = units_inspected
        record.equipment_sets = equipment_sets
        record.notes = notes
        if period_start < campaign.since:
            raise ValidationError(
                {
                    "period_start": _("The campaign counts from %(d)s.")
                    % {"d": campaign.since.isoformat()}
                }
            )
        if (
            units_inspected is not None
            and equipment_sets is not None
            and (units_inspected > 0 and equipment_sets < 1)
        ):
            raise ValidationError(
                {"equipment_sets": _("Inspected units cover at least one set of equipment.")}
            )
        save_validated(record)
        audit(
            actor=actor,
            action="campaign_record.create" if created else "campaign_record.update",
            obj=record,
            before=before,
            after=snapshot(record),
        )
        publish("equipment.campaign_record.saved", record_id=record.pk, event_id=record.event_id)
    return record, created
