"""The alarm pages and the rules page, as people in different roles see and use them."""

import pytest

from eventguard.alerts.models import Alarm, Rule
from eventguard.core.testing import client_for, make_event, make_member
from eventguard.telemetry.testing import camera, elevator, ingest


@pytest.fixture
def alarms(world):
    ingest(world.lift_a, elevator(1, fault="trapped_at_floor"))
    ingest(world.lift_b, elevator(1, fault="door_fault"))
    ingest(world.camera, camera(1, "smoking"))
    return {a.rule.code: a for a in Alarm.objects.select_related("rule")}


def url(world, path=""):
    return f"/e/{world.event.code}/{path}"


def table(response) -> str:
    """The rows of the page's table (the filters above it name every rule too)."""
    page = response.content.decode()
    return page[page.index("<tbody>") : page.index("</tbody>")]


def test_the_commander_sees_every_alarm_most_severe_first(world, alarms):
    response = client_for(world.commander).get(url(world, "alarms/"))
    assert response.status_code == 200
    rows = table(response)
    assert "Passenger trapped in a lift" in rows and "Open kitchen: staff hygiene breach" in rows
    assert rows.index("Passenger trapped in a lift") < rows.index("Lift door fault or power cut")
    assert "3 alarms" in response.content.decode()


def test_the_alarm_list_filters_as_the_api_does(world, alarms):
    client = client_for(world.commander)
    rows = table(client.get(url(world, "alarms/?severity=critical")))
    assert "Passenger trapped" in rows and "Lift door fault" not in rows
    assert "No alarms." in table(client.get(url(world, "alarms/?state=cleared")))
    page = client.get(url(world, "alarms/?since=not-a-date")).content.decode()
    assert "is not a valid value for since" in page


def test_post_staff_see_the_alarms_of_their_halls_only(world, alarms):
    rows = table(client_for(world.post_a).get(url(world, "alarms/")))
    assert "Passenger trapped" in rows
    assert "Lift door fault" not in rows
    assert "staff hygiene" not in rows


def test_an_alarm_out_of_scope_is_not_found(world, alarms):
    other = alarms["lift-door-power"]
    assert client_for(world.post_a).get(url(world, f"alarms/{other.pk}/")).status_code == 404
    stranger = make_member(make_event(), "commander")
    assert client_for(stranger).get(url(world, "alarms/")).status_code == 404


def test_acknowledging_from_the_list_returns_to_the_list(world, alarms):
    alarm = alarms["lift-trapped"]
    client = client_for(world.post_a)
    back = url(world, "alarms/?severity=critical")
    response = client.post(url(world, f"alarms/{alarm.pk}/acknowledge/"), {"next": back})
    assert response.status_code == 302 and response["Location"] == back
    alarm.refresh_from_db()
    assert alarm.state == "acknowledged" and alarm.acknowledged_by == world.post_a
    page = client.get(back).content.decode()
    assert f"Alarm {alarm.pk} acknowledged." in page


def test_the_alarm_page_shows_the_timeline_and_clears_with_a_note(world, alarms):
    alarm = alarms["lift-trapped"]
    client = client_for(world.commander)
    page = client.get(url(world, f"alarms/{alarm.pk}/")).content.decode()
    assert "Timeline" in page and "Raised" in page and "trapped_at_floor" in page
    response = client.post(url(world, f"alarms/{alarm.pk}/clear/"), {"note": ""}, follow=True)
    assert "Say why you clear the alarm by hand." in response.content.decode()
    alarm.refresh_from_db()
    assert alarm.state == "active"
    client.post(url(world, f"alarms/{alarm.pk}/clear/"), {"note": "passenger out"})
    alarm.refresh_from_db()
    assert alarm.state == "cleared" and alarm.clear_note == "passenger out"
    page = client.get(url(world, f"alarms/{alarm.pk}/")).content.decode()
    assert "passenger out" in page and "Clear by hand" not in page


def test_the_auditor_reads_alarms_but_cannot_act_on_them(world, alarms):
    alarm = alarms["lift-trapped"]
    client = client_for(world.auditor)
    page = client.get(url(world, f"alarms/{alarm.pk}/")).content.decode()
    assert "Clear by hand" not in page
    response = client.post(url(world, f"alarms/{alarm.pk}/acknowledge/"), follow=True)
    assert "You may not change" in response.content.decode()
    alarm.refresh_from_db()
    assert alarm.state == "active"


def test_the_alarm_list_does_not_grow_queries_with_its_rows(
    world, alarms, django_assert_max_num_queries
):
    for seq in range(2, 30, 2):
        ingest(world.lift_a, elevator(seq), elevator(seq + 1, fault="trapped_at_floor"))
    client = client_for(world.commander)
    client.get(url(world, "alarms/"))
    with django_assert_max_num_queries(20):
        client.get(url(world, "alarms/"))


# ---------------------------------------------------------------- rules


def test_the_rules_page_lists_the_event_rules_and_says_which_cannot_run_here(world):
    from eventguard.core import conditions

    page = client_for(world.commander).get(url(world, "rules/")).content.decode()
    assert "Passenger trapped in a lift" in page and "lift-trapped" in page
    assert "Fault codes: Passenger trapped at a floor" in page
    if conditions.get("coldchain.box_at_risk") is None:
        assert "not available here" in page


def test_a_rule_is_disabled_and_enabled_again_from_its_page(world):
    rule = Rule.objects.get(event=world.event, code="lift-trapped")
    client = client_for(world.sup_equipment)
    client.post(url(world, f"rules/{rule.pk}/disable/"))
    rule.refresh_from_db()
    assert rule.enabled is False
    ingest(world.lift_a, elevator(1, fault="trapped_at_floor"))
    assert not Alarm.objects.exists()
    client.post(url(world, f"rules/{rule.pk}/enable/"))
    rule.refresh_from_db()
    assert rule.enabled is True


def test_editing_a_threshold_rule(world):
    rule = Rule.objects.get(event=world.event, code="frozen-above-18")
    client = client_for(world.sup_coldchain)
    form = client.get(url(world, f"rules/{rule.pk}/edit/"))
    assert form.status_code == 200 and "Held for at least (seconds)" in form.content.decode()
    data = {
        "name_zh": rule.name_zh,
        "name_en": rule.name_en,
        "severity": "critical",
        "domain": "coldchain",
        "enabled": "on",
        "auto_clear": "on",
        "param_field": "celsius",
        "param_op": "above",
        "param_value": "-15",
        "param_hold_seconds": "300",
        "param_device_kinds": ["temperature_logger"],
        "param_subject_types": "",
    }
    response = client.post(url(world, f"rules/{rule.pk}/edit/"), data)
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.severity == "critical"
    assert rule.params["value"] == -15.0 and rule.params["hold_seconds"] == 300
    bad = client.post(url(world, f"rules/{rule.pk}/edit/"), {**data, "param_value": "hot"})
    assert bad.status_code == 200 and "Enter a number" in bad.content.decode()


def test_who_may_edit_rules(world):
    rule = Rule.objects.get(event=world.event, code="frozen-above-18")
    assert client_for(world.auditor).get(url(world, f"rules/{rule.pk}/edit/")).status_code == 403
    assert (
        client_for(world.sup_equipment).get(url(world, f"rules/{rule.pk}/edit/")).status_code == 404
    )
    client_for(world.auditor).post(url(world, f"rules/{rule.pk}/disable/"))
    rule.refresh_from_db()
    assert rule.enabled is True


def test_an_event_without_rules_offers_the_default_set(event):
    admin = make_member(event, "admin")
    client = client_for(admin)
    page = client.get(f"/e/{event.code}/rules/").content.decode()
    assert "rules_install_defaults" not in page  # the form, not the url name
    assert f"/e/{event.code}/rules/install-defaults/" in page
    client.post(f"/e/{event.code}/rules/install-defaults/")
    assert Rule.objects.filter(event=event).count() >= 10


# ---------------------------------------------------------------- devices


def test_the_devices_page_by_status_and_the_refused_messages(world):
    ingest(world.logger_1, {"seq": "x"})
    from eventguard.telemetry.testing import temperature

    ingest(world.logger_2, temperature(1, -20))
    client = client_for(world.commander)
    page = client.get(url(world, "devices/?status=online")).content.decode()
    assert "tl-2" in page and "tl-1" not in page and "1 device" in page
    page = client.get(url(world, "devices/?status=never_seen")).content.decode()
    assert "lc-a" in page and "tl-2" not in page
    page = client.get(url(world, "devices/dead-letters/")).content.decode()
    assert "Missing field or wrong type" in page and "tl-1" in page


def test_people_see_the_devices_of_their_domain(world):
    page = client_for(world.sup_equipment).get(url(world, "devices/")).content.decode()
    assert "lc-a" in page and "tl-1" not in page
    assert (
        client_for(world.sup_equipment).get(url(world, "devices/dead-letters/")).status_code == 403
    )


def test_a_page_of_the_alarm_list_is_read_in_order_from_its_index(world, alarms):
    """PostgreSQL reads the page from the index in the list's own order (the expressions
    of the order and of the index are the same), instead of sorting every alarm."""
    from django.db import connection

    from eventguard.alerts import selectors

    if connection.vendor != "postgresql":
        pytest.skip("an expression index matched by the planner: PostgreSQL")
    page = selectors.alarm_list(user=world.commander, event=world.event)[:50]
    sql, params = page.query.sql_with_params()
    with connection.cursor() as cursor:
        # A handful of alarms would be sorted in memory anyway: the planner is asked to
        # avoid sorting, which it can only do when the index gives the order.
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "alerts_alarm_list_order" in plan
    assert "Sort" not in plan
    assert [a.severity for a in page] == ["critical", "minor", "minor"]  # most severe first
