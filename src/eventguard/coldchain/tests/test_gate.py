"""The venue gate: PASS records the entry; REFUSED says why; the deadline and the
temperature at the gate count."""

import datetime as dt
from decimal import Decimal

import pytest

from eventguard.coldchain import services
from eventguard.coldchain.identifiers import parse_digital_link
from eventguard.coldchain.models import BoxState, BoxTransition, TemperatureReading
from eventguard.coldchain.testing import SHANGHAI, advance, at, declare_boxes
from eventguard.core.testing import api_client_for, client_for

S = BoxState


def gate(site, code, **payload):
    client, headers = api_client_for(site.staff)
    return client.post(
        "/api/coldchain/gate",
        {"event": site.event.code, "code": code, **payload},
        content_type="application/json",
        **headers,
    )


def test_a_box_whose_loop_is_complete_passes_and_enters(site, consignment):
    (box,) = advance(site, declare_boxes(consignment, 1), S.IN_TRANSIT)
    response = gate(site, box.code.lower())
    assert response.status_code == 200
    body = response.json()
    assert body["verdict"] == "PASS" and body["reasons"] == [] and body["late"] is False
    box.refresh_from_db()
    assert box.state == S.ENTERED_VENUE and box.entered_at is not None
    step = BoxTransition.objects.get(box=box, transition="enter")
    assert step.actor == site.staff
    # a second scan is refused: it is already in
    again = gate(site, box.code).json()
    assert again["verdict"] == "REFUSED"
    assert "already entered the venue" in again["reasons"][0]


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (S.DECLARED, "inspection-and-quarantine certificate missing"),
        (S.PORT_RELEASED, "warehouse batch missing"),
        (S.IN_WAREHOUSE, "smallest-package disinfection missing"),
        (S.DISINFECTED, "outer-carton NAT sample missing"),
        (S.SAMPLED, "smallest-package NAT result missing"),
        (S.CLEARED, "warehouse-exit certificate missing"),
        (S.RELEASED, "transport (vehicle and departure) missing"),
        (S.QUARANTINED, "is quarantined after a positive NAT result"),
        (S.DISPOSED, "was disposed of (Destroyed)"),
    ],
)
def test_an_incomplete_loop_is_refused_with_reasons(site, consignment, state, reason):
    (box,) = advance(site, declare_boxes(consignment, 1), state)
    body = gate(site, box.code).json()
    assert body["verdict"] == "REFUSED"
    assert any(reason in r for r in body["reasons"]), body["reasons"]
    if state not in (S.QUARANTINED, S.DISPOSED):
        assert f"“{S(state).label}”" in body["reasons"][0]
    box.refresh_from_db()
    assert box.state == state
    assert box.entered_at is None


def test_qr_content_and_epc_uri_are_accepted(site, consignment):
    boxes = advance(site, declare_boxes(consignment, 2), S.IN_TRANSIT)
    assert gate(site, boxes[0].epc).json()["verdict"] == "PASS"  # what the QR label holds
    gtin, serial = parse_digital_link(boxes[1].epc)
    sgtin = f"urn:epc:id:sgtin:9521234.0{gtin[8:13]}.{serial}"
    assert gtin == "09521234543213"
    assert gate(site, sgtin).json()["verdict"] == "PASS"


def test_an_unknown_code_is_refused(site):
    body = gate(site, "CC-999999").json()
    assert body["verdict"] == "REFUSED" and body["box"] is None
    assert "No box CC-999999" in body["reasons"][0]


def test_a_warm_box_is_refused_at_the_gate(site, consignment):
    (box,) = advance(site, declare_boxes(consignment, 1), S.IN_TRANSIT)
    body = gate(site, box.code, celsius="-5.0").json()
    assert body["verdict"] == "REFUSED"
    assert "outside its class" in body["reasons"][0]
    body = gate(site, box.code, celsius="-19.5").json()
    assert body["verdict"] == "PASS"
    reading = TemperatureReading.objects.get(box=box)
    assert reading.celsius == Decimal("-19.5") and not reading.excursion


def test_entry_after_the_deadline_passes_but_is_late(site, consignment):
    services.coldchain_settings_update(
        actor=None, event=site.event, entry_deadline=dt.datetime(2021, 11, 2, tzinfo=SHANGHAI)
    )
    on_time, late = advance(site, declare_boxes(consignment, 2), S.IN_TRANSIT)
    services.gate_enter(actor=site.staff, event=site.event, scanned=on_time.code, at=at(30))
    result = services.gate_enter(
        actor=site.staff, event=site.event, scanned=late.code, at=at(3, month=11)
    )
    assert result.passed and result.late
    assert "after the cold-chain entry deadline" in result.reasons[0]
    from eventguard.coldchain import selectors

    late_codes = [
        b.code
        for b in selectors.box_list(
            user=site.staff, event=site.event, filters=selectors.BoxFilters(late=True)
        )
    ]
    assert late_codes == [late.code]
    on_time_codes = [
        b.code
        for b in selectors.box_list(
            user=site.staff, event=site.event, filters=selectors.BoxFilters(on_time=True)
        )
    ]
    assert on_time_codes == [on_time.code]


def test_at_risk_boxes_are_those_not_cleared_in_time(site, consignment):
    services.coldchain_settings_update(
        actor=None,
        event=site.event,
        entry_deadline=dt.datetime(2021, 10, 23, tzinfo=SHANGHAI),
        at_risk_hours=12,
    )
    cleared = advance(site, declare_boxes(consignment, 1), S.CLEARED)  # cleared 22 Oct 09:00
    waiting = advance(site, declare_boxes(consignment, 1), S.SAMPLED)
    from eventguard.coldchain import selectors

    risky = [
        b.code
        for b in selectors.box_list(
            user=site.staff, event=site.event, filters=selectors.BoxFilters(at_risk=True)
        )
    ]
    assert risky == [waiting[0].code]
    assert cleared[0].code not in risky


def test_gate_page_on_a_phone(site, consignment):
    (box,) = advance(site, declare_boxes(consignment, 1), S.IN_TRANSIT)
    web = client_for(site.staff)
    url = f"/e/{site.event.code}/coldchain/gate/"
    page = web.get(url)
    assert page.status_code == 200
    assert 'name="code"' in page.content.decode()
    result = web.post(url, {"code": box.code})
    text = result.content.decode()
    assert 'data-verdict="PASS"' in text and box.code in text
    refused = web.post(url, {"code": box.code}).content.decode()
    assert 'data-verdict="REFUSED"' in refused
