"""The hidden-danger closed loop: every transition, every refusal, the timeline, overdue."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from eventguard.core.audit import audit_verify
from eventguard.core.figures import figures_report
from eventguard.core.models import AuditEntry
from eventguard.hazards import selectors, services
from eventguard.hazards.models import Hazard, HazardStatus


def report(w, actor=None, **fields):
    defaults = {
        "title": "扶梯梳齿板断齿",
        "description": "下部梳齿板断齿2个",
        "equipment": w.lift_a,
    }
    defaults.update(fields)
    return services.hazard_report(actor=actor, event=w.event, **defaults)


def assign(w, hazard, actor=None, hours=24, **fields):
    defaults = {
        "assignee": w.operator_a,
        "measure": "更换梳齿板",
        "deadline": timezone.now() + dt.timedelta(hours=hours),
    }
    defaults.update(fields)
    return services.hazard_assign(actor=actor, hazard=hazard, **defaults)


def messages_of(exc) -> str:
    return " ".join(exc.value.messages)


def test_report_takes_zone_and_unit_from_the_equipment_and_starts_the_timeline(world):
    hazard = report(world, actor=world.post_a)
    assert hazard.status == HazardStatus.REPORTED
    assert hazard.zone == world.zone_a and hazard.unit == world.unit_a
    steps = list(hazard.steps.all())
    assert [(s.action, s.to_status, s.actor) for s in steps] == [
        ("report", "reported", world.post_a)
    ]
    assert AuditEntry.objects.filter(action="hazard.report", object_id=str(hazard.pk)).exists()


def test_the_whole_loop_closes_with_every_step_on_the_timeline(world):
    hazard = report(world, actor=world.inspector)
    hazard = assign(world, hazard, actor=world.supervisor)
    assert hazard.status == HazardStatus.ASSIGNED
    assert hazard.assignee == world.operator_a
    hazard = services.hazard_rectify(
        actor=world.operator_a, hazard=hazard, evidence="已更换梳齿板，试运行正常"
    )
    assert hazard.status == HazardStatus.RECTIFIED and hazard.rectified_at is not None
    hazard = services.hazard_accept(actor=world.inspector, hazard=hazard, note="复查合格")
    assert hazard.status == HazardStatus.CLOSED and hazard.closed_at is not None
    assert not hazard.is_open
    timeline = [(s.action, s.from_status, s.to_status, s.actor, s.note) for s in hazard.steps.all()]
    assert timeline == [
        ("report", "", "reported", world.inspector, "下部梳齿板断齿2个"),
        ("assign", "reported", "assigned", world.supervisor, ""),
        ("rectify", "assigned", "rectified", world.operator_a, "已更换梳齿板，试运行正常"),
        ("accept", "rectified", "closed", world.inspector, "复查合格"),
    ]
    assert audit_verify().ok


def test_reject_sends_it_back_to_assigned_with_the_reason(world):
    hazard = assign(world, report(world))
    hazard = services.hazard_rectify(actor=world.operator_a, hazard=hazard, evidence="已处理")
    hazard = services.hazard_reject(
        actor=world.supervisor, hazard=hazard, reason="复查发现仍有断齿"
    )
    assert hazard.status == HazardStatus.ASSIGNED
    assert hazard.rejections == 1
    assert hazard.rectified_at is None and hazard.rectification_note == ""
    last = hazard.steps.last()
    assert (last.action, last.to_status, last.note) == ("reject", "assigned", "复查发现仍有断齿")
    # It goes round again and can then be closed.
    hazard = services.hazard_rectify(actor=world.operator_a, hazard=hazard, evidence="再次更换")
    hazard = services.hazard_accept(actor=world.supervisor, hazard=hazard)
    assert hazard.status == HazardStatus.CLOSED
    assert [s.action for s in hazard.steps.all()] == [
        "report",
        "assign",
        "rectify",
        "reject",
        "rectify",
        "accept",
    ]


@pytest.mark.parametrize(
    ("missing", "field", "words"),
    [
        ("assignee", "assignee", "responsible person is missing"),
        ("measure", "measure", "measure is missing"),
        ("deadline", "deadline", "deadline is missing"),
    ],
)
def test_assign_names_the_missing_precondition(world, missing, field, words):
    hazard = report(world)
    values = {
        "assignee": world.operator_a,
        "measure": "更换",
        "deadline": timezone.now() + dt.timedelta(days=1),
    }
    values[missing] = None if missing != "measure" else ""
    with pytest.raises(ValidationError) as exc:
        services.hazard_transition(actor=world.supervisor, hazard=hazard, action="assign", **values)
    assert field in exc.value.error_dict
    assert hazard.code in messages_of(exc) and words in messages_of(exc)
    hazard.refresh_from_db()
    assert hazard.status == HazardStatus.REPORTED and hazard.steps.count() == 1


def test_a_deadline_in_the_past_is_refused(world):
    with pytest.raises(ValidationError) as exc:
        assign(world, report(world), actor=world.supervisor, hours=-1)
    assert "deadline must lie in the future" in messages_of(exc)


def test_the_assignee_must_hold_a_role_in_the_event(world):
    from eventguard.core.testing import make_user

    with pytest.raises(ValidationError) as exc:
        assign(world, report(world), assignee=make_user())
    assert "holds no role in this event" in messages_of(exc)


def test_rectify_needs_evidence_and_reject_needs_a_reason(world):
    hazard = assign(world, report(world))
    with pytest.raises(ValidationError) as exc:
        services.hazard_rectify(actor=world.operator_a, hazard=hazard, evidence="  ")
    assert "rectification evidence is missing" in messages_of(exc)
    hazard = services.hazard_rectify(actor=world.operator_a, hazard=hazard, evidence="done")
    with pytest.raises(ValidationError) as exc:
        services.hazard_reject(actor=world.supervisor, hazard=hazard, reason="")
    assert "reason for the rejection is missing" in messages_of(exc)


def test_steps_out_of_order_are_refused_naming_what_must_come_first(world):
    hazard = report(world)
    with pytest.raises(ValidationError) as exc:
        services.hazard_rectify(actor=world.operator_a, hazard=hazard, evidence="x")
    assert "cannot rectify it while it is Reported" in messages_of(exc)
    assert "must first be Assigned" in messages_of(exc)
    with pytest.raises(ValidationError) as exc:
        services.hazard_accept(actor=world.supervisor, hazard=hazard)
    assert "must first be Rectified" in messages_of(exc)
    closed = services.hazard_accept(
        actor=None,
        hazard=services.hazard_rectify(
            actor=None, hazard=assign(world, report(world)), evidence="x"
        ),
    )
    for action in ("assign", "rectify", "accept", "reject"):
        with pytest.raises(ValidationError):
            services.hazard_transition(actor=None, hazard=closed, action=action, note="x")
    with pytest.raises(ValidationError) as exc:
        services.hazard_transition(actor=None, hazard=closed, action="delete")
    assert "Unknown action" in messages_of(exc)


def test_a_unit_operator_answers_but_does_not_assign_or_verify(world):
    hazard = report(world, actor=world.post_a)
    with pytest.raises(PermissionDenied):
        assign(world, hazard, actor=world.operator_a)
    hazard = assign(world, hazard, actor=world.inspector)
    assert services.actions_for(world.operator_a, hazard) == ["rectify"]
    hazard = services.hazard_rectify(actor=world.operator_a, hazard=hazard, evidence="已整改")
    with pytest.raises(PermissionDenied) as exc:
        services.hazard_accept(actor=world.operator_a, hazard=hazard)
    assert "only the bureau's staff" in str(exc.value)
    assert services.actions_for(world.operator_a, hazard) == []
    assert services.actions_for(world.inspector, hazard) == ["accept", "reject"]


def test_another_units_operator_may_not_touch_it(world):
    hazard = assign(world, report(world))
    with pytest.raises(PermissionDenied):
        services.hazard_rectify(actor=world.operator_b, hazard=hazard, evidence="x")
    assert services.actions_for(world.operator_b, hazard) == []


def test_post_staff_report_only_in_their_own_zones(world):
    assert report(world, actor=world.post_a).zone == world.zone_a
    with pytest.raises(PermissionDenied):
        report(world, actor=world.post_a, equipment=world.lift_b)
    with pytest.raises(PermissionDenied):
        report(world, actor=world.post_a, equipment=None, zone=None)


def test_only_the_system_records_past_times(world):
    past = timezone.now() - dt.timedelta(days=3)
    with pytest.raises(PermissionDenied):
        report(world, actor=world.inspector, at=past)
    assert report(world, at=past).reported_at == past


def test_overdue_is_open_and_past_the_deadline(world):
    past = timezone.now() - dt.timedelta(days=3)
    soon = past + dt.timedelta(hours=2)
    late = assign(world, report(world, at=past), at=past + dt.timedelta(minutes=5), deadline=soon)
    assert late.is_overdue()
    on_time = assign(world, report(world, at=past), at=past, deadline=soon)
    on_time = services.hazard_rectify(
        actor=None, hazard=on_time, evidence="done", at=past + dt.timedelta(hours=1)
    )
    assert not on_time.is_overdue()  # rectified in time, waiting for verification
    fresh = assign(world, report(world), hours=48)
    assert not fresh.is_overdue()
    closed = services.hazard_accept(
        actor=None,
        hazard=services.hazard_rectify(
            actor=None,
            hazard=assign(world, report(world, at=past), at=past, deadline=soon),
            evidence="late but done",
        ),
    )
    assert not closed.is_overdue()
    reported_only = report(world)

    overdue = selectors.hazard_list(
        user=world.supervisor, event=world.event, filters=selectors.HazardFilters(overdue=True)
    )
    assert list(overdue) == [late]
    report_ = figures_report(world.event, keys=["hazards.open", "hazards.overdue"])["figures"]
    assert report_["hazards.overdue"]["value"] == 1
    assert report_["hazards.open"]["value"] == 4  # late, on_time, fresh, reported_only
    assert report_["hazards.overdue"]["records_url"].endswith("?overdue=true")
    assert set(
        Hazard.objects.filter(pk__in=[late.pk, on_time.pk, fresh.pk, reported_only.pk])
    ) == set(
        selectors.hazard_list(
            user=world.supervisor, event=world.event, filters=selectors.HazardFilters(open=True)
        )
    )
