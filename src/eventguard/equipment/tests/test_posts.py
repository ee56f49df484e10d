"""Fixed posts: shifts over the open hours, the coverage view, signing on and off."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from eventguard.core.figures import figures_report
from eventguard.core.testing import api_client_for, make_member
from eventguard.equipment import selectors, services
from eventguard.equipment.models import PostShift


def test_a_shift_a_day_over_the_open_period_covers_every_open_hour(world):
    shifts = services.post_shifts_plan(
        actor=world.supervisor, event=world.event, staffing=[(world.lift_a, world.post_a)]
    )
    assert len(shifts) == 6  # 5-10 Nov
    local = timezone.localtime(shifts[0].starts_at)
    assert (local.hour, local.minute) == (9, 0)
    coverage = selectors.post_coverage(world.event)
    assert world.lift_a.pk in coverage.covered_ids
    assert world.lift_b.pk in coverage.gaps
    assert len(coverage.gaps[world.lift_b.pk]) == 6 * 9  # 9 open hours a day, 09:00-18:00
    # Idempotent: planning again adds nothing.
    assert (
        services.post_shifts_plan(
            actor=None, event=world.event, staffing=[(world.lift_a, world.post_a)]
        )
        == []
    )
    value = figures_report(world.event, keys=["equipment.with_fixed_post"])["figures"]
    assert value["equipment.with_fixed_post"]["value"] == 1


def test_the_coverage_view_names_each_unstaffed_hour(world):
    day = world.event.opening
    tz = services.event_tz(world.event)
    services.post_shift_create(
        actor=None,
        equipment=world.lift_a,
        person=world.post_a,
        starts_at=dt.datetime.combine(day, dt.time(9), tzinfo=tz),
        ends_at=dt.datetime.combine(day, dt.time(13), tzinfo=tz),
    )
    other = make_member(world.event, "post_staff", zones=[world.hall_a])
    services.post_shift_create(
        actor=None,
        equipment=world.lift_a,
        person=other,
        starts_at=dt.datetime.combine(day, dt.time(14), tzinfo=tz),
        ends_at=dt.datetime.combine(day, dt.time(18), tzinfo=tz),
    )
    rows = {
        r["equipment"].pk: r
        for r in selectors.coverage_gaps(user=world.supervisor, event=world.event)
    }
    first_day = rows[world.lift_a.pk]["days"][0]
    assert first_day["day"] == day and first_day["hours"] == ["13:00"]  # the lunch hour
    assert rows[world.lift_a.pk]["missing_hours"] == 1 + 5 * 9
    client, headers = api_client_for(world.supervisor)
    body = client.get(f"/api/equipment/coverage?event={world.event.code}", **headers).json()
    assert {g["equipment"]["code"] for g in body["gaps"]} == {world.lift_a.code, world.lift_b.code}


def test_a_person_cannot_stand_at_two_posts_at_once(world):
    from eventguard.equipment.testing import make_equipment

    second = make_equipment(world.event, zone=world.zone_a, user_unit=world.unit_a)
    services.post_shifts_plan(
        actor=None, event=world.event, staffing=[(world.lift_a, world.post_a)]
    )
    with pytest.raises(ValidationError) as exc:
        services.post_shifts_plan(actor=None, event=world.event, staffing=[(second, world.post_a)])
    assert "two posts" in " ".join(exc.value.messages)
    tz = services.event_tz(world.event)
    with pytest.raises(ValidationError) as exc:
        services.post_shift_create(
            actor=None,
            equipment=second,
            person=world.post_a,
            starts_at=dt.datetime.combine(world.event.opening, dt.time(10), tzinfo=tz),
            ends_at=dt.datetime.combine(world.event.opening, dt.time(11), tzinfo=tz),
        )
    assert "already at the post" in " ".join(exc.value.messages)
    assert PostShift.objects.filter(equipment=second).count() == 0


def test_post_staff_work_only_in_their_zones(world):
    with pytest.raises(ValidationError) as exc:
        services.post_shifts_plan(
            actor=None, event=world.event, staffing=[(world.lift_b, world.post_a)]
        )
    assert "outside their zones" in " ".join(exc.value.messages)


def _shift_now(world, person=None):
    now = timezone.now()
    return services.post_shift_create(
        actor=None,
        equipment=world.lift_a,
        person=person or world.post_a,
        starts_at=now - dt.timedelta(minutes=10),
        ends_at=now + dt.timedelta(hours=4),
    )


def test_sign_on_and_off_from_the_phone(world):
    shift = _shift_now(world)
    client, headers = api_client_for(world.post_a)
    on = client.post(f"/api/equipment/shifts/{shift.pk}/sign-on", **headers)
    assert on.status_code == 200 and on.json()["signed_on_at"]
    twice = client.post(f"/api/equipment/shifts/{shift.pk}/sign-on", **headers)
    assert twice.status_code == 400 and "Already signed on" in twice.json()["errors"][0]["message"]
    off = client.post(f"/api/equipment/shifts/{shift.pk}/sign-off", **headers)
    assert off.status_code == 200 and off.json()["signed_off_at"]


def test_only_the_person_on_the_shift_signs_and_only_near_its_time(world):
    shift = _shift_now(world)
    with pytest.raises(PermissionDenied):
        services.shift_sign_on(actor=world.supervisor, shift=shift)
    with pytest.raises(ValidationError) as exc:
        services.shift_sign_off(actor=world.post_a, shift=shift)
    assert "Sign on first" in " ".join(exc.value.messages)
    later = services.post_shift_create(
        actor=None,
        equipment=world.lift_a,
        person=world.post_a,
        starts_at=timezone.now() + dt.timedelta(hours=6),
        ends_at=timezone.now() + dt.timedelta(hours=8),
    )
    with pytest.raises(ValidationError) as exc:
        services.shift_sign_on(actor=world.post_a, shift=later)
    assert "30 minutes before" in " ".join(exc.value.messages)
    client, headers = api_client_for(world.operator_b)
    assert client.post(f"/api/equipment/shifts/{shift.pk}/sign-on", **headers).status_code == 404


def test_my_shifts_page_signs_on(world):
    from django.urls import reverse

    from eventguard.core.testing import client_for

    shift = _shift_now(world)
    client = client_for(world.post_a)
    page = client.get(reverse("equipment:my_shifts", args=[world.event.code]))
    assert page.status_code == 200 and world.lift_a.code in page.content.decode()
    client.post(reverse("equipment:shift_sign", args=[world.event.code, shift.pk, "on"]))
    shift.refresh_from_db()
    assert shift.signed_on_at is not None
