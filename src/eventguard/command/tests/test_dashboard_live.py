"""The dashboard's live poll: the halls' layout only when the page does not hold its current
version, the statuses of the units that are not normal only, both limited to what the person
may see; the alarm feed's most recent alarms with how many are open."""

import datetime as dt

from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from eventguard.command import dashboard
from eventguard.core.testing import client_for
from eventguard.equipment import services as equipment_services
from eventguard.equipment.testing import make_equipment, publish_checklists
from eventguard.telemetry.models import Device


def poll(world, user, query="?figures=0") -> dict:
    response = client_for(user).get(f"/e/{world.event.code}/command/live/{query}")
    assert response.status_code == 200
    return response.json()


def units(layout) -> dict[int, dict]:
    return {e["id"]: {**e, "hall": h["id"]} for h in layout for e in h["equipment"]}


def versions_expired() -> None:
    """``LAYOUT_VERSION_SECONDS`` later: the layout versions this process keeps have expired
    (its cache emptied: the layouts it keeps longer are read again too)."""
    cache.clear()


def test_the_layout_comes_when_asked_or_changed_and_not_otherwise(world):
    first = poll(world, world.commander, "?figures=0&layout=1")
    placed = units(first["layout"])
    assert set(placed) == {world.lift_a.pk, world.lift_b.pk}
    assert placed[world.lift_a.pk]["hall"] == world.hall_a.pk
    assert placed[world.lift_a.pk]["code"] == world.lift_a.code
    assert "status" not in placed[world.lift_a.pk]
    version = first["layout_version"]
    held = poll(world, world.commander, f"?figures=0&layout={version}")
    assert held["layout"] is None and held["layout_version"] == version
    assert poll(world, world.commander)["layout"] is None  # never asked
    # Another lift: the page holding the old version gets the new layout.
    lift = make_equipment(world.event, zone=world.zone_b, user_unit=world.unit_b)
    versions_expired()
    changed = poll(world, world.commander, f"?figures=0&layout={version}")
    assert changed["layout_version"] != version
    assert lift.pk in units(changed["layout"])


def test_the_version_changes_when_a_lift_moves_is_placed_or_leaves_service(world):
    def version():
        versions_expired()
        return poll(world, world.commander)["layout_version"]

    seen = {version()}
    equipment_services.equipment_update(actor=None, equipment=world.lift_a, zone=world.zone_b)
    seen.add(version())
    layout = poll(world, world.commander, "?figures=0&layout=1")["layout"]
    assert units(layout)[world.lift_a.pk]["hall"] == world.hall_b.pk
    equipment_services.equipment_update(
        actor=None, equipment=world.lift_a, plan_x="12.50", plan_y="40"
    )
    seen.add(version())
    layout = poll(world, world.commander, "?figures=0&layout=1")["layout"]
    assert (units(layout)[world.lift_a.pk]["x"], units(layout)[world.lift_a.pk]["y"]) == (
        12.5,
        40.0,
    )
    equipment_services.equipment_update(actor=None, equipment=world.lift_b, is_active=False)
    seen.add(version())
    layout = poll(world, world.commander, "?figures=0&layout=1")["layout"]
    assert world.lift_b.pk not in units(layout)
    assert len(seen) == 4


def test_the_units_are_read_for_a_version_once_per_window_for_all_who_see_the_same(world):
    units_read = 'SUM("equipment_equipment"."id")'  # the version's pass over the units

    def version(user) -> tuple[str, int]:
        with CaptureQueriesContext(connection) as captured:
            data = poll(world, user)
        return data["layout_version"], sum(units_read in q["sql"] for q in captured)

    from eventguard.core.testing import make_member

    same_hall = make_member(world.event, "supervisor", zones=[world.hall_a])
    first, reads = version(world.sup_a)
    assert reads == 1
    lift = make_equipment(world.event, zone=world.zone_a, user_unit=world.unit_a)
    # Within the window: the same version, for them and anyone who sees what they see,
    # without reading the units again; the new lift is not on their plan yet.
    assert version(world.sup_a) == (first, 0)
    assert version(same_hall) == (first, 0)
    assert version(world.sup_b)[1] == 1  # sees another hall: a version of their own
    versions_expired()
    later, reads = version(world.sup_a)
    assert later != first and reads == 1
    data = poll(world, world.sup_a, f"?figures=0&layout={first}")
    assert lift.pk in units(data["layout"])


def test_a_fault_changes_the_statuses_not_the_layout(world, report):
    from eventguard.telemetry.testing import elevator

    before = poll(world, world.sup_a)
    assert before["statuses"] == {}  # a quiet hall: nothing listed, every dot normal
    report(world.device_a, elevator(1, fault="trapped_away_from_floor"))
    after = poll(world, world.sup_a)
    assert after["statuses"] == {str(world.lift_a.pk): "fault"}
    assert after["layout_version"] == before["layout_version"]


def test_a_page_from_before_the_layout_versions_still_gets_every_unit_with_its_status(
    world, trapped
):
    """A wall display left open through an upgrade runs the old page, which asks without
    ``layout`` and draws ``halls``: it keeps working."""
    data = poll(world, world.commander)
    assert data["layout"] is None
    drawn = units(data["halls"])
    assert drawn[world.lift_a.pk]["status"] == "fault"
    assert drawn[world.lift_b.pk]["status"] == "normal"
    assert set(units(poll(world, world.sup_b)["halls"])) == {world.lift_b.pk}


def test_a_supervisor_gets_only_their_hall_and_their_version_keeps_for_other_halls(world):
    data = poll(world, world.sup_b, "?figures=0&layout=1")
    assert set(units(data["layout"])) == {world.lift_b.pk}
    make_equipment(world.event, zone=world.zone_a, user_unit=world.unit_a)  # not theirs
    assert poll(world, world.sup_b)["layout_version"] == data["layout_version"]
    assert poll(world, world.sup_a)["layout_version"] != data["layout_version"]
    mine = make_equipment(world.event, zone=world.zone_b, user_unit=world.unit_b)
    versions_expired()
    again = poll(world, world.sup_b, f"?figures=0&layout={data['layout_version']}")
    assert set(units(again["layout"])) == {world.lift_b.pk, mine.pk}


def test_a_fault_outranks_an_offline_controller_which_outranks_a_patrol(world, trapped):
    lift_c = make_equipment(world.event, zone=world.zone_b, user_unit=world.unit_b)
    stale = timezone.now() - dt.timedelta(minutes=5)
    Device.objects.filter(pk__in=[world.device_a.pk, world.device_b.pk]).update(
        last_seen_at=stale - dt.timedelta(minutes=5), stale_at=stale
    )
    publish_checklists(world.event)
    for lift in (world.lift_b, lift_c):
        equipment_services.patrol_start(actor=None, equipment=lift, person=world.post_b)
    assert poll(world, world.commander)["statuses"] == {
        str(world.lift_a.pk): "fault",  # open alarm and a silent controller
        str(world.lift_b.pk): "offline",  # silent controller and a patrol
        str(lift_c.pk): "patrol",
    }
    assert poll(world, world.sup_b)["statuses"] == {
        str(world.lift_b.pk): "offline",
        str(lift_c.pk): "patrol",
    }
    assert poll(world, world.sup_a)["statuses"] == {str(world.lift_a.pk): "fault"}


def test_the_feed_shows_the_most_recent_alarms_and_how_many_are_open(
    world, trapped, report, monkeypatch
):
    from eventguard.telemetry.testing import elevator

    report(world.device_b, elevator(1, fault="trapped_away_from_floor"))
    monkeypatch.setattr(dashboard, "LIVE_ALARMS", 1)
    data = poll(world, world.commander)
    assert len(data["alarms"]) == 1 and data["alarms_total"] == 2
    assert data["alarms_url"] == f"/e/{world.event.code}/alarms/?state=open"
    hall_a = poll(world, world.sup_a)
    assert [a["id"] for a in hall_a["alarms"]] == [trapped.pk] and hall_a["alarms_total"] == 1


def test_the_silent_devices_are_listed_longest_silent_first_as_far_as_the_person_sees(
    world, report
):
    from eventguard.telemetry.testing import elevator

    now = timezone.now()
    for device, silent_since in ((world.device_a, 5), (world.device_b, 9)):
        stale = now - dt.timedelta(minutes=silent_since)
        Device.objects.filter(pk=device.pk).update(
            last_seen_at=stale - dt.timedelta(minutes=5), stale_at=stale
        )
    data = poll(world, world.commander)
    assert [d["code"] for d in data["offline"]] == ["lc-b", "lc-a"]
    assert data["statuses"] == {str(world.lift_a.pk): "offline", str(world.lift_b.pk): "offline"}
    assert [d["code"] for d in poll(world, world.sup_a)["offline"]] == ["lc-a"]
    # Lift A's controller reports again: once the process reads the silent devices again
    # (within OFFLINE_SECONDS), it is neither listed nor its lift offline.
    report(world.device_a, elevator(1))
    cache.clear()
    data = poll(world, world.commander)
    assert [d["code"] for d in data["offline"]] == ["lc-b"]
    assert data["statuses"] == {str(world.lift_b.pk): "offline"}
    assert poll(world, world.sup_a)["offline"] == []


def test_a_network_down_lists_the_silent_devices_by_their_condition(world, monkeypatch):
    monkeypatch.setattr(dashboard, "OFFLINE_BY_ID", 1)  # more silent devices than that
    stale = timezone.now() - dt.timedelta(minutes=5)
    Device.objects.filter(pk__in=[world.device_a.pk, world.device_b.pk]).update(
        last_seen_at=stale - dt.timedelta(minutes=5), stale_at=stale
    )
    Device.objects.filter(pk=world.device_b.pk).update(stale_at=stale - dt.timedelta(minutes=1))
    assert [d["code"] for d in poll(world, world.commander)["offline"]] == ["lc-b", "lc-a"]
    assert [d["code"] for d in poll(world, world.sup_a)["offline"]] == ["lc-a"]


def test_a_quiet_venue_reads_the_devices_once_per_window_for_every_dashboard(world, monkeypatch):
    monkeypatch.setattr(dashboard, "OFFLINE_SECONDS", 60)  # however slow the machine
    poll(world, world.commander)  # the layout version and the silent devices read
    with CaptureQueriesContext(connection) as polls:
        poll(world, world.commander)
        poll(world, world.sup_a)
    assert not [q for q in polls if "telemetry_device" in q["sql"]]
