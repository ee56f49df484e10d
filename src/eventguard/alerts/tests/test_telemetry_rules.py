"""Telemetry rules, end to end through the one ingest path: faults, thresholds held for a
duration, rates of change, camera detections; one open alarm per (rule, subject)."""

import datetime as dt

from django.utils import timezone

from eventguard.alerts import services
from eventguard.alerts.models import Alarm, AlarmEntry, Rule
from eventguard.telemetry.testing import camera, elevator, ingest, temperature


def alarms(rule_code=None, **filters):
    qs = Alarm.objects.all()
    if rule_code:
        qs = qs.filter(rule__code=rule_code)
    return list(qs.filter(**filters).order_by("pk"))


def test_a_trapped_passenger_raises_a_critical_alarm_that_clears_on_a_normal_status(world):
    result = ingest(world.lift_a, elevator(1, fault="trapped_at_floor"))
    assert [a.rule.code for a in result.alarms.raised] == ["lift-trapped"]
    (alarm,) = alarms("lift-trapped")
    assert alarm.severity == "critical" and alarm.state == "active"
    assert alarm.subject_type == "core.unit" and alarm.subject_id == world.key_a.pk
    assert alarm.zone_id == world.zone_a.pk and alarm.domain == "equipment"
    assert alarm.details["fault"] == "trapped_at_floor" and alarm.details["device"] == "lc-a"

    ingest(
        world.lift_a, elevator(2, fault="trapped_at_floor"), elevator(3, fault="trapped_at_floor")
    )
    assert len(alarms("lift-trapped")) == 1, "a fault that goes on is the same alarm"

    ingest(world.lift_a, elevator(4))
    alarm.refresh_from_db()
    assert alarm.state == "cleared" and alarm.cleared_automatically
    assert alarm.cleared_by is None and alarm.cleared_at is not None
    assert [e.action for e in alarm.entries.order_by("at", "pk")] == ["raised", "cleared"]


def test_a_fault_that_comes_back_after_clearing_is_a_new_alarm(world):
    ingest(
        world.lift_a,
        elevator(1, fault="trapped_at_floor"),
        elevator(2),
        elevator(3, fault="trapped_at_floor"),
    )
    first, second = alarms("lift-trapped")
    assert first.state == "cleared" and second.state == "active"


def test_a_lift_fault_raises_only_the_rule_of_its_code(world):
    ingest(world.lift_b, elevator(1, fault="door_fault"))
    assert [a.rule.code for a in alarms()] == ["lift-door-power"]
    assert alarms()[0].severity == "minor"
    ingest(world.lift_b, elevator(2, fault="overspeed"))
    by_rule = {a.rule.code: a.state for a in alarms()}
    assert by_rule == {"lift-door-power": "cleared", "lift-dangerous-motion": "active"}


def test_a_frozen_box_above_minus_18_raises_only_once_it_held_for_ten_minutes(world):
    start = timezone.now() - dt.timedelta(minutes=30)
    at = lambda minutes: start + dt.timedelta(minutes=minutes)  # noqa: E731
    ingest(world.logger_1, temperature(1, -20, at=at(0)), temperature(2, -15, at=at(1)))
    ingest(world.logger_1, temperature(3, -14, at=at(6)))
    assert alarms("frozen-above-18") == [], "warm for five minutes only"
    ingest(world.logger_1, temperature(4, -12, at=at(11)))
    (alarm,) = alarms("frozen-above-18")
    assert alarm.severity == "major" and alarm.details["value"] == -12
    assert alarm.details["since"].startswith(at(1).astimezone(dt.UTC).isoformat()[:16])
    ingest(world.logger_1, temperature(5, -19, at=at(12)))
    alarm.refresh_from_db()
    assert alarm.state == "cleared"


def test_a_short_warm_spell_starts_the_clock_again(world):
    start = timezone.now() - dt.timedelta(minutes=30)
    at = lambda minutes: start + dt.timedelta(minutes=minutes)  # noqa: E731
    ingest(world.logger_1, temperature(1, -15, at=at(0)), temperature(2, -19, at=at(5)))
    ingest(world.logger_1, temperature(3, -15, at=at(6)), temperature(4, -15, at=at(12)))
    assert alarms("frozen-above-18") == []


def test_a_warehouse_stays_in_alarm_while_any_of_its_loggers_is_too_warm(world):
    start = timezone.now() - dt.timedelta(minutes=30)
    at = lambda minutes: start + dt.timedelta(minutes=minutes)  # noqa: E731
    for logger in (world.logger_1, world.logger_2):
        ingest(logger, temperature(1, -10, at=at(0)), temperature(2, -10, at=at(11)))
    (alarm,) = alarms("frozen-above-18")
    ingest(world.logger_1, temperature(3, -20, at=at(12)))
    alarm.refresh_from_db()
    assert alarm.state == "active", "logger 2 is still warm"
    ingest(world.logger_2, temperature(3, -20, at=at(13)))
    alarm.refresh_from_db()
    assert alarm.state == "cleared"


def test_the_loggers_of_many_warehouses_cooling_in_one_batch_are_checked_in_one_query(world):
    """Each ending asks whether another logger of its subject is still warm: for a batch in
    which many conditions end, that is one question to the database, not one per ending."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from eventguard.core.testing import make_unit
    from eventguard.telemetry.services import telemetry_ingest
    from eventguard.telemetry.testing import inbound, make_device

    start = timezone.now() - dt.timedelta(minutes=30)
    at = lambda minutes: start + dt.timedelta(minutes=minutes)  # noqa: E731
    pairs = []
    for n in range(6):
        warehouse = make_unit(world.event, category="coldchain_warehouse")
        pairs.append(
            [make_device(world.event, subject=warehouse, code=f"tl-w{n}-{i}")[0] for i in (1, 2)]
        )
    for n, (first, second) in enumerate(pairs):
        ingest(first, temperature(1, -10, at=at(0)), temperature(2, -10, at=at(11)))
        # The second logger of the first three warehouses is warm too, the others cold.
        celsius = -10 if n < 3 else -25
        ingest(second, temperature(1, celsius, at=at(0)), temperature(2, celsius, at=at(11)))
    assert len(alarms("frozen-above-18", state="active")) == 6

    cooled = [inbound(first, temperature(3, -20, at=at(12))) for first, _second in pairs]
    with CaptureQueriesContext(connection) as queries:
        telemetry_ingest(messages=cooled)
    asked = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT")
        and '"telemetry_device"."subject_id"' in q["sql"].partition("WHERE")[2]
    ]
    assert len(asked) == 1, asked

    states = [a.state for a in alarms("frozen-above-18")]
    assert states == ["active"] * 3 + ["cleared"] * 3, "held while the other logger is warm"


def test_a_temperature_rising_fast_raises_a_warning(world):
    start = timezone.now() - dt.timedelta(minutes=10)
    ingest(world.logger_1, temperature(1, -20, at=start))
    ingest(world.logger_1, temperature(2, -19, at=start + dt.timedelta(seconds=60)))
    assert alarms("temperature-rising-fast") == []
    ingest(world.logger_1, temperature(3, -14, at=start + dt.timedelta(seconds=120)))
    (alarm,) = alarms("temperature-rising-fast")
    assert alarm.severity == "warning" and alarm.details["change"] == 5.0


def test_every_camera_detection_counts_on_the_one_open_alarm(world):
    ingest(world.camera, camera(1, "no_chef_hat"), camera(2, "smoking"), camera(3, "no_mask", 0.5))
    (alarm,) = alarms("kitchen-hygiene")
    assert alarm.count == 2, "the low-confidence detection does not count"
    assert alarm.condition_active is False
    ingest(world.camera, camera(4, "rodent", 0.7))
    assert alarms("kitchen-rodent")[0].severity == "major"
    assert AlarmEntry.objects.filter(alarm=alarm, action="repeated").count() == 1


def test_a_disabled_rule_raises_nothing_and_an_edited_one_takes_effect(world):
    rule = Rule.objects.get(event=world.event, code="lift-trapped")
    services.rule_disable(actor=None, rule=rule)
    ingest(world.lift_a, elevator(1, fault="trapped_at_floor"))
    assert alarms("lift-trapped") == []
    services.rule_enable(actor=None, rule=rule)
    services.rule_update(
        actor=None, rule=rule, params={"codes": ["trapped_at_floor", "power_cut"]}, severity="major"
    )
    ingest(world.lift_b, elevator(1, fault="power_cut"))
    assert [a.severity for a in alarms("lift-trapped")] == ["major"]


def test_rules_of_one_event_do_not_fire_in_another(world):
    from eventguard.core.testing import make_event, make_unit
    from eventguard.telemetry.testing import make_device

    other = make_event()
    lift = make_device(other, subject=make_unit(other), kind="lift_controller")[0]
    ingest(lift, elevator(1, fault="trapped_at_floor"))
    assert alarms() == [], "the other event has no rules"
