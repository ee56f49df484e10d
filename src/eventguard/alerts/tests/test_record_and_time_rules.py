"""Record rules (domain events on the bus) and time rules (registered conditions, run by
every worker at once, safely), and the offline rule."""

import datetime as dt

import pytest
from django.utils import timezone

from eventguard.alerts import services, tasks
from eventguard.alerts.models import Alarm, Rule
from eventguard.core import conditions, subjects
from eventguard.core.bus import publish
from eventguard.telemetry.testing import ingest, temperature


def open_alarms(code):
    return list(Alarm.objects.filter(rule__code=code, state__in=["active", "acknowledged"]))


# ---------------------------------------------------------------- record rules


def test_a_failed_rapid_test_raises_an_alarm_on_its_unit(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        publish(
            "food.rapid_test.recorded",
            rapid_test_id=41,
            event_id=world.event.pk,
            unit_id=world.kitchen.pk,
            item="pesticide residue",
            passed=False,
        )
    (alarm,) = open_alarms("rapid-test-failed")
    assert alarm.subject_type == "core.unit" and alarm.subject_id == world.kitchen.pk
    assert alarm.domain == "food" and alarm.severity == "major"
    assert alarm.details["item"] == "pesticide residue"
    assert alarm.condition_active is False, "a record is a point event: cleared only by hand"


def test_a_passed_rapid_test_raises_nothing_and_a_second_failure_counts(
    world, django_capture_on_commit_callbacks
):
    def rapid_test(passed):
        with django_capture_on_commit_callbacks(execute=True):
            publish(
                "food.rapid_test.recorded",
                rapid_test_id=1,
                event_id=world.event.pk,
                unit_id=world.kitchen.pk,
                passed=passed,
            )

    rapid_test(True)
    assert open_alarms("rapid-test-failed") == []
    rapid_test(False)
    rapid_test(False)
    (alarm,) = open_alarms("rapid-test-failed")
    assert alarm.count == 2


def test_a_positive_nat_result_raises_a_critical_alarm_before_the_cold_chain_is_installed(
    world, django_capture_on_commit_callbacks
):
    label = "coldchain.box"
    registered = subjects.kind(label)
    subjects.unregister(label)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            publish(
                "coldchain.sample.result_recorded",
                sample_id=7,
                box_id=4471,
                event_id=world.event.pk,
                result="positive",
            )
    finally:
        if registered is not None:
            subjects._kinds[label] = registered
    (alarm,) = open_alarms("nat-positive")
    assert alarm.severity == "critical" and alarm.subject_type == "coldchain.box"
    assert alarm.subject_id == 4471 and alarm.subject_name == "coldchain.box #4471"
    assert alarm.domain == "coldchain"


def test_a_major_hidden_danger_raises_an_alarm_in_its_zone(
    world, django_capture_on_commit_callbacks
):
    label = "hazards.hazard"
    registered = subjects.kind(label)
    subjects.unregister(label)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            for grade in ("general", "major"):
                publish(
                    "hazards.hazard.reported",
                    hazard_id=90 if grade == "major" else 91,
                    event_id=world.event.pk,
                    grade=grade,
                    zone_id=world.zone_b.pk,
                    unit_id=world.key_b.pk,
                )
    finally:
        if registered is not None:
            subjects._kinds[label] = registered
    (alarm,) = open_alarms("major-hazard-reported")
    assert alarm.subject_id == 90 and alarm.zone_id == world.zone_b.pk
    assert alarm.unit_id == world.key_b.pk


def test_a_domain_event_of_another_event_or_without_one_raises_nothing(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        publish("food.rapid_test.recorded", unit_id=world.kitchen.pk, passed=False)
        publish(
            "food.rapid_test.recorded",
            event_id=world.event.pk + 1000,
            unit_id=world.kitchen.pk,
            passed=False,
        )
    assert Alarm.objects.count() == 0


def test_a_record_naming_an_unknown_subject_raises_nothing(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        publish("food.rapid_test.recorded", event_id=world.event.pk, unit_id=999999, passed=False)
        publish("food.rapid_test.recorded", event_id=world.event.pk, passed=False)
    assert Alarm.objects.count() == 0


# ---------------------------------------------------------------- time rules

FLAG = "overdue-in-test"


@pytest.fixture
def overdue_condition():
    """A condition registered by the test: units whose notes say they are overdue."""
    from eventguard.core.models import Unit

    def units_overdue(event, now, params):
        for unit in Unit.objects.filter(event=event, notes__contains=FLAG):
            yield conditions.Hit(subject=subjects.ref_for(unit), details={"hours": params["hours"]})

    conditions.register(
        "test.overdue", label="Overdue in a test", domain="hazards", defaults={"hours": 1}
    )(units_overdue)
    yield "test.overdue"
    conditions.unregister("test.overdue")


def flag(unit, on: bool):
    from eventguard.core.services import unit_update

    unit_update(actor=None, unit=unit, notes=FLAG if on else "")


@pytest.fixture
def time_rule(world, overdue_condition):
    return services.rule_create(
        actor=None,
        event=world.event,
        code="test-overdue",
        name_zh="测试超期",
        kind="condition",
        severity="major",
        domain="hazards",
        params={"condition": overdue_condition, "options": {"hours": 6}},
        interval_seconds=60,
    )


def test_a_time_rule_raises_for_subjects_that_meet_its_condition_and_clears_when_they_stop(
    world, time_rule
):
    flag(world.key_a, True)
    now = timezone.now()
    tasks.run_due_rules(now=now)
    (alarm,) = open_alarms("test-overdue")
    assert alarm.subject_id == world.key_a.pk and alarm.details["hours"] == 6
    assert alarm.details["condition"] == "test.overdue"

    flag(world.key_a, False)
    tasks.run_due_rules(now=now + dt.timedelta(seconds=30))
    assert len(open_alarms("test-overdue")) == 1, "not due again before its interval"
    tasks.run_due_rules(now=now + dt.timedelta(seconds=61))
    alarm.refresh_from_db()
    assert alarm.state == "cleared" and alarm.cleared_automatically


def test_a_subject_that_still_meets_the_condition_is_not_raised_twice(world, time_rule):
    flag(world.key_a, True)
    now = timezone.now()
    for minutes in (0, 2, 4):
        tasks.run_due_rules(now=now + dt.timedelta(minutes=minutes))
    assert len(open_alarms("test-overdue")) == 1
    assert open_alarms("test-overdue")[0].count == 1


def test_running_the_timers_twice_at_once_evaluates_a_rule_once(world, time_rule):
    flag(world.key_a, True)
    now = timezone.now()
    assert tasks.run_due_rules(now=now) >= 1
    assert tasks.run_due_rules(now=now) == 0, "the first run moved it to its next time"
    time_rule.refresh_from_db()
    assert time_rule.next_run_at == now + dt.timedelta(seconds=60)


def test_a_rule_whose_condition_is_not_installed_waits_quietly(world):
    rule = services.rule_create(
        actor=None,
        event=world.event,
        code="not-installed",
        name_zh="未安装",
        kind="condition",
        severity="minor",
        params={"condition": "nobody.registers.this"},
    )
    tasks.run_due_rules()
    rule.refresh_from_db()
    assert rule.next_run_at is not None


def test_a_failing_condition_does_not_hold_up_the_others(world, time_rule):
    def broken(event, now, params):
        raise RuntimeError("domain bug")
        yield  # pragma: no cover

    conditions.register("test.broken", label="Broken", domain="hazards")(broken)
    try:
        services.rule_create(
            actor=None,
            event=world.event,
            code="broken",
            name_zh="坏",
            kind="condition",
            severity="minor",
            domain="hazards",
            params={"condition": "test.broken"},
        )
        flag(world.key_a, True)
        tasks.run_due_rules()
        assert len(open_alarms("test-overdue")) == 1
        assert Rule.objects.get(code="broken").next_run_at is not None
    finally:
        conditions.unregister("test.broken")


def test_a_device_silent_past_its_timeout_is_offline_until_it_reports_again(world):
    long_ago = timezone.now() - dt.timedelta(hours=1)
    ingest(world.logger_1, temperature(1, -20, at=long_ago), now=long_ago)
    ingest(world.logger_2, temperature(1, -20))  # just heard from; the lifts never were
    tasks.run_due_rules()
    (alarm,) = open_alarms("device-offline")
    assert alarm.subject_type == "telemetry.device" and alarm.subject_id == world.logger_1.pk
    assert alarm.severity == "warning" and alarm.details["device"] == "tl-1"

    ingest(world.logger_1, temperature(2, -20))
    tasks.run_due_rules(now=timezone.now() + dt.timedelta(seconds=20))
    alarm.refresh_from_db()
    assert alarm.state == "cleared"


def test_a_device_may_have_its_own_timeout(world):
    from eventguard.telemetry.services import device_update

    device_update(actor=None, device=world.logger_1, offline_after=3600)
    half_an_hour_ago = timezone.now() - dt.timedelta(minutes=30)
    ingest(world.logger_1, temperature(1, -20, at=half_an_hour_ago), now=half_an_hour_ago)
    tasks.run_due_rules()
    assert open_alarms("device-offline") == []
