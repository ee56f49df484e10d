import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English here (the Chinese catalogue is checked on its own)."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fresh_caches():
    """The process caches (rule book, device directory) must not outlive a test's rows."""
    from eventguard.telemetry.testing import forget_process_caches

    forget_process_caches()
    yield
    forget_process_caches()


@pytest.fixture
def world(event):
    """An event with its default rules, two halls, a lift controller in each and a
    warehouse with two loggers, and people in the roles that matter to alarms."""
    from eventguard.alerts.services import rules_install_defaults
    from eventguard.core.testing import make_member, make_unit, make_zone
    from eventguard.telemetry.testing import make_device

    class World:
        pass

    w = World()
    w.event = event
    rules_install_defaults(actor=None, event=event)
    w.hall_a = make_zone(event, kind="hall")
    w.hall_b = make_zone(event, kind="hall", parent=w.hall_a.parent)
    w.zone_a = make_zone(event, parent=w.hall_a)
    w.zone_b = make_zone(event, parent=w.hall_b)
    w.key_a = make_unit(event, category="key_guarantee_unit", zone=w.zone_a)
    w.key_b = make_unit(event, category="key_guarantee_unit", zone=w.zone_b)
    w.warehouse = make_unit(event, category="coldchain_warehouse")
    w.kitchen = make_unit(event, category="group_meal_enterprise")
    w.lift_a = make_device(event, subject=w.key_a, kind="lift_controller", code="lc-a")[0]
    w.lift_b = make_device(event, subject=w.key_b, kind="lift_controller", code="lc-b")[0]
    w.logger_1 = make_device(event, subject=w.warehouse, code="tl-1")[0]
    w.logger_2 = make_device(event, subject=w.warehouse, code="tl-2")[0]
    w.camera = make_device(event, subject=w.kitchen, kind="kitchen_camera", code="cam-1")[0]
    w.commander = make_member(event, "commander")
    w.auditor = make_member(event, "auditor")
    w.post_a = make_member(event, "post_staff", zones=[w.hall_a])
    w.sup_equipment = make_member(event, "supervisor", domains=["equipment", "hazards"])
    w.sup_coldchain = make_member(event, "supervisor", domains=["coldchain"])
    w.operator_a = make_member(event, "unit_operator", unit=w.key_a)
    w.exhibitor = make_member(event, "exhibitor", unit=make_unit(event, category="exhibitor"))
    from eventguard.core.services import person_set_language

    for user in (
        w.commander,
        w.auditor,
        w.post_a,
        w.sup_equipment,
        w.sup_coldchain,
        w.operator_a,
        w.exhibitor,
    ):
        person_set_language(actor=user, language="en")
    return w
