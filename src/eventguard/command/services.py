"""Every write of unified command: escalation chains and steps, work orders, notifications,
webhooks and their deliveries."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import math
import secrets
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from eventguard.alerts import notes
from eventguard.alerts.models import Alarm, AlarmEntry, AlarmState, Severity
from eventguard.alerts.services import alarm_timeline_add
from eventguard.core.access import CHANGE, VIEW, allows, require, roles_in
from eventguard.core.audit import Change, audit, audit_many, snapshot
from eventguard.core.bus import publish, subscribe
from eventguard.core.models import Domain, Event, User
from eventguard.core.servicekit import save_validated

from . import selectors
from .models import (
    OPEN_WORK_STATES,
    AlarmEscalation,
    Channel,
    DeliveryState,
    EmailDelivery,
    EscalationLevel,
    EscalationTarget,
    Notification,
    NotificationPreference,
    Webhook,
    WebhookDelivery,
    WorkOrder,
    WorkOrderEntry,
    WorkOrderPhoto,
    WorkOrderState,
)

logger = logging.getLogger(__name__)

# What the system writes on timelines and in notifications, put into words when read
# (alerts/notes.py).
_TARGETS = dict(EscalationTarget.choices)
notes.register("escalation.notified", gettext_lazy("Level %(level)s: %(target)s"), target=_TARGETS)
notes.register(
    "escalation.escalated",
    gettext_lazy("Escalated to level %(level)s: %(target)s (%(people)s)"),
    target=_TARGETS,
)
notes.register(
    "escalation.reminder",
    gettext_lazy("Reminder %(reminder)s at level %(level)s: %(target)s (%(people)s)"),
    target=_TARGETS,
)
notes.register(
    "alarm.title",
    gettext_lazy("%(severity)s alarm: %(rule)s · %(subject)s"),
    severity=dict(Severity.choices),
)
notes.register("alarm.reminder", gettext_lazy("Reminder: %(title)s"))
notes.register(
    "alarm.body", gettext_lazy("Alarm %(id)s in %(zone)s, first at %(at)s, %(count)s time(s).")
)
notes.register("work_order.dispatched", gettext_lazy("Work order %(id)s for you: %(title)s"))
notes.register(
    "work_order.overdue",
    gettext_lazy("Past its deadline (%(deadline)s), still %(state)s; told: %(people)s"),
    state=dict(WorkOrderState.choices),
)
notes.register(
    "work_order.overdue_title",
    gettext_lazy("Work order %(id)s is past its deadline: %(title)s"),
)
notes.register(
    "work_order.overdue_body",
    gettext_lazy("Assigned to %(assignee)s; deadline %(deadline)s; still %(state)s."),
    state=dict(WorkOrderState.choices),
)


def _name(actor: User | None) -> str:
    return actor.get_username() if actor is not None else "system"


COMMAND_ROLES = frozenset({"admin", "commander"})


def _require_command(actor: User | None, event: Event, what: str) -> None:
    """Chains and webhooks are the command centre's settings: commanders and administrators
    of the event only."""
    if actor is None or roles_in(actor, event) & COMMAND_ROLES:
        return
    raise PermissionDenied(
        _("Only the event's commanders and administrators may change %(what)s.") % {"what": what}
    )


# ---------------------------------------------------------------- escalation chains

# The chain an event gets when it has none of its own for a severity.
DEFAULT_CHAIN = {
    Severity.CRITICAL: [
        (EscalationTarget.POST_STAFF, 120, 120),
        (EscalationTarget.ZONE_SUPERVISOR, 180, 180),
        (EscalationTarget.COMMANDER, 300, 180),
    ],
    Severity.MAJOR: [
        (EscalationTarget.POST_STAFF, 300, 300),
        (EscalationTarget.ZONE_SUPERVISOR, 600, 300),
        (EscalationTarget.COMMANDER, 600, 600),
    ],
    Severity.MINOR: [
        (EscalationTarget.POST_STAFF, 900, 900),
        (EscalationTarget.ZONE_SUPERVISOR, 1800, 1800),
    ],
    Severity.WARNING: [(EscalationTarget.POST_STAFF, 1800, 3600)],
}


def escalation_chain_set(
    *, actor: User | None, event: Event, severity: str, levels: Sequence[dict]
) -> list[EscalationLevel]:
    """Replace the event's chain for one severity. ``levels`` in order, each
    ``{"target", "ack_within_seconds", "remind_every_seconds"}``."""
    if severity not in Severity.values:
        raise ValidationError({"severity": _("Unknown severity.")})
    if not levels:
        raise ValidationError({"levels": _("A chain has at least one level.")})
    with transaction.atomic():
        probe = EscalationLevel(event=event, severity=severity, level=1, target="commander")
        require(actor, CHANGE, probe)
        _require_command(actor, event, _("escalation chains"))
        old = list(
            EscalationLevel.objects.select_for_update().filter(event=event, severity=severity)
        )
        before = [snapshot(x) for x in old]
        EscalationLevel.objects.filter(pk__in=[x.pk for x in old]).delete()
        created = []
        for number, spec in enumerate(levels, start=1):
            level = EscalationLevel(
                event=event,
                severity=severity,
                level=number,
                target=spec.get("target", ""),
                ack_within_seconds=spec.get("ack_within_seconds", 300),
                remind_every_seconds=spec.get("remind_every_seconds", 300),
            )
            try:
                save_validated(level)
            except ValidationError as exc:
                raise ValidationError(
                    {
                        "levels": [
                            _("Level %(n)s: %(error)s") % {"n": number, "error": "; ".join(m)}
                            for m in [exc.messages]
                        ]
                    }
                ) from exc
            created.append(level)
        audit(
            actor=actor,
            action="escalation_chain.set",
            obj=event,
            before={"severity": severity, "levels": before},
            after={"severity": severity, "levels": [snapshot(x) for x in created]},
        )
        publish("command.escalation_chain.set", event_id=event.pk, severity=severity)
    return created


def escalation_chains_install_defaults(*, actor: User | None, event: Event) -> int:
    """The default chain for each severity the event has no chain for yet."""
    count = 0
    have = set(
        EscalationLevel.objects.filter(event=event).values_list("severity", flat=True).distinct()
    )
    for severity, chain in DEFAULT_CHAIN.items():
        if severity in have:
            continue
        escalation_chain_set(
            actor=actor,
            event=event,
            severity=severity,
            levels=[
                {"target": t, "ack_within_seconds": a, "remind_every_seconds": r}
                for t, a, r in chain
            ],
        )
        count += 1
    return count


# The page edits one level at a time; each edit rewrites the severity's chain through
# escalation_chain_set (one audit entry with the chain before and after).


def _chain_specs(event: Event, severity: str) -> list[dict]:
    """The chain as it stands (the event's own, else the default), locked, as specs."""
    own = list(
        EscalationLevel.objects.select_for_update()
        .filter(event=event, severity=severity)
        .order_by("level")
    )
    if not own:
        return [
            {"target": t, "ack_within_seconds": a, "remind_every_seconds": r}
            for t, a, r in DEFAULT_CHAIN.get(severity, [])
        ]
    return [
        {
            "target": x.target,
            "ack_within_seconds": x.ack_within_seconds,
            "remind_every_seconds": x.remind_every_seconds,
        }
        for x in own
    ]


def _level_errors(target: str, ack_within_seconds, remind_every_seconds) -> dict[str, str]:
    errors = {}
    if target not in EscalationTarget.values:
        errors["target"] = _("Choose who is told at this level.")
    for field, value in (
        ("ack_within_seconds", ack_within_seconds),
        ("remind_every_seconds", remind_every_seconds),
    ):
        if value is None or value < 10:
            errors[field] = _("%(field)s: at least 10 seconds (given: %(value)s).") % {
                "field": capfirst(EscalationLevel._meta.get_field(field).verbose_name),
                "value": "-" if value is None else value,
            }
    return errors


def _chain_begin(actor: User | None, event: Event, severity: str) -> list[dict]:
    if severity not in Severity.values:
        raise ValidationError({"severity": _("Unknown severity.")})
    require(actor, CHANGE, EscalationLevel(event=event, severity=severity, level=1))
    _require_command(actor, event, _("escalation chains"))
    # One level edit of the event's chains at a time: the levels are deleted and written
    # anew, so locking them alone would let a waiting edit find none (and start again from
    # the default chain, undoing the edit it waited for).
    list(Event.objects.select_for_update(no_key=True).filter(pk=event.pk).values_list("pk"))
    return _chain_specs(event, severity)


def _chain_level_index(specs: list[dict], level: int) -> int:
    if not 1 <= level <= len(specs):
        raise ValidationError({"level": _("The chain has no level %(n)s.") % {"n": level}})
    return level - 1


def escalation_level_add(
    *,
    actor: User | None,
    event: Event,
    severity: str,
    level: int,
    target: str,
    ack_within_seconds: int,
    remind_every_seconds: int,
) -> list[EscalationLevel]:
    """Add level ``level`` to the chain: the next number after the last one (levels follow on
    without gaps; move it up afterwards to place it earlier)."""
    with transaction.atomic():
        specs = _chain_begin(actor, event, severity)
        errors = _level_errors(target, ack_within_seconds, remind_every_seconds)
        following = len(specs) + 1
        if level is None or level < 1:
            errors["level"] = _("Levels start at 1.")
        elif level <= len(specs):
            errors["level"] = _(
                "Level %(n)s already exists in this chain: edit it, or add level %(next)s."
            ) % {"n": level, "next": following}
        elif level > following:
            errors["level"] = _("Levels follow on without gaps: the next one is %(next)s.") % {
                "next": following
            }
        if errors:
            raise ValidationError(errors)
        specs.append(
            {
                "target": target,
                "ack_within_seconds": ack_within_seconds,
                "remind_every_seconds": remind_every_seconds,
            }
        )
        return escalation_chain_set(actor=actor, event=event, severity=severity, levels=specs)


def escalation_level_update(
    *,
    actor: User | None,
    event: Event,
    severity: str,
    level: int,
    target: str,
    ack_within_seconds: int,
    remind_every_seconds: int,
) -> list[EscalationLevel]:
    """Change who is told at one level and its times."""
    with transaction.atomic():
        specs = _chain_begin(actor, event, severity)
        index = _chain_level_index(specs, level)
        errors = _level_errors(target, ack_within_seconds, remind_every_seconds)
        if errors:
            raise ValidationError(errors)
        specs[index] = {
            "target": target,
            "ack_within_seconds": ack_within_seconds,
            "remind_every_seconds": remind_every_seconds,
        }
        return escalation_chain_set(actor=actor, event=event, severity=severity, levels=specs)


def escalation_level_move(
    *, actor: User | None, event: Event, severity: str, level: int, to: int
) -> list[EscalationLevel]:
    """Move one level to position ``to``; the others close up around it."""
    with transaction.atomic():
        specs = _chain_begin(actor, event, severity)
        index = _chain_level_index(specs, level)
        if not 1 <= to <= len(specs):
            raise ValidationError(
                {"to": _("Move to a level between 1 and %(last)s.") % {"last": len(specs)}}
            )
        specs.insert(to - 1, specs.pop(index))
        return escalation_chain_set(actor=actor, event=event, severity=severity, levels=specs)


def escalation_level_remove(
    *, actor: User | None, event: Event, severity: str, level: int
) -> list[EscalationLevel]:
    """Remove one level; the levels after it move up. A chain keeps at least one level."""
    with transaction.atomic():
        specs = _chain_begin(actor, event, severity)
        index = _chain_level_index(specs, level)
        if len(specs) == 1:
            raise ValidationError(
                {"level": _("A chain keeps at least one level: change this one instead.")}
            )
        del specs[index]
        return escalation_chain_set(actor=actor, event=event, severity=severity, levels=specs)


def _chain(event_id: int, severity: str) -> list[EscalationLevel]:
    levels = list(EscalationLevel.objects.filter(event_id=event_id, severity=severity))
    if levels:
        return levels
    return [
        EscalationLevel(
            event_id=event_id,
            severity=severity,
            level=n,
            target=t,
            ack_within_seconds=a,
            remind_every_seconds=r,
        )
        for n, (t, a, r) in enumerate(DEFAULT_CHAIN.get(severity, []), start=1)
    ]


def _bilingual(obj) -> dict:
    """A name in both languages, for a message shown in its reader's one."""
    if obj is None:
        return {"zh": "-", "en": "-"}
    return {"zh": obj.name_zh, "en": obj.name_en or obj.name_zh}


def _alarm_message(alarm: Alarm, *, reminder: bool = False) -> dict:
    title = notes.message(
        "alarm.title",
        severity=alarm.severity,
        rule=_bilingual(alarm.rule),
        subject=alarm.subject_name,
    )
    if reminder:
        title = notes.message("alarm.reminder", title=title)
    body = notes.message(
        "alarm.body",
        id=alarm.pk,
        zone=_bilingual(alarm.zone if alarm.zone_id else None),
        at=timezone.localtime(alarm.first_at).strftime("%Y-%m-%d %H:%M:%S"),
        count=alarm.count,
    )
    return {"title": title, "body": body}


def _step(esc: AlarmEscalation, alarm: Alarm, now: dt.datetime) -> None:
    """One due step of an unacknowledged alarm: go to the next level, or remind at the last.

    The wait before the next level is the level's time, or the alarm's rule's own time when
    that is shorter (a rule set to a long time cannot keep its alarms from the commanders);
    at the last level reminders repeat at the level's reminder interval."""
    chain = _chain(alarm.event_id, alarm.severity)
    if not chain:
        esc.finished, esc.next_at = True, None
        esc.save(update_fields=["finished", "next_at"])
        return
    if esc.level < len(chain):
        esc.level += 1
        level = chain[esc.level - 1]
        action, kind, note_key = (
            (AlarmEntry.Action.NOTIFIED, "alarm.raised", "escalation.notified")
            if esc.level == 1
            else (AlarmEntry.Action.ESCALATED, "alarm.escalated", "escalation.escalated")
        )
        if esc.level < len(chain):
            # A rule may hurry its alarms along the chain, never hold them back.
            wait = min(level.ack_within_seconds, alarm.rule.ack_within_seconds or math.inf)
        else:
            wait = level.remind_every_seconds
    else:
        level = chain[-1]
        esc.reminders += 1
        action, kind, note_key = AlarmEntry.Action.REMINDED, "alarm.reminder", "escalation.reminder"
        wait = level.remind_every_seconds
    esc.next_at = now + dt.timedelta(seconds=wait)
    esc.save(update_fields=["level", "reminders", "next_at"])
    recipients = selectors.recipients_for(alarm, level.target, now=now)
    to = sorted(u.get_username() for u in recipients)
    alarm_timeline_add(
        alarm=alarm,
        action=action,
        actor=None,
        details={
            "level": esc.level,
            "to": to,
            "next_in_seconds": wait,
            "message": notes.message(
                note_key,
                level=esc.level,
                target=level.target,
                reminder=esc.reminders,
                people=to,
            ),
        },
    )
    message = _alarm_message(alarm, reminder=action == AlarmEntry.Action.REMINDED)
    notify(
        event_id=alarm.event_id,
        kind=kind,
        severity=alarm.severity,
        domain=alarm.domain,
        message=message,
        url=f"/e/{alarm.event.code}/alarms/{alarm.pk}/",
        recipients=recipients,
        payload=_alarm_payload(alarm, kind, level=esc.level),
    )
    audit(
        actor=None,
        action=kind,
        obj=alarm,
        after={"level": esc.level, "reminders": esc.reminders, "next_in_seconds": wait},
    )


def alarm_escalation_start(*, alarm_id: int, now: dt.datetime | None = None) -> bool:
    """Tell the first level of the chain of a newly raised alarm; idempotent (one escalation
    row per alarm, its unique key the claim), so that the subscriber and the timer's sweep
    may both call it.

    The alarm's row is read, never locked: the ingest updates it (a repeat, a clearance)
    while people are told, and must not wait for that. The state is read again just before
    the commit, so an alarm acknowledged in the meantime tells no one; one acknowledged in
    the last instant is told once at most, and its next step finds it handled."""
    now = now or timezone.now()
    alarm = Alarm.objects.select_related("rule", "event", "zone").filter(pk=alarm_id).first()
    if alarm is None or AlarmEscalation.objects.filter(alarm_id=alarm_id).exists():
        return False
    chain = _chain(alarm.event_id, alarm.severity)
    live = alarm.state == AlarmState.ACTIVE and bool(chain)
    esc = AlarmEscalation(
        alarm=alarm,
        event_id=alarm.event_id,
        level=0,
        finished=not live,
        next_at=now if live else None,
    )
    with transaction.atomic():
        try:
            with transaction.atomic():
                esc.save()
        except IntegrityError:
            return False  # another worker started it
        if not live:
            return False
        _step(esc, alarm, now)
        state = Alarm.objects.filter(pk=alarm_id).values_list("state", flat=True).first()
        if state != AlarmState.ACTIVE:
            transaction.set_rollback(True)  # handled meanwhile: nobody told, nothing kept
    if state != AlarmState.ACTIVE:
        AlarmEscalation.objects.get_or_create(
            alarm_id=alarm_id,
            defaults={"event_id": alarm.event_id, "level": 0, "finished": True},
        )
        return False
    return True


def escalations_due(*, now: dt.datetime | None = None, limit: int = 100) -> int:
    """Advance every unacknowledged alarm whose step is due; several workers may run this at
    once (rows claimed with SKIP LOCKED)."""
    done = 0
    while done < limit:
        at = now or timezone.now()
        with transaction.atomic():
            esc = (
                AlarmEscalation.objects.select_for_update(skip_locked=True)
                .filter(finished=False, next_at__lte=at)
                .order_by("next_at", "pk")
                .first()
            )
            if esc is None:
                break
            alarm = Alarm.objects.select_related("rule", "event", "zone").get(pk=esc.alarm_id)
            if alarm.state != AlarmState.ACTIVE:
                esc.finished, esc.next_at = True, None
                esc.save(update_fields=["finished", "next_at"])
            else:
                _step(esc, alarm, at)
        done += 1
    return done


def escalations_adopt(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    """Start the chain of active alarms that have none yet (raised while no subscriber ran)."""
    ids = list(
        Alarm.objects.filter(state=AlarmState.ACTIVE, escalation__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(alarm_escalation_start(alarm_id=pk, now=now) for pk in ids)


@subscribe("alerts.alarm.raised")
def _on_alarm_raised(name: str, payload: dict) -> None:
    alarm_escalation_start(alarm_id=payload["alarm_id"])


@subscribe("alerts.alarm.acknowledged")
@subscribe("alerts.alarm.cleared")
def _on_alarm_handled(name: str, payload: dict) -> None:
    AlarmEscalation.objects.filter(alarm_id=payload["alarm_id"], finished=False).update(
        finished=True, next_at=None
    )
    if name == "alerts.alarm.cleared":
        alarm = Alarm.objects.select_related("event", "rule", "zone").get(pk=payload["alarm_id"])
        with transaction.atomic():
            _webhooks_for(alarm.event_id, alarm.severity, alarm.domain, _alarm_payload(alarm, name))


# ---------------------------------------------------------------- notifications


def _alarm_payload(alarm: Alarm, topic: str, **extra) -> dict:
    return {
        "topic": topic,
        "event": alarm.event.code,
        "alarm": {
            "id": alarm.pk,
            "rule": alarm.rule.code,
            "severity": alarm.severity,
            "domain": alarm.domain,
            "state": alarm.state,
            "subject": alarm.subject_key,
            "subject_name": alarm.subject_name,
            "zone_id": alarm.zone_id,
            "first_at": alarm.first_at.isoformat(),
            "count": alarm.count,
        },
        **extra,
    }


def _wants(pref: NotificationPreference | None, channel: str, severity: str, domain: str) -> bool:
    if pref is None:
        # Without a preference: everything in the feed; e-mail for critical and major alarms.
        return channel == Channel.FEED or severity in (Severity.CRITICAL, Severity.MAJOR)
    if not pref.enabled:
        return False
    if pref.severities and severity not in pref.severities:
        return False
    return not (pref.domains and domain not in pref.domains)


def absolute_url(url: str) -> str:
    """A link for outside the platform (an e-mail, a webhook body): the path after the
    platform's public address (``EVENTGUARD_BASE_URL``); the path as it is while none is
    configured, or a link that is already absolute."""
    base = getattr(settings, "EVENTGUARD_BASE_URL", "")
    if not base or not url.startswith("/") or url.startswith("//"):
        return url
    return base.rstrip("/") + url


def notify(
    *,
    event_id: int,
    kind: str,
    severity: str,
    domain: str,
    title: str = "",
    body: str = "",
    message: dict | None = None,
    url: str = "",
    recipients: Iterable[User] = (),
    payload: dict | None = None,
) -> list[Notification]:
    """Tell people on the channels they chose, and the event's webhooks; inside the caller's
    transaction (the feed rows, e-mail and webhook deliveries commit with it; e-mail is first
    tried right after the commit, then retried by the timer).

    ``message`` (``{"title": ..., "body": ...}``, alerts/notes.py) is put into words in each
    reader's language: the feed when read, an e-mail in its recipient's language.

    ``url`` is the path of the record told of: the feed keeps it as it is, an e-mail and a
    ``url`` in ``payload`` get the platform's address before it (:func:`absolute_url`)."""
    message = message or {}
    title = notes.render(message.get("title"), title)
    body = notes.render(message.get("body"), body)
    recipients = {u.pk: u for u in recipients if u.is_active}
    prefs = {
        (p.user_id, p.channel): p
        for p in NotificationPreference.objects.filter(event_id=event_id, user_id__in=recipients)
    }
    feed = [
        Notification(
            user_id=pk,
            event_id=event_id,
            kind=kind,
            severity=severity,
            title=title[:200],
            body=body,
            url=url,
            message=message,
        )
        for pk in recipients
        if _wants(prefs.get((pk, Channel.FEED)), Channel.FEED, severity, domain)
    ]
    Notification.objects.bulk_create(feed)
    emails = []
    now = timezone.now()
    for pk, user in sorted(recipients.items()):
        if not user.email or not _wants(
            prefs.get((pk, Channel.EMAIL)), Channel.EMAIL, severity, domain
        ):
            continue
        with translation.override(user.language or settings.LANGUAGE_CODE):
            subject = notes.render(message.get("title"), title)
            text = notes.render(message.get("body"), body)
        emails.append(
            EmailDelivery(
                event_id=event_id,
                user=user,
                to=user.email,
                topic=kind[:60],
                subject=subject[:200],
                body=f"{text}\n\n{absolute_url(url)}" if url else text,
                next_attempt_at=now,
            )
        )
    if emails:
        ids = [e.pk for e in EmailDelivery.objects.bulk_create(emails)]
        transaction.on_commit(lambda: emails_deliver_due(ids=ids))
    if payload is not None:
        if isinstance(payload.get("url"), str):
            payload = {**payload, "url": absolute_url(payload["url"])}
        _webhooks_for(event_id, severity, domain, payload)
    return feed


def notification_preference_set(
    *,
    actor: User,
    event: Event,
    channel: str,
    enabled: bool = True,
    severities: Sequence[str] = (),
    domains: Sequence[str] = (),
) -> NotificationPreference:
    """A person's own choice of what reaches them on a channel."""
    if channel not in Channel.values:
        raise ValidationError({"channel": _("Unknown channel.")})
    bad = sorted(set(severities) - set(Severity.values))
    if bad:
        raise ValidationError({"severities": _("Unknown severity: %(v)s") % {"v": ", ".join(bad)}})
    bad = sorted(set(domains) - set(Domain.values))
    if bad:
        raise ValidationError({"domains": _("Unknown domain: %(v)s") % {"v": ", ".join(bad)}})
    with transaction.atomic():
        pref = (
            NotificationPreference.objects.select_for_update()
            .filter(user=actor, event=event, channel=channel)
            .first()
        )
        before = snapshot(pref) if pref else None
        if pref is None:
            pref = NotificationPreference(user=actor, event=event, channel=channel)
        if not allows(actor, VIEW, pref):
            require(actor, VIEW, pref)
        pref.enabled = enabled
        pref.severities = sorted(set(severities))
        pref.domains = sorted(set(domains))
        save_validated(pref)
        audit(
            actor=actor,
            action="notification_preference.set",
            obj=pref,
            before=before,
            after=snapshot(pref),
        )
    return pref


def notifications_mark_read(*, actor: User, event: Event, up_to_id: int) -> int:
    with transaction.atomic():
        return Notification.objects.filter(
            user=actor, event=event, pk__lte=up_to_id, read_at__isnull=True
        ).update(read_at=timezone.now())


# ---------------------------------------------------------------- webhooks

WEBHOOK_MAX_ATTEMPTS = 8
WEBHOOK_LEASE = dt.timedelta(seconds=60)


def webhook_backoff(attempt: int) -> dt.timedelta:
    """Wait before attempt ``attempt + 1``: 10 s, 20 s, 40 s ... at most an hour."""
    base = getattr(settings, "EVENTGUARD_WEBHOOK_BACKOFF_SECONDS", 10)
    return dt.timedelta(seconds=min(base * 2 ** (attempt - 1), 3600))


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_create(
    *,
    actor: User | None,
    event: Event,
    name: str,
    url: str,
    severities: Sequence[str] = (),
    domains: Sequence[str] = (),
    secret: str = "",
) -> Webhook:
    with transaction.atomic():
        hook = Webhook(
            event=event,
            name=name,
            url=url,
            secret=secret or secrets.token_hex(32),
            severities=sorted(set(severities)),
            domains=sorted(set(domains)),
        )
        require(actor, CHANGE, hook)
        _require_command(actor, event, _("webhooks"))
        _webhook_check(hook)
        save_validated(hook)
        audit(actor=actor, action="webhook.create", obj=hook, after=_webhook_snapshot(hook))
    return hook


def _webhook_check(hook: Webhook) -> None:
    """Refusals naming the field, before the model's own checks."""
    errors = {}
    bad = sorted(set(hook.severities) - set(Severity.values))
    if bad:
        errors["severities"] = _("Unknown severity: %(v)s") % {"v": ", ".join(bad)}
    bad = sorted(set(hook.domains) - set(Domain.values))
    if bad:
        errors["domains"] = _("Unknown domain: %(v)s") % {"v": ", ".join(bad)}
    if (
        hook.name.strip()
        and Webhook.objects.filter(event_id=hook.event_id, name=hook.name.strip())
        .exclude(pk=hook.pk)
        .exists()
    ):
        errors["name"] = _("This event already has a webhook named %(name)s.") % {
            "name": hook.name.strip()
        }
    if errors:
        raise ValidationError(errors)


def _webhook_locked(actor: User | None, webhook: Webhook) -> Webhook:
    hook = Webhook.objects.select_for_update().select_related("event").get(pk=webhook.pk)
    require(actor, CHANGE, hook)
    _require_command(actor, hook.event, _("webhooks"))
    return hook


def _webhook_snapshot(hook: Webhook) -> dict:
    """The webhook for the audit trail, which never holds a secret: not the signing secret,
    nor a token or password in the address (masked as for those who may only read it)."""
    data = snapshot(hook)
    data.pop("secret", None)
    data["url"] = selectors.url_masked(hook.url)
    return data


def webhook_update(
    *,
    actor: User | None,
    webhook: Webhook,
    name: str,
    url: str,
    severities: Sequence[str] = (),
    domains: Sequence[str] = (),
) -> Webhook:
    """Change a webhook's name, address and what it is told (not its secret)."""
    with transaction.atomic():
        hook = _webhook_locked(actor, webhook)
        before = _webhook_snapshot(hook)
        hook.name = name.strip()
        hook.url = url.strip()
        hook.severities = sorted(set(severities))
        hook.domains = sorted(set(domains))
        _webhook_check(hook)
        save_validated(hook, update_fields=["name", "url", "severities", "domains"])
        audit(
            actor=actor,
            action="webhook.update",
            obj=hook,
            before=before,
            after=_webhook_snapshot(hook),
        )
    return hook


def webhook_set_active(*, actor: User | None, webhook: Webhook, active: bool) -> Webhook:
    """Pause a webhook (no new deliveries are made for it, and those waiting are not posted)
    or reactivate it (what was waiting is posted on the worker's next round)."""
    with transaction.atomic():
        hook = _webhook_locked(actor, webhook)
        if hook.active == active:
            return hook
        hook.active = active
        save_validated(hook, update_fields=["active"])
        audit(
            actor=actor,
            action="webhook.activate" if active else "webhook.deactivate",
            obj=hook,
            before={"active": not active},
            after={"active": active},
        )
    return hook


def webhook_secret_rotate(*, actor: User | None, webhook: Webhook) -> Webhook:
    """A new signing secret; every delivery posted from now on is signed with it. The caller
    shows it once (the audit entry records the rotation, not the secret)."""
    with transaction.atomic():
        hook = _webhook_locked(actor, webhook)
        hook.secret = secrets.token_hex(32)
        save_validated(hook, update_fields=["secret"])
        audit(actor=actor, action="webhook.rotate_secret", obj=hook, after={"rotated": True})
    return hook


def webhook_delivery_retry(
    *, actor: User | None, delivery: WebhookDelivery, now: dt.datetime | None = None
) -> WebhookDelivery:
    """Make a pending or failed delivery due now: the worker's next round posts it. A failed
    one (all its attempts used) gets one more attempt."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("webhook__event")
            .get(pk=delivery.pk)
        )
        hook = delivery.webhook
        require(actor, CHANGE, hook)
        _require_command(actor, hook.event, _("webhooks"))
        if delivery.state == DeliveryState.DELIVERED:
            raise ValidationError(
                _("Delivery %(id)s was delivered: nothing to retry.") % {"id": delivery.pk}
            )
        if not hook.active:
            raise ValidationError(
                _("Webhook %(name)s is inactive: reactivate it first.") % {"name": hook.name}
            )
        if delivery.in_flight(now):
            # Made due now, another worker would post the same body while this one waits
            # for the receiver's answer.
            raise ValidationError(
                _(
                    "Delivery %(id)s is being posted right now: wait for this attempt's result "
                    "(at the latest at %(time)s) before retrying it."
                )
                % {
                    "id": delivery.pk,
                    "time": timezone.localtime(delivery.leased_until).strftime("%H:%M:%S"),
                }
            )
        before = {"state": delivery.state, "next_attempt_at": delivery.next_attempt_at}
        delivery.state = DeliveryState.PENDING
        delivery.next_attempt_at = now
        save_validated(delivery, update_fields=["state", "next_attempt_at"])
        audit(
            actor=actor,
            action="webhook.retry",
            obj=delivery,
            before=before,
            after={"state": delivery.state, "next_attempt_at": now},
        )
    return delivery


def _webhooks_for(event_id: int, severity: str, domain: str, payload: dict) -> None:
    hooks = [
        h
        for h in Webhook.objects.filter(event_id=event_id, active=True)
        if (not h.severities or severity in h.severities) and (not h.domains or domain in h.domains)
    ]
    if not hooks:
        return
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)
    now = timezone.now()
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            webhook=h, topic=payload.get("topic", "")[:60], body=body, next_attempt_at=now
        )
        for h in hooks
    )


def _claim(model, now: dt.datetime, ids: Sequence[int] | None = None):
    """Take the next due pending delivery (a webhook's or an e-mail) for this worker: the
    row is claimed with SKIP LOCKED and leased by pushing its next attempt forward. The
    deliveries of a paused webhook wait, pending, until it is reactivated."""
    with transaction.atomic():
        qs = model.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            state=DeliveryState.PENDING, next_attempt_at__lte=now
        )
        if model is WebhookDelivery:
            qs = qs.filter(webhook__active=True)
        if ids is not None:
            qs = qs.filter(pk__in=ids)
        delivery = qs.order_by("next_attempt_at", "pk").first()
        if delivery is None:
            return None
        # The lease: no other worker takes it while this one is sending it, and "retry now"
        # refuses it until its attempt is logged (or the lease ran out: the worker is gone).
        delivery.next_attempt_at = delivery.leased_until = now + WEBHOOK_LEASE
        delivery.save(update_fields=["next_attempt_at", "leased_until"])
    return delivery


def _claim_delivery(now: dt.datetime) -> WebhookDelivery | None:
    delivery = _claim(WebhookDelivery, now)
    if delivery is None:
        return None
    return WebhookDelivery.objects.select_related("webhook").get(pk=delivery.pk)


def _record_attempt(
    model,
    pk: int,
    *,
    ok: bool,
    log: dict,
    now: dt.datetime,
    action: str,
    max_attempts: int,
    lease: dt.datetime | None = None,
) -> str:
    """Log one attempt of a delivery; delivered, retried after its backoff, or given up.

    A delivery another worker delivered meanwhile (its lease ran out, or "retry now" made it
    due while this attempt was under way) stays delivered: only its log grows. ``lease`` is
    the lease this attempt was made under: a later one, another worker's, is left alone."""
    with transaction.atomic():
        delivery = model.objects.select_for_update().get(pk=pk)
        before = {"state": delivery.state, "attempt_count": delivery.attempt_count}
        delivery.attempt_count += 1
        delivery.attempts = [*delivery.attempts, {"at": now.isoformat(), **log}]
        if delivery.leased_until == lease:
            delivery.leased_until = None
        if delivery.state == DeliveryState.DELIVERED:
            pass
        elif ok:
            delivery.state, delivery.delivered_at, delivery.next_attempt_at = (
                DeliveryState.DELIVERED,
                now,
                None,
            )
        elif delivery.attempt_count >= max_attempts:
            delivery.state, delivery.next_attempt_at = DeliveryState.FAILED, None
        else:
            delivery.next_attempt_at = now + webhook_backoff(delivery.attempt_count)
        save_validated(delivery)
        audit_many(
            actor=None,
            changes=[
                Change(
                    action=action,
                    obj=delivery,
                    before=before,
                    after={
                        "state": delivery.state,
                        "attempt_count": delivery.attempt_count,
                        **log,
                    },
                )
            ],
        )
    return delivery.state


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    import urllib.error
    import urllib.request

    body = delivery.body.encode()
    request = urllib.request.Request(
        delivery.webhook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "EventGuard-Webhook",
            "X-EventGuard-Topic": delivery.topic,
            "X-EventGuard-Delivery": str(delivery.pk),
            "X-EventGuard-Signature": sign(delivery.webhook.secret, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, str(exc.reason)[:200]
    except Exception as exc:  # refused, timed out, bad name: all retried
        return None, str(exc)[:200]


def webhook_delivery_attempt(*, delivery: WebhookDelivery, now: dt.datetime | None = None) -> str:
    """Post one delivery once and log the attempt; schedule the retry or give up."""
    status, error = _post(delivery)
    return _record_attempt(
        WebhookDelivery,
        delivery.pk,
        ok=status is not None and 200 <= status < 300,
        log={"status": status, "error": error},
        now=now or timezone.now(),
        action="webhook.deliver",
        max_attempts=WEBHOOK_MAX_ATTEMPTS,
        lease=delivery.leased_until,
    )


def webhooks_deliver_due(*, now: dt.datetime | None = None, limit: int = 50) -> int:
    sent = 0
    while sent < limit:
        delivery = _claim_delivery(now or timezone.now())
        if delivery is None:
            break
        webhook_delivery_attempt(delivery=delivery, now=now)
        sent += 1
    return sent


# ---------------------------------------------------------------- e-mail

EMAIL_MAX_ATTEMPTS = WEBHOOK_MAX_ATTEMPTS


def email_delivery_attempt(*, delivery: EmailDelivery, now: dt.datetime | None = None) -> str:
    """Send one e-mail once and log the attempt; retried with the webhooks' backoff, given up
    after :data:`EMAIL_MAX_ATTEMPTS`."""
    try:
        EmailMessage(
            delivery.subject, delivery.body, settings.DEFAULT_FROM_EMAIL, [delivery.to]
        ).send(fail_silently=False)
    except Exception as exc:  # the mail server away, refused, timed out: all retried
        logger.warning("e-mail %s to %s failed: %s", delivery.pk, delivery.to, exc)
        ok, error = False, f"{type(exc).__name__}: {exc}"[:200]
    else:
        ok, error = True, ""
    return _record_attempt(
        EmailDelivery,
        delivery.pk,
        ok=ok,
        log={"error": error},
        now=now or timezone.now(),
        action="email.deliver",
        max_attempts=EMAIL_MAX_ATTEMPTS,
        lease=delivery.leased_until,
    )


def emails_deliver_due(
    *, now: dt.datetime | None = None, ids: Sequence[int] | None = None, limit: int = 50
) -> int:
    """Send the due e-mails (only ``ids`` when given: those just queued); several workers
    may run this at once. Every e-mail goes through the one relay: after a failed attempt
    the round stops (the rest wait, due, for the next round), so that a relay that is away
    holds up the timer's other work (escalation, time rules) for one time-out, not one per
    waiting e-mail."""
    sent = 0
    while sent < limit:
        delivery = _claim(EmailDelivery, now or timezone.now(), ids)
        if delivery is None:
            break
        state = email_delivery_attempt(delivery=delivery, now=now)
        sent += 1
        if state != DeliveryState.DELIVERED:
            break
    return sent


# ---------------------------------------------------------------- work orders

# state -> {action: next state}
WORK_TRANSITIONS: dict[str, dict[str, str]] = {
    WorkOrderState.DISPATCHED: {
        "accept": WorkOrderState.ACCEPTED,
        "return": WorkOrderState.RETURNED,
    },
    WorkOrderState.ACCEPTED: {
        "arrive": WorkOrderState.ON_SITE,
        "return": WorkOrderState.RETURNED,
    },
    WorkOrderState.ON_SITE: {
        "complete": WorkOrderState.DONE,
        "return": WorkOrderState.RETURNED,
    },
    WorkOrderState.DONE: {},
    WorkOrderState.RETURNED: {},
}
WORK_ACTIONS = ("accept", "arrive", "complete", "return")
_ENTRY = {
    "accept": (WorkOrderEntry.Action.ACCEPTED, AlarmEntry.Action.WORK_ACCEPTED, "accepted_at"),
    "arrive": (WorkOrderEntry.Action.ARRIVED, AlarmEntry.Action.WORK_ARRIVED, "arrived_at"),
    "complete": (WorkOrderEntry.Action.COMPLETED, AlarmEntry.Action.WORK_DONE, "finished_at"),
    "return": (WorkOrderEntry.Action.RETURNED, AlarmEntry.Action.WORK_RETURNED, "finished_at"),
}
_NEEDS = {
    "arrive": gettext_lazy("it must be accepted first"),
    "complete": gettext_lazy("the assignee must be on site first"),
    "accept": gettext_lazy("only a dispatched work order can be accepted"),
    "return": gettext_lazy("it is already finished"),
}


def actions_for(user: User | None, work_order: WorkOrder) -> list[str]:
    """What ``user`` may do next to ``work_order`` (for the page's buttons)."""
    if user is None or work_order.assignee_id != user.pk:
        return []
    return list(WORK_TRANSITIONS[work_order.state])


def _source_entry(work_order: WorkOrder, action: str, actor: User | None, note: str) -> None:
    if work_order.alarm_id:
        alarm_timeline_add(
            alarm=work_order.alarm,
            action=action,
            actor=actor,
            note=note,
            details={"work_order": work_order.pk, "assignee": work_order.assignee.get_username()},
        )


def work_order_dispatch(
    *,
    actor: User | None,
    assignee: User | None = None,
    alarm: Alarm | None = None,
    hazard=None,
    deadline: dt.datetime | None = None,
    instructions: str = "",
    title: str = "",
) -> WorkOrder:
    """Dispatch work from an alarm or a hidden danger to a person. For an alarm on a lift or
    an escalator the person on post there now is the default assignee."""
    if (alarm is None) == (hazard is None):
        raise ValidationError(_("A work order comes from exactly one alarm or hidden danger."))
    now = timezone.now()
    with transaction.atomic():
        if alarm is not None:
            alarm = Alarm.objects.select_related("event", "rule").get(pk=alarm.pk)
            require(actor, CHANGE, alarm)
            if not alarm.is_open:
                raise ValidationError(
                    _("Alarm %(id)s is cleared: nothing to dispatch.") % {"id": alarm.pk}
                )
            source = {
                "event": alarm.event,
                "domain": alarm.domain,
                "zone_id": alarm.zone_id,
                "unit_id": alarm.unit_id,
                "title": f"{alarm.rule.name} · {alarm.subject_name}",
            }
            if assignee is None:
                assignee = selectors.on_post_now(alarm, now=now)
        else:
            require(actor, CHANGE, hazard)
            source = {
                "event": hazard.event,
                "domain": Domain.HAZARDS,
                "zone_id": hazard.zone_id,
                "unit_id": hazard.unit_id,
                "title": hazard.title,
            }
            assignee = assignee or hazard.assignee
        if assignee is None:
            raise ValidationError(
                {"assignee": _("Nobody is on post there now: choose the person to send.")}
            )
        work = WorkOrder(
            event=source["event"],
            alarm=alarm,
            hazard=hazard,
            title=(title or source["title"])[:200],
            instructions=instructions.strip(),
            domain=source["domain"],
            zone_id=source["zone_id"],
            unit_id=source["unit_id"],
            assignee=assignee,
            deadline=deadline or now + dt.timedelta(minutes=30),
            dispatched_by=actor,
            dispatched_at=now,
        )
        require(actor, CHANGE, work)
        if not allows(assignee, VIEW, work):
            raise ValidationError(
                {"assignee": _("%(person)s may not see this work order.") % {"person": assignee}}
            )
        if work.deadline <= now:
            raise ValidationError({"deadline": _("The deadline must be in the future.")})
        save_validated(work)
        WorkOrderEntry.objects.create(
            work_order=work,
            at=now,
            action=WorkOrderEntry.Action.DISPATCHED,
            actor=actor,
            actor_name=_name(actor),
            note=work.instructions,
        )
        _source_entry(work, AlarmEntry.Action.DISPATCHED, actor, work.instructions)
        audit(actor=actor, action="work_order.dispatch", obj=work, after=snapshot(work))
        notify(
            event_id=work.event_id,
            kind="work_order.dispatched",
            severity=alarm.severity if alarm else "",
            domain=work.domain,
            message={"title": notes.message("work_order.dispatched", id=work.pk, title=work.title)},
            body=work.instructions,
            url=f"/e/{work.event.code}/work-orders/{work.pk}/",
            recipients=[assignee],
        )
        publish(
            "command.work_order.dispatched",
            work_order_id=work.pk,
            event_id=work.event_id,
            assignee_id=assignee.pk,
        )
    return work


def work_order_transition(
    *,
    actor: User | None,
    work_order: WorkOrder,
    action: str,
    note: str = "",
    photos: Sequence = (),
) -> WorkOrder:
    """Apply ``action`` per :data:`WORK_TRANSITIONS`; only the assignee moves their work
    order. Done needs a note; returned needs a reason."""
    if action not in WORK_ACTIONS:
        raise ValidationError({"action": _("Unknown action.")})
    note = (note or "").strip()
    with transaction.atomic():
        work = (
            WorkOrder.objects.select_for_update()
            .select_related("event", "assignee")
            .get(pk=work_order.pk)
        )
        require(actor, CHANGE, work)
        if actor is not None and work.assignee_id != actor.pk:
            raise ValidationError(
                _("Work order %(id)s is %(person)s's: only they can %(action)s it.")
                % {"id": work.pk, "person": work.assignee, "action": action}
            )
        target = WORK_TRANSITIONS[work.state].get(action)
        if target is None:
            raise ValidationError(
                _("Work order %(id)s is %(state)s: %(why)s.")
                % {"id": work.pk, "state": work.get_state_display(), "why": _NEEDS[action]}
            )
        if action == "complete" and not note:
            raise ValidationError({"note": _("Say what was done.")})
        if action == "return" and not note:
            raise ValidationError({"note": _("Say why the work order is returned.")})
        checked = []
        if photos:
            from eventguard.hazards.services import check_photo

            checked = [(p, check_photo(p)) for p in photos]
        before = snapshot(work)
        now = timezone.now()
        entry_action, alarm_action, time_field = _ENTRY[action]
        work.state = target
        setattr(work, time_field, now)
        fields = ["state", time_field]
        if action in ("complete", "return"):
            work.result_note = note
            fields.append("result_note")
        save_validated(work, update_fields=fields)
        for upload, (_mime, ext) in checked:
            photo = WorkOrderPhoto(work_order=work)
            photo.image.save(f"{secrets.token_hex(8)}.{ext}", upload, save=False)
            photo.save()
        WorkOrderEntry.objects.create(
            work_order=work,
            at=now,
            action=entry_action,
            actor=actor,
            actor_name=_name(actor),
            note=note,
        )
        _source_entry(work, alarm_action, actor, note)
        audit(
            actor=actor,
            action=f"work_order.{action}",
            obj=work,
            before=before,
            after=snapshot(work),
        )
        publish(
            f"command.work_order.{target}",
            work_order_id=work.pk,
            event_id=work.event_id,
            state=work.state,
        )
    return work


def work_order_accept(*, actor: User | None, work_order: WorkOrder, note: str = "") -> WorkOrder:
    return work_order_transition(actor=actor, work_order=work_order, action="accept", note=note)


def work_order_arrive(*, actor: User | None, work_order: WorkOrder, note: str = "") -> WorkOrder:
    return work_order_transition(actor=actor, work_order=work_order, action="arrive", note=note)


def work_order_complete(
    *, actor: User | None, work_order: WorkOrder, note: str, photos: Sequence = ()
) -> WorkOrder:
    return work_order_transition(
        actor=actor, work_order=work_order, action="complete", note=note, photos=photos
    )


def work_order_return(*, actor: User | None, work_order: WorkOrder, note: str) -> WorkOrder:
    return work_order_transition(actor=actor, work_order=work_order, action="return", note=note)


def work_order_overdue_notify(*, work_order: WorkOrder, now: dt.datetime | None = None) -> bool:
    """Tell the assignee and the event's commanders, once, that an open work order has passed
    its deadline, and say so on its timeline. Returns False when there is nothing to do
    (finished, not yet due, or already told: the first worker to set the notice wins)."""
    now = now or timezone.now()
    with transaction.atomic():
        claimed = WorkOrder.objects.filter(
            pk=work_order.pk,
            state__in=OPEN_WORK_STATES,
            deadline__lt=now,
            overdue_notified_at__isnull=True,
        ).update(overdue_notified_at=now)
        if not claimed:
            return False
        work = WorkOrder.objects.select_related("event", "assignee", "alarm").get(pk=work_order.pk)
        # Commanders who may see this work order (an assignment may leave out its domain).
        recipients = {
            u.pk: u for u in selectors.event_commanders(work.event_id) if allows(u, VIEW, work)
        }
        recipients[work.assignee_id] = work.assignee
        people = sorted(u.get_username() for u in recipients.values() if u.is_active)
        deadline = timezone.localtime(work.deadline).strftime("%Y-%m-%d %H:%M:%S")
        WorkOrderEntry.objects.create(
            work_order=work,
            at=now,
            action=WorkOrderEntry.Action.OVERDUE,
            actor=None,
            actor_name=_name(None),
            details={
                "to": people,
                "message": notes.message(
                    "work_order.overdue", deadline=deadline, state=work.state, people=people
                ),
            },
        )
        audit(
            actor=None,
            action="work_order.overdue",
            obj=work,
            before={"overdue_notified_at": None},
            after={"overdue_notified_at": now.isoformat(), "to": people},
        )
        severity = work.alarm.severity if work.alarm_id else ""
        notify(
            event_id=work.event_id,
            kind="work_order.overdue",
            severity=severity,
            domain=work.domain,
            message={
                "title": notes.message("work_order.overdue_title", id=work.pk, title=work.title),
                "body": notes.message(
                    "work_order.overdue_body",
                    assignee=work.assignee.get_username(),
                    deadline=deadline,
                    state=work.state,
                ),
            },
            url=f"/e/{work.event.code}/work-orders/{work.pk}/",
            recipients=recipients.values(),
            payload={
                "topic": "work_order.overdue",
                "event": work.event.code,
                "work_order": {
                    "id": work.pk,
                    "title": work.title,
                    "state": work.state,
                    "domain": work.domain,
                    "assignee": work.assignee.get_username(),
                    "deadline": work.deadline.isoformat(),
                    "alarm_id": work.alarm_id,
                    "hazard_id": work.hazard_id,
                },
            },
        )
        publish(
            "command.work_order.overdue",
            work_order_id=work.pk,
            event_id=work.event_id,
            assignee_id=work.assignee_id,
        )
    return True


def work_orders_overdue(*, now: dt.datetime | None = None, limit: int = 100) -> int:
    """Tell people of each open work order past its deadline, once; several workers may run
    this at once (rows claimed with SKIP LOCKED, and the notice set only if still unset).
    One whose notice fails is logged and left for the next round; the others go on."""
    done = 0
    failed: set[int] = set()
    while done < limit:
        at = now or timezone.now()
        work = None
        try:
            with transaction.atomic():
                work = (
                    WorkOrder.objects.select_for_update(skip_locked=True)
                    .filter(
                        state__in=OPEN_WORK_STATES,
                        deadline__lt=at,
                        overdue_notified_at__isnull=True,
                    )
                    .exclude(pk__in=failed)
                    .order_by("deadline", "pk")
                    .first()
                )
                if work is None:
                    break
                work_order_overdue_notify(work_order=work, now=at)
        except Exception:
            if work is None:  # the database itself: the caller waits it out
                raise
            logger.exception("telling of overdue work order %s failed", work.pk)
            failed.add(work.pk)
            continue
        done += 1
    return done


def open_work_states() -> tuple[str, ...]:
    return tuple(str(s) for s in OPEN_WORK_STATES)
