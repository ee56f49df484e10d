"""Rules over the API: listed, changed, enabled and disabled per event, refused when wrong."""

from eventguard.alerts.models import Rule
from eventguard.core.testing import api_client_for


def test_the_rules_of_an_event(world):
    client, headers = api_client_for(world.commander)
    response = client.get(f"/api/rules?event={world.event.code}&limit=100", **headers)
    assert response.status_code == 200
    codes = {rule["code"]: rule for rule in response.json()["items"]}
    assert codes["lift-trapped"]["trigger"] == "elevator.status"
    assert codes["nat-positive"]["source"] == "record"
    assert codes["device-offline"]["available"] is True
    telemetry = client.get(
        f"/api/rules?event={world.event.code}&source=telemetry&limit=100", **headers
    ).json()
    assert {r["source"] for r in telemetry["items"]} == {"telemetry"}


def test_a_rule_is_changed_enabled_and_disabled(world):
    rule = Rule.objects.get(event=world.event, code="frozen-above-18")
    client, headers = api_client_for(world.sup_coldchain)
    patched = client.patch(
        f"/api/rules/{rule.pk}",
        data={"params": {"field": "celsius", "op": "above", "value": -15, "hold_seconds": 120}},
        content_type="application/json",
        **headers,
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["params"]["value"] == -15.0
    assert patched.json()["params"]["device_kinds"] == []
    off = client.post(f"/api/rules/{rule.pk}/disable", **headers)
    assert off.status_code == 200 and off.json()["enabled"] is False
    on = client.post(f"/api/rules/{rule.pk}/enable", **headers)
    assert on.json()["enabled"] is True


def test_wrong_parameters_are_refused_with_field_errors(world):
    rule = Rule.objects.get(event=world.event, code="lift-trapped")
    client, headers = api_client_for(world.commander)
    response = client.patch(
        f"/api/rules/{rule.pk}",
        data={"params": {"codes": ["exploded"], "colour": "red"}},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 400
    messages = " ".join(e["message"] for e in response.json()["errors"])
    assert "colour" in messages and "exploded" in messages
    rule.refresh_from_db()
    assert rule.params["codes"] == ["trapped_at_floor", "trapped_away_from_floor"]


def test_a_new_rule_over_the_api(world):
    client, headers = api_client_for(world.commander)
    response = client.post(
        "/api/rules",
        data={
            "event": world.event.code,
            "code": "warehouse-humid",
            "name_zh": "冷库湿度过高",
            "name_en": "Cold store too humid",
            "kind": "threshold",
            "severity": "minor",
            "domain": "coldchain",
            "params": {"field": "humidity", "op": "above", "value": 90, "hold_seconds": 60},
        },
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 201, response.content
    assert response.json()["trigger"] == "temperature"
    again = client.post(
        "/api/rules",
        data={
            "event": world.event.code,
            "code": "warehouse-humid",
            "name_zh": "重复",
            "kind": "threshold",
            "severity": "minor",
            "params": {"field": "humidity", "op": "above", "value": 90},
        },
        content_type="application/json",
        **headers,
    )
    assert again.status_code == 400


def test_who_may_change_rules(world):
    rule = Rule.objects.get(event=world.event, code="frozen-above-18")
    client, headers = api_client_for(world.auditor)
    assert client.get(f"/api/rules/{rule.pk}", **headers).status_code == 200
    assert client.post(f"/api/rules/{rule.pk}/disable", **headers).status_code == 403
    client, headers = api_client_for(world.sup_equipment)
    assert client.get(f"/api/rules/{rule.pk}", **headers).status_code == 404
    client, headers = api_client_for(world.exhibitor)
    assert client.get(f"/api/rules?event={world.event.code}", **headers).json()["count"] == 0


def test_the_kinds_of_rule_and_their_parameters(world):
    client, headers = api_client_for(world.commander)
    kinds = {k["kind"]: k for k in client.get("/api/rule-kinds", **headers).json()}
    assert set(kinds) == {
        "fault_code",
        "threshold",
        "rate_of_change",
        "camera_detection",
        "device_offline",
        "record",
        "condition",
    }
    threshold = {p["name"]: p for p in kinds["threshold"]["params"]}
    assert threshold["hold_seconds"]["default"] == 0
    assert ["above", "above"] in threshold["op"]["choices"]
