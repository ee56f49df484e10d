"""Every write of the alerts app: rules, alarms raised from every source, their workflow."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from eventguard.core import conditions, subjects
from eventguard.core.access import CHANGE, require
from eventguard.core.audit import Change, audit, audit_many, snapshot
from eventguard.core.bus import publish, subscribe
from eventguard.core.models import Domain, Event, Unit, User, Zone
from eventguard.core.servicekit import apply_changes, save_validated

from . import engine, notes
from .engine import Ending, Occurrence
from .models import (
    KIND_SOURCE,
    OPEN_STATES,
    TIMED_KINDS,
    Alarm,
    AlarmEntry,
    AlarmState,
    Rule,
    RuleKind,
    Source,
)
from .rules import DEFAULT_RULES, POINT_KINDS, clean_params, trigger_of

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------- rules

RULE_EDITABLE = {
    "name_zh",
    "name_en",
    "severity",
    "domain",
    "params",
    "enabled",
    "auto_clear",
    "interval_seconds",
    "ack_within_seconds",
}


def _check_domain(domain: str) -> None:
    if domain not in Domain.values:
        raise ValidationError({"domain": _("Unknown domain.")})


def _after_rules_change() -> None:
    # This process sees the change at once; other processes within the rule book's check
    # interval (alerts/engine.py).
    engine.forget_rulebook()
    transaction.on_commit(engine.forget_rulebook)


def rule_create(
    *,
    actor: User | None,
    event: Event,
    code: str,
    name_zh: str,
    kind: str,
    severity: str,
    params: dict | None = None,
    name_en: str = "",
    domain: str = "monitoring",
    enabled: bool = True,
    auto_clear: bool = True,
    interval_seconds: int = 60,
    ack_within_seconds: int | None = None,
) -> Rule:
    with transaction.atomic():
        if kind not in RuleKind.values:
            raise ValidationError({"kind": _("Unknown kind of rule.")})
        _check_domain(domain)
        cleaned = clean_params(kind, params)
        rule = Rule(
            event=event,
            code=code,
            name_zh=name_zh,
            name_en=name_en,
            kind=kind,
            source=KIND_SOURCE[kind],
            trigger=trigger_of(kind, cleaned),
            params=cleaned,
            severity=severity,
            domain=domain,
            enabled=enabled,
            auto_clear=auto_clear,
            interval_seconds=interval_seconds,
            ack_within_seconds=ack_within_seconds,
        )
        require(actor, CHANGE, rule)
        save_validated(rule)
        audit(actor=actor, action="rule.create", obj=rule, after=snapshot(rule))
        publish("alerts.rule.created", rule_id=rule.pk, event_id=event.pk)
        _after_rules_change()
    return rule


def rule_update(*, actor: User | None, rule: Rule, **changes) -> Rule:
    with transaction.atomic():
        rule = Rule.objects.select_for_update(no_key=True).get(pk=rule.pk)
        require(actor, CHANGE, rule)
        if "params" in changes:
            changes["params"] = clean_params(rule.kind, changes["params"])
        if "domain" in changes:
            _check_domain(changes["domain"])
        before = snapshot(rule)
        changed = apply_changes(rule, changes, editable=RULE_EDITABLE)
        if not changed:
            return rule
        require(actor, CHANGE, rule)  # the new domain must be one the actor holds too
        if "params" in changed:
            rule.trigger = trigger_of(rule.kind, rule.params)
            changed.append("trigger")
        if "interval_seconds" in changed or "enabled" in changed:
            rule.next_run_at = None
            changed.append("next_run_at")
        save_validated(rule, update_fields=changed)
        audit(actor=actor, action="rule.update", obj=rule, before=before, after=snapshot(rule))
        publish("alerts.rule.updated", rule_id=rule.pk, event_id=rule.event_id, fields=changed)
        _after_rules_change()
    return rule


def rule_enable(*, actor: User | None, rule: Rule) -> Rule:
    return rule_update(actor=actor, rule=rule, enabled=True)


def rule_disable(*, actor: User | None, rule: Rule) -> Rule:
    return rule_update(actor=actor, rule=rule, enabled=False)


def rules_install_defaults(*, actor: User | None, event: Event) -> list[Rule]:
    """The default rule set (alerts/rules.py) for an event; rules already there are kept."""
    created = []
    with transaction.atomic():
        existing = set(Rule.objects.filter(event=event).values_list("code", flat=True))
        for spec in DEFAULT_RULES:
            if spec.code in existing:
                continue
            created.append(
                rule_create(
                    actor=actor,
                    event=event,
                    code=spec.code,
                    name_zh=spec.name_zh,
                    name_en=spec.name_en,
                    kind=spec.kind,
                    severity=spec.severity,
                    params=spec.params,
                    domain=spec.domain,
                    interval_seconds=spec.interval_seconds,
                )
            )
    return created


# ---------------------------------------------------------------- the alarm workflow

# One table of what may happen to an alarm in each state.
ALARM_TRANSITIONS: dict[str, dict[str, str]] = {
    AlarmState.ACTIVE: {"acknowledge": AlarmState.ACKNOWLEDGED, "clear": AlarmState.CLEARED},
    AlarmState.ACKNOWLEDGED: {"clear": AlarmState.CLEARED},
    AlarmState.CLEARED: {},
}


def _refusal(alarm: Alarm, action: str) -> str:
    if alarm.state == AlarmState.CLEARED:
        return _("Alarm %(id)s is already cleared (%(when)s).") % {
            "id": alarm.pk,
            "when": timezone.localtime(alarm.cleared_at).strftime("%Y-%m-%d %H:%M:%S"),
        }
    if action == "acknowledge" and alarm.state == AlarmState.ACKNOWLEDGED:
        who = alarm.acknowledged_by or _("someone")
        return _("Alarm %(id)s was already acknowledged by %(who)s at %(when)s.") % {
            "id": alarm.pk,
            "who": who,
            "when": timezone.localtime(alarm.acknowledged_at).strftime("%Y-%m-%d %H:%M:%S"),
        }
    return _("Alarm %(id)s cannot be %(action)s in its state.") % {
        "id": alarm.pk,
        "action": action,
    }


_AUTOMATIC = {"automatic": True, "message": notes.message("alarm.cleared_by_itself")}


def _transition(
    alarm: Alarm,
    action: str,
    *,
    actor: User | None,
    at: dt.datetime,
    note: str = "",
    automatic: bool = False,
) -> tuple[list[str], AlarmEntry]:
    """Apply ``action`` to ``alarm`` per :data:`ALARM_TRANSITIONS`; returns the changed
    fields and the timeline entry (both still to be saved)."""
    target = ALARM_TRANSITIONS[alarm.state].get(action)
    if target is None:
        raise ValidationError(_refusal(alarm, action))
    alarm.state = target
    fields = ["state"]
    if action == "acknowledge":
        alarm.acknowledged_at, alarm.acknowledged_by = at, actor
        fields += ["acknowledged_at", "acknowledged_by"]
        entry_action = AlarmEntry.Action.ACKNOWLEDGED
    else:
        alarm.cleared_at, alarm.cleared_by = at, actor
        alarm.cleared_automatically = automatic
        alarm.clear_note = note
        alarm.condition_active = False if automatic else alarm.condition_active
        fields += [
            "cleared_at",
            "cleared_by",
            "cleared_automatically",
            "clear_note",
            "condition_active",
        ]
        entry_action = AlarmEntry.Action.CLEARED
    entry = AlarmEntry(
        alarm=alarm,
        at=at,
        action=entry_action,
        actor=actor,
        actor_name=actor.get_username() if actor is not None else "system",
        note=note,
        details=_AUTOMATIC if automatic else {},
    )
    return fields, entry


def _alarm_event(alarm: Alarm, name: str, **extra) -> None:
    publish(
        name,
        alarm_id=alarm.pk,
        event_id=alarm.event_id,
        rule_id=alarm.rule_id,
        severity=alarm.severity,
        state=alarm.state,
        subject=alarm.subject_key,
        **extra,
    )


def alarm_acknowledge(*, actor: User | None, alarm: Alarm, note: str = "") -> Alarm:
    with transaction.atomic():
        alarm = Alarm.objects.select_for_update(no_key=True).get(pk=alarm.pk)
        require(actor, CHANGE, alarm)
        before = snapshot(alarm)
        fields, entry = _transition(
            alarm, "acknowledge", actor=actor, at=timezone.now(), note=note.strip()
        )
        save_validated(alarm, update_fields=fields)
        entry.save()
        audit(
            actor=actor, action="alarm.acknowledge", obj=alarm, before=before, after=snapshot(alarm)
        )
        _alarm_event(alarm, "alerts.alarm.acknowledged")
    return alarm


def alarm_clear(*, actor: User | None, alarm: Alarm, note: str) -> Alarm:
    """Clear an alarm by hand; a note saying why is required."""
    with transaction.atomic():
        alarm = Alarm.objects.select_for_update(no_key=True).get(pk=alarm.pk)
        require(actor, CHANGE, alarm)
        note = (note or "").strip()
        if alarm.is_open and not note:
            raise ValidationError(
                {"note": _("Alarm %(id)s: say why you clear it by hand.") % {"id": alarm.pk}}
            )
        before = snapshot(alarm)
        fields, entry = _transition(alarm, "clear", actor=actor, at=timezone.now(), note=note)
        save_validated(alarm, update_fields=fields)
        entry.save()
        audit(actor=actor, action="alarm.clear", obj=alarm, before=before, after=snapshot(alarm))
        _alarm_event(alarm, "alerts.alarm.cleared", automatic=False)
    return alarm


# ---------------------------------------------------------------- alarms from every source


@dataclass
class ApplyResult:
    raised: list[Alarm] = field(default_factory=list)
    repeated: list[Alarm] = field(default_factory=list)
    cleared: list[Alarm] = field(default_factory=list)


def alarms_apply(
    *,
    actor: User | None = None,
    changes: Sequence[Occurrence | Ending] = (),
    occurrences: Sequence[Occurrence] = (),
    endings: Sequence[Ending] = (),
) -> ApplyResult:
    """Turn what the engine saw into alarms: raise, count a repeat, or clear by itself.

    One open alarm per (rule, subject): the rules involved are locked first, so that
    several workers raising the same alarm at once count it instead of doubling it (the
    partial unique index ``alerts_alarm_unique_open_rule_subject`` stands behind that).
    """
    result = ApplyResult()
    # In time order; what happened at the same moment, in the order it was seen.
    items = sorted(chain(changes, occurrences, endings), key=lambda x: x.at)
    if not items:
        return result
    with transaction.atomic():
        rule_ids = sorted({x.rule_id for x in items})
        rules = {
            r.pk: r
            for r in Rule.objects.select_for_update(no_key=True)
            .filter(pk__in=rule_ids)
            .order_by("pk")
            .select_related("event")
        }
        subject_ids = {x.subject.id for x in items}
        open_alarms = {
            (a.rule_id, a.subject_type, a.subject_id): a
            for a in Alarm.objects.select_for_update(no_key=True)
            .filter(rule_id__in=rule_ids, subject_id__in=subject_ids, state__in=OPEN_STATES)
            .order_by("pk")
        }
        changes: list[Change] = []
        entries: list[AlarmEntry] = []
        touched: dict[int, tuple[Alarm, set[str], dict | None]] = {}
        listed: set[int] = set()  # the alarms (by id) raised or repeated so far
        for item in items:
            rule = rules.get(item.rule_id)
            if rule is None or not rule.enabled:
                continue
            key = (rule.pk, item.subject.type, item.subject.id)
            alarm = open_alarms.get(key)
            if isinstance(item, Occurrence):
                point = item.point or rule.kind in POINT_KINDS
                if alarm is None:
                    alarm = _new_alarm(rule, item, point)
                    open_alarms[key] = alarm
                    result.raised.append(alarm)
                    listed.add(id(alarm))
                    continue
                if not point and alarm.condition_active:
                    continue  # the condition already holds (another device, say)
                before = touched.get(id(alarm), (None, None, snapshot(alarm)))[2]
                alarm.count += 1
                alarm.last_at = max(alarm.last_at, item.at)
                alarm.condition_active = not point
                alarm.details = item.details
                fields = {"count", "last_at", "condition_active", "details"}
                _touch(touched, alarm, fields, before)
                entries.append(
                    AlarmEntry(
                        alarm=alarm,
                        at=item.at,
                        action=AlarmEntry.Action.REPEATED,
                        actor_name="system",
                        details=item.details,
                    )
                )
                if id(alarm) not in listed:
                    result.repeated.append(alarm)
                    listed.add(id(alarm))
            else:
                if alarm is None or not alarm.condition_active:
                    continue
                before = touched.get(id(alarm), (None, None, snapshot(alarm)))[2]
                if rule.auto_clear:
                    fields, entry = _transition(
                        alarm, "clear", actor=None, at=max(item.at, alarm.first_at), automatic=True
                    )
                    entry.details = {**item.details, **_AUTOMATIC}
                    alarm.cleared_by_details = item.details  # what ended it, for the notice
                    open_alarms.pop(key)
                    result.cleared.append(alarm)
                else:
                    alarm.condition_active = False
                    fields = ["condition_active"]
                    entry = AlarmEntry(
                        alarm=alarm,
                        at=item.at,
                        action=AlarmEntry.Action.CONDITION_ENDED,
                        actor_name="system",
                        details=item.details,
                    )
                entries.append(entry)
                _touch(touched, alarm, set(fields), before)
        # Updates first (a clear frees its (rule, subject) for an alarm raised after it),
        # then the new alarms, each saved as it stands at the end of the batch.
        for alarm, fields, before in touched.values():
            if alarm.pk is None:
                continue
            # The database holds the alarm's constraints and foreign keys itself; Django's
            # checks of them would cost queries per alarm (save_validated).
            save_validated(alarm, update_fields=sorted(fields), ask_database=False)
            action = "alarm.clear" if alarm.state == AlarmState.CLEARED else "alarm.repeat"
            changes.append(Change(action=action, obj=alarm, before=before, after=snapshot(alarm)))
        for alarm in result.raised:
            save_validated(alarm, ask_database=False)
            changes.append(Change(action="alarm.raise", obj=alarm, after=snapshot(alarm)))
            if alarm.state == AlarmState.CLEARED:
                changes.append(Change(action="alarm.clear", obj=alarm, after=snapshot(alarm)))
            entries.insert(
                0,
                AlarmEntry(
                    alarm=alarm,
                    at=alarm.first_at,
                    action=AlarmEntry.Action.RAISED,
                    actor_name="system",
                    details=alarm.details,
                ),
            )
        for entry in entries:
            entry.alarm_id = entry.alarm.pk
        AlarmEntry.objects.bulk_create(entries)
        audit_many(actor=actor, changes=changes)
        for alarm in result.raised:
            _alarm_event(alarm, "alerts.alarm.raised", rule=alarm.rule.code, details=alarm.details)
        for alarm in result.cleared:
            _alarm_event(
                alarm,
                "alerts.alarm.cleared",
                automatic=True,
                details=getattr(alarm, "cleared_by_details", alarm.details),
            )
    return result


def _touch(touched: dict, alarm: Alarm, fields: set[str], before: dict) -> None:
    known = touched.get(id(alarm))
    if known is None:
        touched[id(alarm)] = (alarm, set(fields), before)
    else:
        known[1].update(fields)


def _new_alarm(rule: Rule, item: Occurrence, point: bool) -> Alarm:
    subject = item.subject
    return Alarm(
        event_id=rule.event_id,
        rule=rule,
        severity=rule.severity,
        domain=rule.domain if rule.domain != "monitoring" else subject.domain or rule.domain,
        state=AlarmState.ACTIVE,
        subject_type=subject.type,
        subject_id=subject.id,
        subject_name=subject.name,
        zone_id=subject.zone_id,
        unit_id=subject.unit_id,
        condition_active=not point,
        count=1,
        first_at=item.at,
        last_at=item.at,
        details=item.details,
    )


# ---------------------------------------------------------------- record rules


def _subject_from_payload(rule: Rule, payload: dict) -> subjects.SubjectRef | None:
    subject_type = rule.params.get("subject_type", "")
    subject_id = payload.get(rule.params.get("subject_key", ""))
    if isinstance(subject_id, bool) or not isinstance(subject_id, int):
        logger.warning("rule %s: payload has no subject id %r", rule.code, payload)
        return None
    if subjects.is_registered(subject_type):
        try:
            return subjects.resolve(subject_type, subject_id)
        except ValidationError:
            logger.warning("rule %s: no %s %s", rule.code, subject_type, subject_id)
            return None
    # The subject's domain is not installed here: keep what the payload says of it.
    zone_id = payload.get("zone_id")
    unit_id = payload.get("unit_id")
    if zone_id is not None and not Zone.objects.filter(pk=zone_id, event=rule.event_id).exists():
        zone_id = None
    if unit_id is not None and not Unit.objects.filter(pk=unit_id, event=rule.event_id).exists():
        unit_id = None
    return subjects.SubjectRef(
        type=subject_type,
        id=subject_id,
        event_id=rule.event_id,
        zone_id=zone_id,
        unit_id=unit_id,
        domain=rule.domain,
        name=f"{subject_type} #{subject_id}",
    )


def _json_scalar(value) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def record_event_received(*, name: str, payload: dict) -> ApplyResult:
    """Evaluate the record rules listening to domain event ``name``."""
    event_id = payload.get("event_id")
    if not isinstance(event_id, int) or name.startswith("alerts."):
        return ApplyResult()
    rules = Rule.objects.filter(
        event_id=event_id, source=Source.RECORD, trigger=name, enabled=True
    ).order_by("pk")
    occurrences = []
    now = timezone.now()
    for rule in rules:
        match = rule.params.get("match") or {}
        if any(payload.get(k) != v for k, v in match.items()):
            continue
        subject = _subject_from_payload(rule, payload)
        if subject is None:
            continue
        details = {"event": name, **{k: v for k, v in payload.items() if _json_scalar(v)}}
        occurrences.append(Occurrence(rule.pk, subject, now, details, point=True))
    return alarms_apply(occurrences=occurrences)


@subscribe("*")
def _on_domain_event(name: str, payload: dict) -> None:
    record_event_received(name=name, payload=payload)


# ---------------------------------------------------------------- time rules


def _key_ref(key: str) -> subjects.SubjectRef:
    label, pk = subjects.parse_key(key)
    return subjects.SubjectRef(label, pk, 0, None, None, "", "")


def rule_evaluate_timed(*, rule: Rule, now: dt.datetime) -> ApplyResult:
    """Evaluate a time rule (or the offline rule) once: raise for the subjects that newly
    meet its condition, clear for those that no longer do. The caller holds the rule's lock."""
    if rule.kind == RuleKind.DEVICE_OFFLINE:
        name, options = (
            "telemetry.device_offline",
            {"device_kinds": rule.params.get("device_kinds")},
        )
    else:
        name, options = rule.params.get("condition", ""), rule.params.get("options") or {}
    if conditions.get(name) is None:
        return ApplyResult()
    hits = {h.subject.key: h for h in conditions.evaluate(name, rule.event, now, options)}
    before = set(rule.state.get("meeting", []))
    occurrences = [
        Occurrence(rule.pk, hit.subject, now, {"condition": name, **hit.details})
        for key, hit in sorted(hits.items())
        if key not in before
    ]
    endings = [
        Ending(rule.pk, _key_ref(key), now, {"condition": name})
        for key in sorted(before - set(hits))
    ]
    with transaction.atomic():
        if set(hits) != before:
            rule.state = {"meeting": sorted(hits)}
            rule.save(update_fields=["state"])
        return alarms_apply(occurrences=occurrences, endings=endings)


def timed_rules_due(now: dt.datetime):
    from django.db.models import Q

    return Rule.objects.filter(kind__in=TIMED_KINDS, enabled=True).filter(
        Q(next_run_at__isnull=True) | Q(next_run_at__lte=now)
    )


def subject_refs(items: Iterable) -> list[subjects.SubjectRef]:
    return [subjects.ref_for(obj) for obj in items]


# ---------------------------------------------------------------- assignee, comments, timeline


def alarm_timeline_add(
    *,
    alarm: Alarm,
    action: str,
    actor: User | None,
    note: str = "",
    details: dict | None = None,
) -> AlarmEntry:
    """Append a line to an alarm's timeline inside the caller's transaction (escalation and
    work orders record their steps on the alarm they act on)."""
    entry = AlarmEntry(
        alarm=alarm,
        at=timezone.now(),
        action=action,
        actor=actor,
        actor_name=actor.get_username() if actor is not None else "system",
        note=note,
        details=details or {},
    )
    entry.full_clean(exclude=["alarm", "actor"])
    entry.save()
    return entry


def alarm_assign(
    *, actor: User | None, alarm: Alarm, assignee: User | None, note: str = ""
) -> Alarm:
    """Give an open alarm to a person (or take it back with ``assignee=None``); the person
    must be able to see it."""
    from eventguard.core.access import VIEW, allows

    with transaction.atomic():
        alarm = Alarm.objects.select_for_update(no_key=True).get(pk=alarm.pk)
        require(actor, CHANGE, alarm)
        if not alarm.is_open:
            raise ValidationError(
                _("Alarm %(id)s is cleared: it cannot be assigned.") % {"id": alarm.pk}
            )
        if assignee is not None and not allows(assignee, VIEW, alarm):
            raise ValidationError(
                {"assignee": _("%(person)s may not see this alarm.") % {"person": assignee}}
            )
        if alarm.assignee_id == (assignee.pk if assignee else None):
            return alarm
        before = snapshot(alarm)
        alarm.assignee = assignee
        save_validated(alarm, update_fields=["assignee"])
        alarm_timeline_add(
            alarm=alarm,
            action=AlarmEntry.Action.ASSIGNED,
            actor=actor,
            note=note.strip(),
            details={"assignee": assignee.get_username() if assignee else None},
        )
        audit(actor=actor, action="alarm.assign", obj=alarm, before=before, after=snapshot(alarm))
        _alarm_event(alarm, "alerts.alarm.assigned", assignee_id=assignee.pk if assignee else None)
    return alarm


def alarm_comment(*, actor: User | None, alarm: Alarm, text: str) -> AlarmEntry:
    with transaction.atomic():
        alarm = Alarm.objects.select_for_update(no_key=True).get(pk=alarm.pk)
        require(actor, CHANGE, alarm)
        text = (text or "").strip()
        if not text:
            raise ValidationError({"text": _("A comment cannot be empty.")})
        entry = alarm_timeline_add(
            alarm=alarm, action=AlarmEntry.Action.COMMENTED, actor=actor, note=text
        )
        audit(actor=actor, action="alarm.comment", obj=alarm, after={"comment": text})
        _alarm_event(alarm, "alerts.alarm.commented")
    return entry
