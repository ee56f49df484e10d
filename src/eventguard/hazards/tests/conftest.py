import pytest


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Photos go to a fresh directory per test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English; test_i18n checks the Chinese ones."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def world(event):
    """Two key units each with a lift in its own hall, people in every role that matters."""
    from eventguard.core.testing import make_member, make_zone
    from eventguard.equipment.testing import make_equipment, make_key_unit

    hall_a = make_zone(event, kind="hall")
    hall_b = make_zone(event, kind="hall", parent=hall_a.parent)
    zone_a = make_zone(event, parent=hall_a)
    zone_b = make_zone(event, parent=hall_b)
    unit_a = make_key_unit(event, zone=zone_a)
    unit_b = make_key_unit(event, zone=zone_b)
    lift_a = make_equipment(event, zone=zone_a, user_unit=unit_a)
    lift_b = make_equipment(event, zone=zone_b, user_unit=unit_b)

    class World:
        pass

    w = World()
    w.event = event
    w.zone_a, w.zone_b, w.hall_a, w.hall_b = zone_a, zone_b, hall_a, hall_b
    w.unit_a, w.unit_b = unit_a, unit_b
    w.lift_a, w.lift_b = lift_a, lift_b
    w.supervisor = make_member(event, "supervisor", domains=["equipment", "hazards"])
    w.inspector = make_member(event, "inspector", zones=[hall_a])
    w.post_a = make_member(event, "post_staff", zones=[hall_a])
    w.operator_a = make_member(event, "unit_operator", unit=unit_a)
    w.operator_b = make_member(event, "unit_operator", unit=unit_b)
    w.commander = make_member(event, "commander")
    from eventguard.core.services import person_update

    for person in (w.supervisor, w.inspector, w.post_a, w.operator_a, w.operator_b, w.commander):
        person_update(actor=None, user=person, language="en")
    return w
