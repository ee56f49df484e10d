"""A rule's own acknowledgement time: set and cleared on the rule's page and over the API,
shown in the rule list, refused when too short, audited."""

from eventguard.alerts.models import Rule
from eventguard.core.models import AuditEntry
from eventguard.core.testing import api_client_for, client_for


def _form(rule, **extra):
    data = {
        "name_zh": rule.name_zh,
        "name_en": rule.name_en,
        "severity": rule.severity,
        "domain": rule.domain,
        "enabled": "on",
        "auto_clear": "on",
        "param_codes": rule.params["codes"],
        "param_device_kinds": [],
    }
    return {**data, **extra}


def test_the_time_is_set_on_the_rule_page_shown_in_the_list_and_audited(world):
    rule = Rule.objects.get(event=world.event, code="lift-trapped")
    client = client_for(world.sup_equipment)
    edit = f"/e/{world.event.code}/rules/{rule.pk}/edit/"
    assert "Acknowledge within (seconds)" in client.get(edit).content.decode()
    response = client.post(edit, _form(rule, ack_within_seconds="45"))
    assert response.status_code == 302, response.content.decode()
    rule.refresh_from_db()
    assert rule.ack_within_seconds == 45
    page = client.get(f"/e/{world.event.code}/rules/").content.decode()
    assert "45 seconds" in page
    entry = AuditEntry.objects.filter(object_type="alerts.rule", action="rule.update").last()
    assert entry.before["ack_within_seconds"] is None
    assert entry.after["ack_within_seconds"] == 45

    response = client.post(edit, _form(rule, ack_within_seconds=""))
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.ack_within_seconds is None
    assert "the chain's times" in client.get(f"/e/{world.event.code}/rules/").content.decode()


def test_a_time_under_ten_seconds_is_refused_on_the_page(world):
    rule = Rule.objects.get(event=world.event, code="lift-trapped")
    client = client_for(world.sup_equipment)
    response = client.post(
        f"/e/{world.event.code}/rules/{rule.pk}/edit/", _form(rule, ack_within_seconds="5")
    )
    assert response.status_code == 200
    assert "greater than or equal to 10" in response.content.decode()
    rule.refresh_from_db()
    assert rule.ack_within_seconds is None


def test_the_time_over_the_api(world):
    rule = Rule.objects.get(event=world.event, code="lift-trapped")
    client, headers = api_client_for(world.commander)
    patched = client.patch(
        f"/api/rules/{rule.pk}",
        data={"ack_within_seconds": 90},
        content_type="application/json",
        **headers,
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["ack_within_seconds"] == 90
    too_short = client.patch(
        f"/api/rules/{rule.pk}",
        data={"ack_within_seconds": 3},
        content_type="application/json",
        **headers,
    )
    assert too_short.status_code in (400, 422)
    assert "ack_within_seconds" in too_short.content.decode()
    rule.refresh_from_db()
    assert rule.ack_within_seconds == 90
    cleared = client.patch(
        f"/api/rules/{rule.pk}",
        data={"ack_within_seconds": None},
        content_type="application/json",
        **headers,
    )
    assert cleared.json()["ack_within_seconds"] is None
    created = client.post(
        "/api/rules",
        data={
            "event": world.event.code,
            "code": "lift-trapped-fast",
            "name_zh": "困人（快）",
            "kind": "fault_code",
            "severity": "critical",
            "domain": "equipment",
            "params": {"codes": ["trapped_at_floor"]},
            "ack_within_seconds": 30,
        },
        content_type="application/json",
        **headers,
    )
    assert created.status_code == 201, created.content
    assert Rule.objects.get(code="lift-trapped-fast").ack_within_seconds == 30
