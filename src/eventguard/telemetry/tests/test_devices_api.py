"""Devices, dead letters and statistics over the API, for the people allowed to see them."""

import pytest

from eventguard.core.services import person_set_language
from eventguard.core.testing import api_client_for, make_member, make_unit
from eventguard.telemetry.models import Device
from eventguard.telemetry.services import secret_matches, telemetry_ingest
from eventguard.telemetry.testing import inbound, ingest, make_device, temperature


@pytest.fixture
def people(event):
    class People:
        pass

    p = People()
    p.warehouse = make_unit(event, category="coldchain_warehouse")
    p.kitchen = make_unit(event, category="group_meal_enterprise")
    p.sup_coldchain = make_member(event, "supervisor", domains=["coldchain"])
    p.sup_food = make_member(event, "supervisor", domains=["food"])
    p.commander = make_member(event, "commander")
    p.operator = make_member(event, "unit_operator", unit=p.kitchen)
    for user in (p.sup_coldchain, p.sup_food, p.commander, p.operator):
        person_set_language(actor=user, language="en")
    return p


def test_registering_a_device_returns_its_secret_once(event, people):
    client, headers = api_client_for(people.sup_coldchain)
    response = client.post(
        "/api/devices",
        data={
            "event": event.code,
            "code": "tl-room-9",
            "kind": "temperature_logger",
            "subject": f"core.unit:{people.warehouse.pk}",
            "offline_after": 120,
        },
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    device = Device.objects.get(code="tl-room-9")
    assert secret_matches(device, body["secret"])
    assert body["device"]["status"] == "never_seen" and body["device"]["domain"] == "coldchain"
    shown = client.get(f"/api/devices/{device.pk}", **headers).json()
    assert "secret" not in shown and shown["offline_after"] == 120


def test_a_device_outside_ones_domain_cannot_be_registered(event, people):
    client, headers = api_client_for(people.sup_food)
    response = client.post(
        "/api/devices",
        data={
            "event": event.code,
            "code": "tl-x",
            "kind": "temperature_logger",
            "subject": f"core.unit:{people.warehouse.pk}",
        },
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 403
    bad_subject = client.post(
        "/api/devices",
        data={
            "event": event.code,
            "code": "cam-x",
            "kind": "kitchen_camera",
            "subject": "core.unit",
        },
        content_type="application/json",
        **headers,
    )
    assert bad_subject.status_code == 400
    assert bad_subject.json()["errors"][0]["field"] == "subject"


def test_devices_listed_changed_and_given_a_new_secret(event, people):
    logger, _secret = make_device(event, subject=people.warehouse, code="tl-1")
    camera, _secret = make_device(
        event, subject=people.kitchen, kind="kitchen_camera", code="cam-1"
    )
    ingest(logger, temperature(1, -20))
    client, headers = api_client_for(people.commander)
    listing = client.get(f"/api/devices?event={event.code}", **headers).json()
    assert {d["code"] for d in listing["items"]} == {"tl-1", "cam-1"}
    online = client.get(f"/api/devices?event={event.code}&status=online", **headers).json()
    assert [d["code"] for d in online["items"]] == ["tl-1"]
    assert online["items"][0]["latest"]["celsius"] == -20
    patched = client.patch(
        f"/api/devices/{camera.pk}",
        data={"offline_after": 900, "name": "Kitchen pass camera"},
        content_type="application/json",
        **headers,
    )
    assert patched.status_code == 200 and patched.json()["offline_after"] == 900
    too_short = client.patch(
        f"/api/devices/{camera.pk}",
        data={"offline_after": 3},
        content_type="application/json",
        **headers,
    )
    assert too_short.status_code == 400
    rotated = client.post(f"/api/devices/{camera.pk}/rotate-secret", **headers).json()
    camera.refresh_from_db()
    assert secret_matches(camera, rotated["secret"])


def test_an_operator_sees_only_the_devices_of_their_unit(event, people):
    make_device(event, subject=people.warehouse, code="tl-1")
    camera, _secret = make_device(
        event, subject=people.kitchen, kind="kitchen_camera", code="cam-1"
    )
    client, headers = api_client_for(people.operator)
    listing = client.get(f"/api/devices?event={event.code}", **headers).json()
    assert [d["code"] for d in listing["items"]] == ["cam-1"]
    other = Device.objects.get(code="tl-1")
    assert client.get(f"/api/devices/{other.pk}", **headers).status_code == 404


def test_statistics_and_dead_letters_are_for_the_monitoring_domain(event, people):
    logger, _secret = make_device(event, subject=people.warehouse, code="tl-1")
    ingest(logger, temperature(1, -20))
    telemetry_ingest(messages=[inbound(logger, None, raw=b"\xff\xfe")])
    client, headers = api_client_for(people.commander)
    stats = client.get(f"/api/telemetry/stats?event={event.code}", **headers).json()
    assert stats["stored"] == 1 and stats["dead_letters"]["by_reason"] == {"not_json": 1}
    letters = client.get(f"/api/telemetry/dead-letters?event={event.code}", **headers).json()
    assert letters["count"] == 1 and letters["items"][0]["reason"] == "not_json"
    client, headers = api_client_for(people.sup_food)
    assert client.get(f"/api/telemetry/stats?event={event.code}", **headers).status_code == 403
    letters = client.get(f"/api/telemetry/dead-letters?event={event.code}", **headers).json()
    assert letters["count"] == 0
