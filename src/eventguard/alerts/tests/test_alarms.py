"""The alarm workflow (acknowledge, clear with a note), who may see and change an alarm,
and the alarm API: list with its filters, one alarm with its timeline, the two actions."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404

from eventguard.alerts import services
from eventguard.alerts.models import Alarm
from eventguard.core.access import get_scoped_or_404
from eventguard.core.testing import api_client_for
from eventguard.telemetry.testing import camera, elevator, ingest, temperature


@pytest.fixture
def lift_alarm(world):
    ingest(world.lift_a, elevator(1, fault="trapped_away_from_floor"))
    return Alarm.objects.get(rule__code="lift-trapped")


# ---------------------------------------------------------------- the workflow


def test_acknowledging_records_who_and_when(world, lift_alarm):
    alarm = services.alarm_acknowledge(actor=world.commander, alarm=lift_alarm, note="on my way")
    assert alarm.state == "acknowledged"
    assert alarm.acknowledged_by == world.commander and alarm.acknowledged_at is not None
    entry = alarm.entries.get(action="acknowledged")
    assert entry.actor == world.commander and entry.note == "on my way"


def test_an_alarm_is_acknowledged_once_and_the_refusal_says_by_whom(world, lift_alarm):
    services.alarm_acknowledge(actor=world.commander, alarm=lift_alarm)
    with pytest.raises(ValidationError) as info:
        services.alarm_acknowledge(actor=world.post_a, alarm=lift_alarm)
    assert "already acknowledged by" in str(info.value)
    assert world.commander.username in str(info.value) or str(world.commander) in str(info.value)


def test_clearing_by_hand_needs_a_note(world, lift_alarm):
    with pytest.raises(ValidationError) as info:
        services.alarm_clear(actor=world.commander, alarm=lift_alarm, note="  ")
    assert "say why" in str(info.value)
    lift_alarm.refresh_from_db()
    assert lift_alarm.state == "active"


def test_an_alarm_cleared_by_hand_says_who_and_why_and_cannot_be_cleared_again(world, lift_alarm):
    alarm = services.alarm_clear(
        actor=world.post_a, alarm=lift_alarm, note="passenger released, lift out of service"
    )
    assert alarm.state == "cleared" and not alarm.cleared_automatically
    assert alarm.cleared_by == world.post_a
    assert alarm.clear_note == "passenger released, lift out of service"
    with pytest.raises(ValidationError) as info:
        services.alarm_clear(actor=world.post_a, alarm=alarm, note="again")
    assert "already cleared" in str(info.value)
    with pytest.raises(ValidationError):
        services.alarm_acknowledge(actor=world.commander, alarm=alarm)


def test_an_alarm_cleared_by_hand_while_the_fault_goes_on_stays_cleared(world, lift_alarm):
    services.alarm_clear(actor=world.commander, alarm=lift_alarm, note="engineer on site")
    ingest(world.lift_a, elevator(2, fault="trapped_away_from_floor"))
    assert Alarm.objects.filter(state__in=["active", "acknowledged"]).count() == 0
    ingest(world.lift_a, elevator(3), elevator(4, fault="trapped_away_from_floor"))
    assert Alarm.objects.filter(state="active").count() == 1, "a new fault is a new alarm"


def test_the_database_allows_one_open_alarm_per_rule_and_subject(world, lift_alarm):
    duplicate = Alarm(
        event=lift_alarm.event,
        rule=lift_alarm.rule,
        severity="critical",
        domain="equipment",
        subject_type=lift_alarm.subject_type,
        subject_id=lift_alarm.subject_id,
        first_at=lift_alarm.first_at,
        last_at=lift_alarm.last_at,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_every_transition_is_in_the_audit_trail(world, lift_alarm):
    from eventguard.core.models import AuditEntry

    services.alarm_acknowledge(actor=world.commander, alarm=lift_alarm)
    services.alarm_clear(actor=world.commander, alarm=lift_alarm, note="done")
    actions = list(
        AuditEntry.objects.filter(object_type="alerts.alarm", object_id=str(lift_alarm.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["alarm.raise", "alarm.acknowledge", "alarm.clear"]


# ---------------------------------------------------------------- who may see and change


def test_who_sees_an_equipment_alarm(world, lift_alarm):
    visible = {
        "commander": world.commander,
        "auditor": world.auditor,
        "post staff of its hall": world.post_a,
        "equipment supervisor": world.sup_equipment,
        "its unit's operator": world.operator_a,
    }
    hidden = {"cold-chain supervisor": world.sup_coldchain, "exhibitor": world.exhibitor}
    for who, user in visible.items():
        assert get_scoped_or_404(user, Alarm, pk=lift_alarm.pk), who
    for who, user in hidden.items():
        with pytest.raises(Http404):
            get_scoped_or_404(user, Alarm, pk=lift_alarm.pk)
        assert who


def test_post_staff_see_only_the_alarms_of_their_halls(world):
    ingest(world.lift_b, elevator(1, fault="trapped_at_floor"))
    alarm_b = Alarm.objects.get(subject_id=world.key_b.pk)
    with pytest.raises(Http404):
        get_scoped_or_404(world.post_a, Alarm, pk=alarm_b.pk)


def test_who_may_acknowledge(world, lift_alarm):
    with pytest.raises(PermissionDenied):
        services.alarm_acknowledge(actor=world.auditor, alarm=lift_alarm)
    with pytest.raises(PermissionDenied):
        services.alarm_acknowledge(actor=world.sup_coldchain, alarm=lift_alarm)
    services.alarm_acknowledge(actor=world.commander, alarm=lift_alarm)


def test_the_cold_chain_supervisor_handles_cold_chain_alarms(world):
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20)
    ingest(
        world.logger_1,
        temperature(1, -5, at=start),
        temperature(2, -5, at=start + dt.timedelta(minutes=11)),
    )
    alarm = Alarm.objects.get(rule__code="frozen-above-18")
    assert alarm.domain == "coldchain"
    services.alarm_acknowledge(actor=world.sup_coldchain, alarm=alarm)
    with pytest.raises(Http404):
        get_scoped_or_404(world.sup_equipment, Alarm, pk=alarm.pk)


# ---------------------------------------------------------------- the API


def test_the_alarm_list_with_its_filters(world, lift_alarm):
    ingest(world.camera, camera(1, "smoking"))
    ingest(world.lift_b, elevator(1, fault="door_fault"))
    client, headers = api_client_for(world.commander)

    def ids(query):
        response = client.get(f"/api/alarms?event={world.event.code}&{query}", **headers)
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["items"]]

    everything = ids("")
    assert len(everything) == 3
    assert everything[0] == lift_alarm.pk, "critical first"
    assert ids("severity=critical") == [lift_alarm.pk]
    assert ids("rule=lift-trapped") == [lift_alarm.pk]
    assert ids(f"subject=core.unit:{world.key_a.pk}") == [lift_alarm.pk]
    assert len(ids("state=active")) == 3 and ids("state=cleared") == []
    services.alarm_acknowledge(actor=world.commander, alarm=lift_alarm)
    assert ids("state=acknowledged") == [lift_alarm.pk]
    assert len(ids("state=open")) == 3
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert sorted(ids("until=" + later.replace("+", "%2B"))) == sorted(everything)
    assert ids("state=open")[-1] == lift_alarm.pk, "unacknowledged first"
    assert ids("until=2000-01-01T00:00:00Z") == []
    page = client.get(f"/api/alarms?event={world.event.code}&limit=1", **headers).json()
    assert page["count"] == 3 and len(page["items"]) == 1


def test_an_alarm_with_its_timeline_and_the_actions(world, lift_alarm):
    client, headers = api_client_for(world.post_a)
    url = f"/api/alarms/{lift_alarm.pk}"
    data = client.get(url, **headers).json()
    assert data["state"] == "active" and data["severity"] == "critical"
    assert (
        data["rule"]["code"] == "lift-trapped" and data["subject"] == f"core.unit:{world.key_a.pk}"
    )
    assert [e["action"] for e in data["timeline"]] == ["raised"]

    response = client.post(
        url + "/acknowledge", data={"note": "coming"}, content_type="application/json", **headers
    )
    assert response.status_code == 200
    assert response.json()["acknowledged_by"] == world.post_a.username
    again = client.post(url + "/acknowledge", content_type="application/json", **headers)
    assert again.status_code == 400 and "already acknowledged" in again.json()["detail"] + str(
        again.json()
    )

    no_note = client.post(
        url + "/clear", data={"note": ""}, content_type="application/json", **headers
    )
    assert no_note.status_code == 400
    assert no_note.json()["errors"][0]["field"] == "note"
    missing = client.post(url + "/clear", data={}, content_type="application/json", **headers)
    assert missing.status_code == 400
    cleared = client.post(
        url + "/clear", data={"note": "released"}, content_type="application/json", **headers
    )
    assert cleared.status_code == 200
    assert [e["action"] for e in cleared.json()["timeline"]] == [
        "raised",
        "acknowledged",
        "cleared",
    ]


def test_an_alarm_out_of_scope_is_not_found_and_one_not_changeable_is_forbidden(world, lift_alarm):
    client, headers = api_client_for(world.exhibitor)
    assert client.get(f"/api/alarms/{lift_alarm.pk}", **headers).status_code == 404
    assert (
        client.post(
            f"/api/alarms/{lift_alarm.pk}/acknowledge", content_type="application/json", **headers
        ).status_code
        == 404
    )
    assert client.get(f"/api/alarms?event={world.event.code}", **headers).json()["count"] == 0
    client, headers = api_client_for(world.auditor)
    assert client.get(f"/api/alarms/{lift_alarm.pk}", **headers).status_code == 200
    refused = client.post(
        f"/api/alarms/{lift_alarm.pk}/acknowledge", content_type="application/json", **headers
    )
    assert refused.status_code == 403 and refused.json()["detail"]
    assert client.get("/api/alarms/999999", **headers).status_code == 404


def test_the_alarm_list_needs_a_login(world, lift_alarm, client):
    assert client.get("/api/alarms").status_code == 401


def test_the_alarms_of_an_ingest_batch_are_not_checked_one_query_at_a_time(world):
    """The database holds the alarms' constraints and foreign keys; asking it about each of
    them for each alarm of a batch made a batch that touched many alarms take seconds."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        ingest(world.lift_a, elevator(1, fault="trapped_away_from_floor"))
    assert Alarm.objects.filter(rule__code="lift-trapped", state="active").count() == 1
    lookups = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT 1 AS "a"')]
    assert lookups == []
