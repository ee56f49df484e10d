"""The one scoping function: what each role sees and may change."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from eventguard.core import services
from eventguard.core.access import CHANGE, VIEW, allows, get_scoped_or_404, scope
from eventguard.core.models import RoleAssignment, Unit, Zone
from eventguard.core.testing import make_event, make_member, make_unit, make_user, make_zone


@pytest.fixture
def world():
    event = make_event()
    other_event = make_event()
    zone_a = make_zone(event)
    zone_b = make_zone(event)
    food_a = make_unit(event, zone=zone_a)
    food_b = make_unit(event, zone=zone_b)
    kgu = make_unit(event, category="key_guarantee_unit", zone=zone_a)
    hotel = make_unit(event, category="reception_hotel")  # outside the venue: no zone
    foreign = make_unit(other_event)
    return {
        "event": event,
        "other_event": other_event,
        "zone_a": zone_a,
        "zone_b": zone_b,
        "units": {
            "food_a": food_a,
            "food_b": food_b,
            "kgu": kgu,
            "hotel": hotel,
            "foreign": foreign,
        },
    }


def visible_units(user, event):
    return set(scope(user, Unit, event=event).values_list("pk", flat=True))


def test_commander_and_auditor_see_every_unit_of_their_event_only(world):
    event = world["event"]
    units = world["units"]
    for role in ("commander", "auditor", "admin"):
        user = make_member(event, role)
        assert visible_units(user, event) == {
            units[k].pk for k in ("food_a", "food_b", "kgu", "hotel")
        }
        assert visible_units(user, None) == visible_units(user, event)
        assert not scope(user, Unit, event=world["other_event"]).exists()


def test_zone_scoped_supervisor_sees_only_units_in_their_zones_and_below(world):
    event = world["event"]
    units = world["units"]
    hall = world["zone_a"].parent
    user = make_member(event, "supervisor", zones=[hall])
    # zone_a is under the hall; zone_b is under another hall; the hotel has no zone.
    assert visible_units(user, event) == {units["food_a"].pk, units["kgu"].pk}


def test_domain_narrowed_supervisor_sees_only_units_of_that_domain(world):
    event = world["event"]
    units = world["units"]
    user = make_member(event, "supervisor", domains=["equipment"])
    assert visible_units(user, event) == {units["kgu"].pk}
    assert allows(user, CHANGE, units["kgu"])
    assert not allows(user, CHANGE, units["food_a"])
    # The registry part of the role stays: zones are readable and, for a supervisor, editable.
    assert scope(user, Zone, event=event).filter(pk=world["zone_a"].pk).exists()
    assert allows(user, CHANGE, world["zone_a"])


def test_domain_narrowed_inspector_sees_only_that_domain_and_changes_no_registry(world):
    event = world["event"]
    units = world["units"]
    user = make_member(event, "inspector", domains=["food"])
    assert visible_units(user, event) == {units["food_a"].pk, units["food_b"].pk, units["hotel"].pk}
    assert not allows(user, CHANGE, units["food_a"])
    assert not scope(user, Unit, event=event, action=CHANGE).exists()


def test_unit_operator_sees_only_their_own_unit(world):
    event = world["event"]
    units = world["units"]
    user = make_member(event, "unit_operator", unit=units["food_a"])
    assert visible_units(user, event) == {units["food_a"].pk}
    with pytest.raises(Http404):
        get_scoped_or_404(user, Unit, pk=units["food_b"].pk)
    # Zones are not tied to a unit: an own-unit role sees none of them in lists.
    assert not scope(user, Zone, event=event).exists()


def test_exhibitor_cannot_change_the_registry_entry_of_its_unit(world):
    event = world["event"]
    exhibitor_unit = make_unit(event, category="exhibitor")
    user = make_member(event, "exhibitor", unit=exhibitor_unit)
    assert visible_units(user, event) == {exhibitor_unit.pk}
    assert allows(user, VIEW, exhibitor_unit)
    assert not allows(user, CHANGE, exhibitor_unit)
    with pytest.raises(PermissionDenied):
        services.unit_update(actor=user, unit=exhibitor_unit, name_zh="改名")


def test_people_of_other_events_and_inactive_assignments_see_nothing(world):
    event = world["event"]
    outsider = make_member(world["other_event"], "commander")
    assert visible_units(outsider, event) == set()
    user = make_member(event, "commander")
    RoleAssignment.objects.filter(user=user).update(is_active=False)
    user = type(user).objects.get(pk=user.pk)  # a new request: grants are read afresh
    assert visible_units(user, event) == set()


def test_anonymous_and_inactive_users_see_nothing(world):
    from django.contrib.auth.models import AnonymousUser

    assert not scope(AnonymousUser(), Unit).exists()
    user = make_member(world["event"], "commander")
    user.is_active = False
    assert not scope(user, Unit).exists()


def test_inspector_reads_the_registry_but_may_not_change_it(world):
    event = world["event"]
    user = make_member(event, "inspector")
    assert world["units"]["food_a"].pk in visible_units(user, event)
    with pytest.raises(PermissionDenied):
        services.unit_update(actor=user, unit=world["units"]["food_a"], address="x")


def test_zone_scoped_supervisor_may_not_move_a_unit_out_of_their_zones(world):
    event = world["event"]
    hall = world["zone_a"].parent
    user = make_member(event, "supervisor", zones=[hall])
    unit = world["units"]["food_a"]
    services.unit_update(actor=user, unit=unit, address="上海市青浦区崧泽大道333号")
    with pytest.raises(PermissionDenied):
        services.unit_update(actor=user, unit=unit, zone=world["zone_b"])
    unit.refresh_from_db()
    assert unit.zone_id == world["zone_a"].pk


def test_only_administrators_assign_roles(world):
    event = world["event"]
    supervisor = make_member(event, "supervisor")
    someone = make_user()
    with pytest.raises(PermissionDenied):
        services.role_assign(actor=supervisor, user=someone, event=event, role="admin")
    admin = make_member(event, "admin")
    services.role_assign(actor=admin, user=someone, event=event, role="inspector")
    assert RoleAssignment.objects.filter(user=someone, event=event, role="inspector").exists()


def test_superuser_sees_everything():
    event = make_event()
    unit = make_unit(event)
    root = make_user()
    root.is_superuser = True
    root.save()
    assert scope(root, Unit, event=event).get() == unit


# ---------------------------------------------------------------- grants kept between requests


def _next_request(user):
    """The person as their next request reads them (in this server process)."""
    return type(user).objects.get(pk=user.pk)


def _assignment_reads(user, event):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        visible = visible_units(user, event)
    reads = [q for q in queries.captured_queries if "core_roleassignment" in q["sql"]]
    return visible, len(reads)


def test_a_persons_grants_are_read_once_and_kept_for_their_next_requests(world):
    event = world["event"]
    user = make_member(event, "supervisor", zones=[world["zone_a"]])
    first, reads = _assignment_reads(_next_request(user), event)
    assert reads > 0
    again, reads = _assignment_reads(_next_request(user), event)
    assert again == first
    assert reads == 0


def test_a_role_revoked_elsewhere_is_seen_at_the_next_request(world):
    """Another server process kept the person's grants: the new stamp makes it read them
    again."""
    from eventguard.core import access

    event = world["event"]
    admin = make_member(event, "admin")
    user = make_member(event, "commander")
    assert world["units"]["food_b"].pk in visible_units(_next_request(user), event)
    kept_elsewhere = access._kept[user.pk]
    services.role_revoke(actor=admin, assignment=user.assignments.get())
    access._kept[user.pk] = kept_elsewhere  # as another process still holds it
    assert visible_units(_next_request(user), event) == set()
    with pytest.raises(Http404):
        from eventguard.core.selectors import event_by_code

        event_by_code(_next_request(user), event.code)


def test_a_role_assigned_is_seen_at_once_by_the_request_that_assigned_it(world):
    event = world["event"]
    admin = make_member(event, "admin")
    user = _next_request(make_member(event, "supervisor", zones=[world["zone_a"]]))
    assert world["units"]["food_b"].pk not in visible_units(user, event)
    services.role_assign(
        actor=admin, user=user, event=event, role="inspector", zones=[world["zone_b"]]
    )
    assert world["units"]["food_b"].pk in visible_units(user, event)
    assert world["units"]["food_b"].pk in visible_units(_next_request(user), event)


def test_a_zone_moved_under_another_reaches_the_grants_of_its_people(world):
    """Grants hold their zones' paths: a person's zone moved to another hall still shows
    them its units."""
    from eventguard.core import access

    event = world["event"]
    admin = make_member(event, "admin")
    zone = world["zone_a"]
    user = make_member(event, "supervisor", zones=[zone])
    unit = world["units"]["food_a"]
    assert unit.pk in visible_units(_next_request(user), event)
    kept_elsewhere = access._kept[user.pk]
    services.zone_update(actor=admin, zone=zone, parent=make_zone(event, kind="hall"))
    access._kept[user.pk] = kept_elsewhere  # as another process still holds it
    assert unit.pk in visible_units(_next_request(user), event)


def test_an_event_changed_is_read_afresh_and_a_request_changes_only_its_own_copy(world):
    from eventguard.core import access
    from eventguard.core.selectors import event_by_code

    event = world["event"]
    admin = make_member(event, "admin")
    user = make_member(event, "inspector")
    held = event_by_code(_next_request(user), event.code)
    held.name_en = "Changed in one request only"
    assert event_by_code(_next_request(user), event.code).name_en == event.name_en
    kept_elsewhere = access._kept[user.pk]
    services.event_update(actor=admin, event=event, name_en="Renamed")
    access._kept[user.pk] = kept_elsewhere
    assert event_by_code(_next_request(user), event.code).name_en == "Renamed"
    assert [e.name_en for e in access.events_held(_next_request(user))] == ["Renamed"]


def test_a_person_saved_whole_from_an_older_read_keeps_their_new_stamp(world):
    """A person read before their role was revoked and saved whole afterwards (as the
    ``changepassword`` command does after its prompt) must not bring back the stamp under
    which another process still keeps the revoked role."""
    from eventguard.core import access

    event = world["event"]
    admin = make_member(event, "admin")
    user = make_member(event, "commander")
    assert world["units"]["food_b"].pk in visible_units(_next_request(user), event)
    kept_elsewhere = access._kept[user.pk]
    read_before = _next_request(user)
    services.role_revoke(actor=admin, assignment=user.assignments.get())
    read_before.set_password("a-new-password-42")
    read_before.save()
    access._kept[user.pk] = kept_elsewhere  # as another process still holds it
    assert visible_units(_next_request(user), event) == set()
    assert _next_request(user).check_password("a-new-password-42")
