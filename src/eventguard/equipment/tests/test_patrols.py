"""Patrols: the idempotent plan, QR start, the versioned checklist, findings that become
hidden dangers in one step, overdue patrols and the patrols-per-day figure."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from eventguard.core.figures import figures_report
from eventguard.core.testing import api_client_for, client_for
from eventguard.equipment import selectors, services
from eventguard.equipment.models import Patrol, PatrolStatus
from eventguard.equipment.testing import make_equipment, photo, publish_checklists
from eventguard.hazards.models import Hazard


@pytest.fixture
def checklists(world):
    return publish_checklists(world.event)


def test_the_plan_puts_two_patrols_a_day_and_runs_again_harmlessly(world):
    boiler = make_equipment(world.event, kind="boiler", zone=world.zone_a, user_unit=world.unit_a)
    created = services.patrol_plan_generate(actor=None, event=world.event)
    assert created == 2 * 6 * 2  # two lifts, six days, two windows
    assert services.patrol_plan_generate(actor=None, event=world.event) == 0
    assert Patrol.objects.count() == 24
    assert not Patrol.objects.filter(equipment=boiler).exists()
    first = Patrol.objects.filter(equipment=world.lift_a).order_by("window_start").first()
    start = timezone.localtime(first.window_start)
    assert (first.day, start.hour) == (world.event.opening, 9)


def test_configured_windows_change_the_plan(world):
    services.equipment_settings_set(
        actor=world.supervisor,
        event=world.event,
        open_from=dt.time(8),
        open_until=dt.time(20),
        patrol_windows=[["08:00", "10:00"], ["12:00", "14:00"], ["16:00", "19:00"]],
    )
    assert (
        services.patrol_plan_generate(actor=None, event=world.event, days=[world.event.opening])
        == 2 * 3
    )
    with pytest.raises(ValidationError):
        services.equipment_settings_set(
            actor=None,
            event=world.event,
            open_from=dt.time(8),
            open_until=dt.time(20),
            patrol_windows=[["08:00", "11:00"], ["10:00", "12:00"]],
        )


def test_a_zone_scoped_planner_plans_only_its_zones(world):
    created = services.patrol_plan_generate(
        actor=world.inspector, event=world.event, days=[world.event.opening]
    )
    assert created == 2
    assert set(Patrol.objects.values_list("equipment_id", flat=True)) == {world.lift_a.pk}


def test_publishing_again_makes_a_new_version_and_patrols_keep_theirs(world, checklists):
    lift_v1 = checklists["lift"]
    patrol = services.patrol_start(actor=world.post_a, equipment=world.lift_a)
    assert patrol.checklist == lift_v1
    v2 = services.checklist_publish(
        actor=None,
        event=world.event,
        code="lift",
        name_zh="电梯巡查表",
        kinds=["lift"],
        items=[*lift_v1.items, {"code": "light", "text_zh": "照明正常", "text_en": "Lights"}],
    )
    assert v2.version == 2
    patrol.refresh_from_db()
    assert patrol.checklist == lift_v1
    assert services.current_checklist(world.event, "lift") == v2


def test_start_takes_the_open_planned_patrol_else_an_unplanned_one(world, checklists):
    now = timezone.now()
    planned = Patrol.objects.create(
        event=world.event,
        equipment=world.lift_a,
        day=timezone.localdate(),
        window_start=now - dt.timedelta(hours=1),
        window_end=now + dt.timedelta(hours=1),
    )
    started = services.patrol_start(actor=world.post_a, equipment=world.lift_a)
    assert started == planned and started.status == PatrolStatus.IN_PROGRESS
    assert services.patrol_start(actor=world.post_a, equipment=world.lift_a) == planned  # resume
    other = services.patrol_start(actor=world.supervisor, equipment=world.lift_b)
    assert not other.planned and other.performed_by == world.supervisor
    with pytest.raises(PermissionDenied):
        services.patrol_start(actor=world.post_a, equipment=world.lift_b)


def test_no_checklist_no_patrol(world):
    with pytest.raises(ValidationError) as exc:
        services.patrol_start(actor=world.post_a, equipment=world.lift_a)
    assert "No patrol checklist" in " ".join(exc.value.messages)


def test_every_item_must_be_answered_and_a_fault_described(world, checklists):
    patrol = services.patrol_start(actor=world.post_a, equipment=world.lift_a)
    with pytest.raises(ValidationError) as exc:
        services.patrol_complete(actor=world.post_a, patrol=patrol, answers={"doors": "ok"})
    assert "is not answered" in " ".join(exc.value.messages)
    with pytest.raises(ValidationError) as exc:
        services.patrol_complete(
            actor=world.post_a, patrol=patrol, answers={"doors": "fault", "alarm": "ok"}
        )
    assert "describe the fault" in " ".join(exc.value.messages)
    with pytest.raises(PermissionDenied):
        services.patrol_complete(
            actor=world.inspector, patrol=patrol, answers={"doors": "ok", "alarm": "ok"}
        )
    patrol.refresh_from_db()
    assert patrol.status == PatrolStatus.IN_PROGRESS and not Hazard.objects.exists()


def test_a_finding_becomes_a_hidden_danger_in_one_step(world, checklists, _media_root):
    patrol = services.patrol_start(actor=world.post_a, equipment=world.lift_a)
    patrol, hazards = services.patrol_complete(
        actor=world.post_a,
        patrol=patrol,
        answers={"doors": "fault", "alarm": "ok"},
        findings={
            "doors": services.Finding(description="层门关闭卡阻", grade="major", photos=[photo()])
        },
    )
    assert patrol.status == PatrolStatus.COMPLETED and patrol.completed_at
    (hazard,) = hazards
    assert hazard.status == "reported" and hazard.grade == "major"
    assert hazard.source == "patrol" and hazard.source_ref == f"patrol:{patrol.pk}"
    assert (hazard.equipment, hazard.zone, hazard.unit) == (
        world.lift_a,
        world.zone_a,
        world.unit_a,
    )
    assert hazard.reported_by == world.post_a and hazard.photos.count() == 1
    assert list(selectors.patrol_hazards(patrol, user=world.post_a)) == [hazard]
    # The unit operator sees it at once, to answer it.
    assert (
        client_for(world.operator_a)
        .get(reverse("hazards:hazard_detail", args=[world.event.code, hazard.pk]))
        .status_code
        == 200
    )


def test_the_walk_page_completes_the_patrol_and_reports_the_fault(world, checklists):
    client = client_for(world.post_a)
    start = reverse("equipment:patrol_start", args=[world.event.code, world.lift_a.pk])
    assert client.get(start).status_code == 200
    response = client.post(start)
    patrol = Patrol.objects.get(equipment=world.lift_a)
    assert response.url == reverse("equipment:patrol_walk", args=[world.event.code, patrol.pk])
    walk = client.get(response.url).content.decode()
    assert "层门、轿门开关正常" in walk or "Doors open" in walk
    done = client.post(
        response.url,
        {
            "answer_doors": "fault",
            "finding_doors": "门机异响",
            "grade_doors": "general",
            "answer_alarm": "ok",
            "grade_alarm": "general",
            "notes": "",
        },
        follow=True,
    )
    assert done.status_code == 200
    patrol.refresh_from_db()
    assert patrol.status == PatrolStatus.COMPLETED
    hazard = Hazard.objects.get(source_ref=f"patrol:{patrol.pk}")
    assert hazard.title == f"{world.lift_a.code} · 门机异响"
    assert hazard.description.startswith("门机异响")


def test_the_api_completes_a_patrol(world, checklists):
    client, headers = api_client_for(world.post_a)
    started = client.post(f"/api/equipment/{world.lift_a.pk}/patrols/start", **headers)
    assert started.status_code == 200
    patrol_id = started.json()["id"]
    body = client.post(
        f"/api/equipment/patrols/{patrol_id}/complete",
        {
            "answers": {"doors": "ok", "alarm": "fault"},
            "findings": {"alarm": {"description": "无声"}},
        },
        content_type="application/json",
        **headers,
    ).json()
    assert body["patrol"]["status"] == "completed" and len(body["hazards"]) == 1


def _complete(patrol, person, checklist):
    services.patrol_bulk_record(
        actor=None,
        records=[
            services.PatrolRecord(
                patrol=patrol,
                person=person,
                checklist=checklist,
                started_at=patrol.window_start,
                completed_at=patrol.window_start + dt.timedelta(minutes=5),
                answers={i["code"]: "ok" for i in checklist.items},
            )
        ],
    )


def test_min_patrols_per_day_counts_every_lift_on_every_event_day(world, checklists):
    services.patrol_plan_generate(actor=None, event=world.event)
    key = "equipment.min_patrols_per_elevator_day"
    assert figures_report(world.event, keys=[key])["figures"][key]["value"] == 0
    patrols = list(Patrol.objects.select_related("equipment", "event"))
    for patrol in patrols:
        _complete(patrol, world.post_a, checklists["lift"])
    report = figures_report(world.event, keys=[key])["figures"][key]
    assert report["value"] == 2
    assert "status=completed" in report["records_url"]
    extra = make_equipment(world.event, kind="escalator", zone=world.zone_a, user_unit=world.unit_a)
    assert figures_report(world.event, keys=[key])["figures"][key]["value"] == 0  # never patrolled
    assert extra.pk


def test_overdue_patrols_are_listed(world):
    services.patrol_plan_generate(actor=None, event=world.event)  # 2021: all windows have passed
    overdue = selectors.patrol_list(
        user=world.supervisor, event=world.event, filters=selectors.PatrolFilters(overdue=True)
    )
    assert overdue.count() == 24
    page = client_for(world.supervisor).get(
        reverse("equipment:patrol_list", args=[world.event.code]) + "?overdue=true"
    )
    assert page.status_code == 200 and "24" in page.content.decode()


def test_bulk_record_refuses_a_wrong_checklist_or_unanswered_items(world, checklists):
    services.patrol_plan_generate(actor=None, event=world.event, days=[world.event.opening])
    patrol = Patrol.objects.filter(equipment=world.lift_a).first()
    with pytest.raises(ValidationError):
        _complete(patrol, world.post_a, checklists["escalator"])
    with pytest.raises(PermissionDenied):
        services.patrol_bulk_record(actor=world.supervisor, records=[])


def test_the_periodic_task_plans_the_open_days_once(world):
    from eventguard.equipment.tasks import plan_patrols_ahead

    first_day = world.event.opening
    assert plan_patrols_ahead(days_ahead=1, today=first_day) == 2 * 2 * 2
    assert plan_patrols_ahead(days_ahead=1, today=first_day) == 0
    assert plan_patrols_ahead(today=world.event.closing + dt.timedelta(days=5)) == 0
