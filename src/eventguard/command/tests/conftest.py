import datetime as dt

import pytest
from django.utils import timezone, translation


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English here (the Chinese catalogue is checked on its own)."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fresh_caches(settings, tmp_path):
    from django.core.cache import cache

    from eventguard.alerts.engine import forget_rulebook
    from eventguard.telemetry.services import directory

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    forget_rulebook()
    directory.clear()
    cache.clear()  # the dashboard's shared figures
    yield
    forget_rulebook()
    directory.clear()
    cache.clear()


@pytest.fixture
def world(event):
    """Two halls each with a lift and its controller; a post staff on post at lift A now;
    a supervisor over hall A, a commander, and people who must not see hall A."""
    from eventguard.alerts.services import rules_install_defaults
    from eventguard.core.services import person_update
    from eventguard.core.testing import make_member, make_zone
    from eventguard.equipment.services import post_shift_create
    from eventguard.equipment.testing import make_equipment, make_key_unit
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
    w.unit_a = make_key_unit(event, zone=w.zone_a)
    w.unit_b = make_key_unit(event, zone=w.zone_b)
    w.lift_a = make_equipment(event, zone=w.zone_a, user_unit=w.unit_a)
    w.lift_b = make_equipment(event, zone=w.zone_b, user_unit=w.unit_b)
    w.device_a = make_device(event, subject=w.lift_a, kind="lift_controller", code="lc-a")[0]
    w.device_b = make_device(event, subject=w.lift_b, kind="lift_controller", code="lc-b")[0]
    w.post_a = make_member(event, "post_staff", zones=[w.hall_a])
    w.post_a2 = make_member(event, "post_staff", zones=[w.hall_a])
    w.post_b = make_member(event, "post_staff", zones=[w.hall_b])
    w.sup_a = make_member(event, "supervisor", zones=[w.hall_a])
    w.sup_b = make_member(event, "supervisor", zones=[w.hall_b])
    w.commander = make_member(event, "commander")
    w.auditor = make_member(event, "auditor")
    for person in (w.post_a, w.post_a2, w.post_b, w.sup_a, w.sup_b, w.commander, w.auditor):
        person.email = f"{person.username}@example.org"
        person.save(update_fields=["email"])
        person_update(actor=None, user=person, language="en")
    now = timezone.now()
    post_shift_create(
        actor=None,
        equipment=w.lift_a,
        person=w.post_a,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=3),
    )
    return w


@pytest.fixture
def report(django_capture_on_commit_callbacks):
    """Ingest messages of a device and run what follows the commit (escalation, e-mail), as
    the worker does."""
    from eventguard.telemetry.testing import ingest

    def send(device, *payloads):
        with django_capture_on_commit_callbacks(execute=True):
            return ingest(device, *payloads)

    return send


@pytest.fixture
def trapped(world, report):
    """A trapped-passenger alarm on lift A, as the lift's controller reports it."""
    from eventguard.alerts.models import Alarm
    from eventguard.telemetry.testing import elevator

    report(world.device_a, elevator(1, fault="trapped_away_from_floor"))
    return Alarm.objects.get(rule__code="lift-trapped", subject_id=world.lift_a.pk)


@pytest.fixture
def people(event):
    """A commander, an administrator, a supervisor, an auditor and an exhibitor of the
    event, and a commander of another event; all reading English."""
    from eventguard.core.services import person_update
    from eventguard.core.testing import make_event, make_member, make_unit

    class People:
        pass

    p = People()
    p.event = event
    p.commander = make_member(event, "commander")
    p.admin = make_member(event, "admin")
    p.supervisor = make_member(event, "supervisor")
    p.auditor = make_member(event, "auditor")
    p.exhibitor = make_member(event, "exhibitor", unit=make_unit(event))
    p.other_event = make_event()
    p.other_commander = make_member(p.other_event, "commander")
    for person in (p.commander, p.admin, p.supervisor, p.auditor, p.exhibitor, p.other_commander):
        person_update(actor=None, user=person, language="en")
    return p
