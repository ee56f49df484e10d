"""The rows of the list pages, rendered by Jinja2 inside a Django page: what a person sees in
them (local times, escaped names, their language) and the alarm list's acknowledge button."""

import datetime as dt
import re
from html import unescape

import pytest
from django.template import engines
from django.test import Client
from django.utils import translation

from eventguard.alerts.models import Alarm
from eventguard.core.services import person_update
from eventguard.core.testing import client_for, make_member, make_zone
from eventguard.equipment.testing import make_equipment, make_key_unit
from eventguard.telemetry.testing import elevator, ingest, make_device

HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(autouse=True)
def _fresh_caches():
    """The process caches (rule book, device directory) must not outlive a test's rows."""
    from eventguard.telemetry.testing import forget_process_caches

    forget_process_caches()
    yield
    forget_process_caches()


@pytest.fixture
def hall(event):
    """A hall whose zone has a hostile name, a lift in it, a commander and an auditor."""
    from eventguard.alerts.services import rules_install_defaults

    rules_install_defaults(actor=None, event=event)

    class Hall:
        pass

    h = Hall()
    h.event = event
    hall_zone = make_zone(event, kind="hall")
    h.zone = make_zone(event, parent=hall_zone, name_en=HOSTILE, name_zh=HOSTILE)
    unit = make_key_unit(event, zone=h.zone)
    h.lift = make_equipment(
        event,
        zone=h.zone,
        user_unit=unit,
        position=HOSTILE,
        next_inspection_due=dt.date(2021, 10, 1),
    )
    h.device = make_device(event, subject=h.lift, kind="lift_controller", code="lc-rows")[0]
    h.commander = make_member(event, "commander")
    h.auditor = make_member(event, "auditor")
    for person in (h.commander, h.auditor):
        person_update(actor=None, user=person, language="en")
    return h


def table(response) -> str:
    page = response.content.decode()
    return page[page.index("<tbody>") : page.index("</tbody>")]


def trapped(h) -> Alarm:
    ingest(h.device, elevator(1, fault="trapped_at_floor"))
    return Alarm.objects.get(rule__code="lift-trapped", subject_id=h.lift.pk)


def test_an_alarm_row_shows_its_time_in_the_events_time_zone(hall, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    alarm = trapped(hall)
    late_evening_utc = dt.datetime(2021, 11, 5, 23, 30, tzinfo=dt.UTC)
    Alarm.objects.filter(pk=alarm.pk).update(last_at=late_evening_utc)
    rows = table(client_for(hall.commander).get(f"/e/{hall.event.code}/alarms/"))
    assert "11-06 07:30:00" in rows  # 23:30 UTC is 07:30 the next morning in Shanghai
    assert "11-05 23:30:00" not in rows


def test_hostile_names_show_as_text_in_the_rows(hall):
    trapped(hall)
    client = client_for(hall.commander)
    for path in ("alarms/", "equipment/"):
        rows = table(client.get(f"/e/{hall.event.code}/{path}"))
        assert HOSTILE not in rows
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rows


@pytest.mark.parametrize(
    ("language", "overdue", "critical", "not_shown"),
    [("zh-hans", "已逾期", "紧急", "Overdue"), ("en", "Overdue", "Critical", "已逾期")],
)
def test_the_rows_speak_the_persons_language(hall, language, overdue, critical, not_shown):
    trapped(hall)
    person_update(actor=None, user=hall.commander, language=language)
    client = client_for(hall.commander)
    equipment = table(client.get(f"/e/{hall.event.code}/equipment/"))
    assert f'<span class="badge badge-red">{overdue}</span>' in equipment  # inspection past due
    assert not_shown not in equipment
    alarms = table(client.get(f"/e/{hall.event.code}/alarms/"))
    assert f'<span class="badge badge-red">{critical}</span>' in alarms


def test_the_acknowledge_button_of_the_alarm_list_acknowledges(hall):
    alarm = trapped(hall)
    client = Client(enforce_csrf_checks=True)
    client.force_login(hall.commander)
    listing = f"/e/{hall.event.code}/alarms/?severity=critical"
    rows = table(client.get(listing))
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', rows, re.S)
    assert form is not None, "no acknowledge button in the row"
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form[2]))
    assert fields["next"] == listing

    response = client.post(unescape(form[1]), {k: unescape(v) for k, v in fields.items()})
    assert response.status_code == 302 and response["Location"] == listing
    alarm.refresh_from_db()
    assert alarm.state == "acknowledged" and alarm.acknowledged_by == hall.commander
    assert "Acknowledge</button>" not in table(client.get(listing))


def test_the_acknowledge_button_needs_the_pages_token(hall):
    alarm = trapped(hall)
    client = Client(enforce_csrf_checks=True)
    client.force_login(hall.commander)
    client.get(f"/e/{hall.event.code}/alarms/")
    response = client.post(f"/e/{hall.event.code}/alarms/{alarm.pk}/acknowledge/", {})
    assert response.status_code == 403
    alarm.refresh_from_db()
    assert alarm.state == "active"


def test_a_person_who_may_not_change_alarms_has_no_acknowledge_button(hall):
    trapped(hall)
    rows = table(client_for(hall.auditor).get(f"/e/{hall.event.code}/alarms/"))
    assert "Passenger trapped" in rows
    assert "<form" not in rows and "Acknowledge" not in rows


LATE_EVENING_UTC = dt.datetime(2021, 11, 5, 23, 30, 7, tzinfo=dt.UTC)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize(
    ("value", "date_format"),
    [
        (LATE_EVENING_UTC, "Y-m-d H:i"),
        (LATE_EVENING_UTC, "m-d H:i:s"),
        (LATE_EVENING_UTC, "y/m/d 100%"),
        (LATE_EVENING_UTC, "N j, Y P"),
        (LATE_EVENING_UTC, "SHORT_DATETIME_FORMAT"),
        (LATE_EVENING_UTC, r"\Y\e\a\r Y"),
        (dt.date(2021, 11, 5), "Y-m-d"),
        (dt.date(2021, 11, 5), "DATE_FORMAT"),
        (dt.date(2021, 11, 5), "D Y-m-d"),
        (None, "Y-m-d"),
        ("", "Y-m-d"),
    ],
)
def test_a_date_in_a_row_reads_as_on_a_django_page(settings, language, value, date_format):
    settings.TIME_ZONE = "Asia/Shanghai"
    with translation.override(language):
        rows = (
            engines["jinja2"].from_string("{{ v|date(f) }}").render({"v": value, "f": date_format})
        )
        page = (
            engines["django"].from_string("{{ v|date:f }}").render({"v": value, "f": date_format})
        )
    assert rows == page
