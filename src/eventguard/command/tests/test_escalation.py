"""Escalation: the chain per event and severity, steps when an alarm stays unacknowledged,
reminders at the last level, nothing more once acknowledged; alarm assign and comments;
statistics per rule, zone and severity."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from eventguard.alerts import services as alert_services
from eventguard.command import services
from eventguard.command.models import AlarmEscalation, Notification
from eventguard.command.selectors import alarm_statistics
from eventguard.core.testing import api_client_for


def _chain(world, severity="critical"):
    return services.escalation_chain_set(
        actor=world.commander,
        event=world.event,
        severity=severity,
        levels=[
            {"target": "post_staff", "ack_within_seconds": 60, "remind_every_seconds": 60},
            {"target": "zone_supervisor", "ack_within_seconds": 60, "remind_every_seconds": 60},
            {"target": "commander", "ack_within_seconds": 60, "remind_every_seconds": 30},
        ],
    )


def _timeline(alarm):
    return [e.action for e in alarm.entries.all()]


def test_a_raised_alarm_reaches_the_person_on_post_first(world, trapped):
    esc = AlarmEscalation.objects.get(alarm=trapped)
    assert esc.level == 1
    feed = Notification.objects.filter(event=world.event)
    assert {n.user for n in feed} == {world.post_a}
    assert "Trapped" in feed.get().title or trapped.rule.name in feed.get().title
    assert [m.to for m in mail.outbox] == [[world.post_a.email]]  # critical: e-mail by default


def test_an_unacknowledged_alarm_climbs_the_chain_then_keeps_reminding(world, report):
    _chain(world)
    from eventguard.alerts.models import Alarm
    from eventguard.telemetry.testing import elevator

    report(world.device_a, elevator(1, fault="trapped_away_from_floor"))
    alarm = Alarm.objects.get(rule__code="lift-trapped")
    start = timezone.now()
    assert services.escalations_due(now=start + dt.timedelta(seconds=30)) == 0  # not yet due

    services.escalations_due(now=start + dt.timedelta(seconds=61))
    assert AlarmEscalation.objects.get(alarm=alarm).level == 2
    users = set(Notification.objects.filter(kind="alarm.escalated").values_list("user", flat=True))
    assert users == {world.sup_a.pk}  # the supervisor of hall A, not of hall B

    services.escalations_due(now=start + dt.timedelta(seconds=122))
    services.escalations_due(now=start + dt.timedelta(seconds=153))
    services.escalations_due(now=start + dt.timedelta(seconds=184))
    esc = AlarmEscalation.objects.get(alarm=alarm)
    assert esc.level == 3 and esc.reminders == 2
    reminded = Notification.objects.filter(kind="alarm.reminder", user=world.commander)
    assert reminded.count() == 2 and reminded.first().title.startswith("Reminder:")
    actions = _timeline(alarm)
    assert actions.count("notified") == 1
    assert actions.count("escalated") == 2 and actions.count("reminded") == 2
    escalated = alarm.entries.filter(action="escalated").last()
    assert escalated.details["to"] == [world.commander.username]
    # Without a time of its own on the rule, each level's wait applies.
    assert alarm.rule.ack_within_seconds is None
    assert escalated.details["next_in_seconds"] == 30  # the last level: its reminder interval
    assert escalated.text == f"Escalated to level 3: Commander ({world.commander.username})"
    reminder = alarm.entries.filter(action="reminded").last()
    assert reminder.text == f"Reminder 2 at level 3: Commander ({world.commander.username})"

    alert_services.alarm_acknowledge(actor=world.commander, alarm=alarm)
    services.escalations_due(now=start + dt.timedelta(hours=1))
    assert AlarmEscalation.objects.get(alarm=alarm).finished
    assert Notification.objects.filter(kind="alarm.reminder").count() == 2


def test_two_workers_taking_the_same_step_take_it_once(world, trapped):
    later = timezone.now() + dt.timedelta(minutes=10)
    services.escalations_due(now=later, limit=1)
    level = AlarmEscalation.objects.get(alarm=trapped).level
    assert level == 2
    assert services.alarm_escalation_start(alarm_id=trapped.pk) is False  # already started
    assert AlarmEscalation.objects.filter(alarm=trapped).count() == 1


def test_alarms_raised_without_a_listener_are_adopted_by_the_timer(world, trapped):
    AlarmEscalation.objects.all().delete()
    assert services.escalations_adopt() == 1
    assert AlarmEscalation.objects.get(alarm=trapped).level == 1


def test_a_chain_refuses_unknown_targets_and_too_short_times(world):
    with pytest.raises(ValidationError) as info:
        services.escalation_chain_set(
            actor=world.commander,
            event=world.event,
            severity="major",
            levels=[{"target": "mayor", "ack_within_seconds": 60}],
        )
    assert "Level 1" in str(info.value)
    with pytest.raises(ValidationError):
        services.escalation_chain_set(
            actor=world.commander,
            event=world.event,
            severity="major",
            levels=[{"target": "commander", "ack_within_seconds": 1}],
        )
    with pytest.raises(PermissionDenied):
        _chain_by(world.post_a, world)


def _chain_by(actor, world):
    return services.escalation_chain_set(
        actor=actor, event=world.event, severity="major", levels=[{"target": "commander"}]
    )


def test_preferences_choose_what_reaches_a_person(world, report):
    services.notification_preference_set(
        actor=world.post_a, event=world.event, channel="email", enabled=False
    )
    services.notification_preference_set(
        actor=world.post_a, event=world.event, channel="feed", severities=["warning"]
    )
    from eventguard.telemetry.testing import elevator

    report(world.device_a, elevator(1, fault="trapped_away_from_floor"))
    assert not Notification.objects.filter(user=world.post_a).exists()
    assert mail.outbox == []
    with pytest.raises(ValidationError):
        services.notification_preference_set(actor=world.post_a, event=world.event, channel="pager")


def test_assign_and_comment_appear_on_the_timeline(world, trapped):
    alert_services.alarm_assign(actor=world.commander, alarm=trapped, assignee=world.post_a2)
    alert_services.alarm_comment(actor=world.post_a2, alarm=trapped, text="going up now")
    trapped.refresh_from_db()
    assert trapped.assignee == world.post_a2
    entries = list(trapped.entries.filter(action__in=["assigned", "commented"]))
    assert [(e.action, e.actor) for e in entries] == [
        ("assigned", world.commander),
        ("commented", world.post_a2),
    ]
    assert entries[1].note == "going up now"


def test_an_alarm_is_not_assigned_to_someone_who_cannot_see_it(world, trapped):
    with pytest.raises(ValidationError) as info:
        alert_services.alarm_assign(actor=world.commander, alarm=trapped, assignee=world.post_b)
    assert "may not see" in str(info.value)
    with pytest.raises(ValidationError):
        alert_services.alarm_comment(actor=world.post_a, alarm=trapped, text="   ")
    with pytest.raises(PermissionDenied):
        alert_services.alarm_comment(actor=world.auditor, alarm=trapped, text="hello")


def test_assign_and_comment_through_the_api(world, trapped):
    client, headers = api_client_for(world.commander)
    r = client.post(
        f"/api/alarms/{trapped.pk}/assign",
        {"assignee": world.post_a2.username},
        content_type="application/json",
        **headers,
    )
    assert r.status_code == 200, r.content
    assert r.json()["assignee"] == world.post_a2.username
    assert r.json()["timeline"][-1]["action"] == "assigned"
    r = client.post(
        f"/api/alarms/{trapped.pk}/comments",
        {"text": "lift B crew informed"},
        content_type="application/json",
        **headers,
    )
    assert r.status_code == 201 and r.json()["note"] == "lift B crew informed"
    r = client.post(
        f"/api/alarms/{trapped.pk}/assign",
        {"assignee": "nobody-here"},
        content_type="application/json",
        **headers,
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "assignee"
    other, other_headers = api_client_for(world.post_b)
    r = other.post(
        f"/api/alarms/{trapped.pk}/comments",
        {"text": "x"},
        content_type="application/json",
        **other_headers,
    )
    assert r.status_code == 404


def test_statistics_per_rule_zone_and_severity(world, trapped, report):
    alert_services.alarm_acknowledge(actor=world.commander, alarm=trapped)
    alert_services.alarm_clear(actor=world.commander, alarm=trapped, note="released")
    from eventguard.telemetry.testing import elevator

    report(world.device_b, elevator(1, fault="trapped_away_from_floor"))
    by_severity = alarm_statistics(user=world.commander, event=world.event, by="severity")
    assert by_severity == [
        {
            "key": "critical",
            "label": "critical",
            "count": 2,
            "open": 1,
            "mean_seconds_to_acknowledge": by_severity[0]["mean_seconds_to_acknowledge"],
            "mean_seconds_to_clear": by_severity[0]["mean_seconds_to_clear"],
        }
    ]
    assert by_severity[0]["mean_seconds_to_acknowledge"] >= 0
    by_zone = alarm_statistics(user=world.commander, event=world.event, by="zone")
    assert sorted(r["key"] for r in by_zone) == sorted([str(world.zone_a.pk), str(world.zone_b.pk)])
    # what the supervisor of hall B counts is hall B only
    mine = alarm_statistics(user=world.sup_b, event=world.event, by="rule")
    assert [(r["key"], r["count"], r["open"]) for r in mine] == [("lift-trapped", 1, 1)]
    client, headers = api_client_for(world.commander)
    r = client.get(f"/api/alarm-statistics?event={world.event.code}&by=zone", **headers)
    assert r.status_code == 200 and len(r.json()) == 2


def test_the_statistics_page_lists_each_group_and_links_to_its_alarms(world, trapped):
    from eventguard.core.testing import client_for

    client = client_for(world.commander)
    page = client.get(f"/e/{world.event.code}/command/statistics/?by=rule").content.decode()
    assert trapped.rule.name_zh in page or trapped.rule.name in page
    assert "?rule=lift-trapped" in page
    page = client.get(f"/e/{world.event.code}/command/statistics/?by=nonsense")
    assert page.status_code == 200 and "?severity=critical" in page.content.decode()


def _report_fault(world, report, device, fault):
    from eventguard.alerts.models import Alarm
    from eventguard.telemetry.testing import elevator

    report(device, elevator(1, fault=fault))
    return Alarm.objects.get(subject_id=device.subject_id, state="active")


def test_a_rule_with_its_own_time_escalates_before_one_on_the_chain_default(world, report):
    """Two critical alarms on the same chain (60 s a level): the one whose rule says 20 s
    reaches the zone supervisor first; reminders still follow the last level's interval."""
    from eventguard.alerts.models import Rule

    _chain(world)
    motion = Rule.objects.get(event=world.event, code="lift-dangerous-motion")
    alert_services.rule_update(actor=world.commander, rule=motion, ack_within_seconds=20)
    trapped = _report_fault(world, report, world.device_a, "trapped_away_from_floor")
    overspeed = _report_fault(world, report, world.device_b, "overspeed")
    assert overspeed.rule == motion and trapped.rule.ack_within_seconds is None
    start = timezone.now()

    services.escalations_due(now=start + dt.timedelta(seconds=25))
    assert AlarmEscalation.objects.get(alarm=overspeed).level == 2
    assert AlarmEscalation.objects.get(alarm=trapped).level == 1
    told = set(Notification.objects.filter(kind="alarm.escalated").values_list("user", flat=True))
    assert told == {world.sup_b.pk}  # the supervisor of hall B, where the overspeed is

    services.escalations_due(now=start + dt.timedelta(seconds=50))
    assert AlarmEscalation.objects.get(alarm=overspeed).level == 3
    assert AlarmEscalation.objects.get(alarm=trapped).level == 1
    services.escalations_due(now=start + dt.timedelta(seconds=61))
    assert AlarmEscalation.objects.get(alarm=trapped).level == 2

    # At the last level the reminders repeat every 30 s (the level's), not every 20 s.
    services.escalations_due(now=start + dt.timedelta(seconds=75))
    assert AlarmEscalation.objects.get(alarm=overspeed).reminders == 0
    services.escalations_due(now=start + dt.timedelta(seconds=81))
    assert AlarmEscalation.objects.get(alarm=overspeed).reminders == 1
    services.escalations_due(now=start + dt.timedelta(seconds=112))
    assert AlarmEscalation.objects.get(alarm=overspeed).reminders == 2

    alert_services.alarm_acknowledge(actor=world.commander, alarm=overspeed)
    services.escalations_due(now=start + dt.timedelta(hours=1))
    assert AlarmEscalation.objects.get(alarm=overspeed).reminders == 2
    waits = [e.details["next_in_seconds"] for e in overspeed.entries.filter(action="escalated")]
    assert waits == [20, 30]


def test_a_rule_with_a_longer_time_than_the_chain_still_escalates_at_the_chain_time(world, report):
    """Whoever may edit rules cannot keep alarms from the commanders by a long time: the
    chain's 60 s a level hold for a rule that says an hour."""
    from eventguard.alerts.models import Rule

    _chain(world)
    trapped_rule = Rule.objects.get(event=world.event, code="lift-trapped")
    alert_services.rule_update(actor=world.commander, rule=trapped_rule, ack_within_seconds=3600)
    trapped = _report_fault(world, report, world.device_a, "trapped_away_from_floor")
    start = timezone.now()

    services.escalations_due(now=start + dt.timedelta(seconds=61))
    assert AlarmEscalation.objects.get(alarm=trapped).level == 2
    step = trapped.entries.filter(action="escalated").get()
    assert step.details["next_in_seconds"] == 60
    services.escalations_due(now=start + dt.timedelta(seconds=122))
    assert AlarmEscalation.objects.get(alarm=trapped).level == 3


def test_an_alarm_acknowledged_while_its_first_level_is_told_tells_no_one(
    world, report, monkeypatch
):
    """The acknowledgement lands between the escalation's reading of the alarm and its
    commit: nothing of that first step is kept, and the escalation is over."""
    from eventguard.alerts.models import Alarm

    trapped = _report_fault(world, report, world.device_a, "trapped_away_from_floor")
    AlarmEscalation.objects.all().delete()  # as if the alarm had just been raised
    Notification.objects.all().delete()
    trapped.entries.filter(action="notified").delete()
    mail.outbox.clear()
    real_step = services._step

    def step_then_acknowledged(esc, alarm, now):
        real_step(esc, alarm, now)
        Alarm.objects.filter(pk=alarm.pk).update(state="acknowledged", acknowledged_at=now)

    monkeypatch.setattr(services, "_step", step_then_acknowledged)
    assert services.alarm_escalation_start(alarm_id=trapped.pk) is False
    esc = AlarmEscalation.objects.get(alarm=trapped)
    assert esc.finished and esc.level == 0
    assert not Notification.objects.exists() and not mail.outbox
    assert not trapped.entries.filter(action="notified").exists()
    monkeypatch.setattr(services, "_step", real_step)
    assert services.escalations_due(now=timezone.now() + dt.timedelta(hours=1)) == 0


@pytest.mark.django_db(transaction=True)
def test_telling_people_never_holds_up_the_ingest_on_the_alarm_row(world, report, monkeypatch):
    """While the first level is being told (a transaction that may take a while), the lift
    reports a normal status: the ingest clears the alarm without waiting for the escalation,
    and the escalation, finding the alarm cleared before its commit, keeps nothing."""
    import threading

    from django.db import connection

    from eventguard.alerts.models import Alarm
    from eventguard.telemetry.testing import elevator

    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite serialises the writers)")
    trapped = _report_fault(world, report, world.device_a, "trapped_away_from_floor")
    AlarmEscalation.objects.all().delete()  # as if the alarm had just been raised
    Notification.objects.all().delete()
    trapped.entries.filter(action="notified").delete()
    telling, release = threading.Event(), threading.Event()
    real_notify = services.notify

    def slow_notify(**kwargs):
        feed = real_notify(**kwargs)
        telling.set()
        release.wait(10)
        return feed

    monkeypatch.setattr(services, "notify", slow_notify)
    started = []

    def escalate():
        try:
            started.append(services.alarm_escalation_start(alarm_id=trapped.pk))
        finally:
            connection.close()

    thread = threading.Thread(target=escalate)
    thread.start()
    try:
        assert telling.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        try:
            report(world.device_a, elevator(2))
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
        assert Alarm.objects.get(pk=trapped.pk).state == "cleared"  # while people were told
    finally:
        release.set()
        thread.join(15)
    assert started == [False]
    assert AlarmEscalation.objects.get(alarm=trapped).finished
    assert not Notification.objects.filter(kind="alarm.raised").exists()
    assert not trapped.entries.filter(action="notified").exists()
