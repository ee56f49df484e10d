"""Exhibitor portal: an exhibitor sees only its own consignments and boxes; another
exhibitor's box answers 404 on pages and API alike."""

import pytest

from eventguard.coldchain.models import BoxState
from eventguard.coldchain.testing import advance, declare_boxes, make_consignment
from eventguard.core.testing import api_client_for, client_for


@pytest.fixture
def two_exhibitors(site, consignment):
    mine = declare_boxes(consignment, 2)
    other_consignment = make_consignment(site.event, site.other_exhibitor)
    theirs = declare_boxes(other_consignment, 2)
    return mine, theirs, other_consignment


def test_exhibitor_lists_only_its_own_boxes(site, two_exhibitors):
    mine, theirs, _other = two_exhibitors
    client, headers = api_client_for(site.exhibitor_user)
    body = client.get(f"/api/coldchain/boxes?event={site.event.code}", **headers).json()
    assert sorted(b["code"] for b in body["items"]) == sorted(b.code for b in mine)
    page = client_for(site.exhibitor_user).get(f"/e/{site.event.code}/coldchain/boxes/")
    assert page.status_code == 200
    text = page.content.decode()
    assert all(b.code in text for b in mine)
    assert not any(b.code in text for b in theirs)


def test_another_exhibitors_box_is_404_on_page_and_api(site, two_exhibitors):
    _mine, theirs, other_consignment = two_exhibitors
    code = theirs[0].code
    client, headers = api_client_for(site.exhibitor_user)
    assert (
        client.get(f"/api/coldchain/boxes/{code}?event={site.event.code}", **headers).status_code
        == 404
    )
    web = client_for(site.exhibitor_user)
    assert web.get(f"/e/{site.event.code}/coldchain/boxes/{code}/").status_code == 404
    assert web.get(f"/e/{site.event.code}/coldchain/boxes/{code}/label/").status_code == 404
    assert (
        web.get(f"/e/{site.event.code}/coldchain/consignments/{other_consignment.pk}/").status_code
        == 404
    )
    assert (
        client.get(f"/api/coldchain/consignments/{other_consignment.pk}", **headers).status_code
        == 404
    )
    # while its own exhibitor sees it
    other, other_headers = api_client_for(site.other_exhibitor_user)
    assert (
        other.get(
            f"/api/coldchain/boxes/{code}?event={site.event.code}", **other_headers
        ).status_code
        == 200
    )


def test_exhibitor_sees_its_boxs_journey(site, consignment):
    (box,) = advance(site, declare_boxes(consignment, 1), BoxState.CLEARED)
    client, headers = api_client_for(site.exhibitor_user)
    body = client.get(f"/api/coldchain/boxes/{box.code}?event={site.event.code}", **headers).json()
    assert body["state"] == "cleared"
    assert [e["state"] for e in body["timeline"] if e["kind"] == "step"] == [
        "declared",
        "port_released",
        "in_warehouse",
        "disinfected",
        "sampled",
        "cleared",
    ]
    page = client_for(site.exhibitor_user).get(f"/e/{site.event.code}/coldchain/boxes/{box.code}/")
    assert page.status_code == 200
    assert "Cleared: both NAT results negative" in page.content.decode()


def test_naming_another_exhibitors_box_in_a_request_learns_nothing(site, two_exhibitors):
    _mine, theirs, _other = two_exhibitors
    client, headers = api_client_for(site.exhibitor_user)
    response = client.post(
        "/api/coldchain/gate",
        {"event": site.event.code, "code": theirs[0].code},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 403  # the gate is staff work
    response = client.post(
        "/api/coldchain/releases",
        {"event": site.event.code, "boxes": [theirs[0].code], "certificate_no": "X"},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == f"No box {theirs[0].code} in this event."


def test_exhibitor_declares_for_itself_only(site):
    client, headers = api_client_for(site.exhibitor_user)
    payload = {
        "event": site.event.code,
        "reference": "CN-1",
        "port_of_entry": "上海洋山港",
        "customs_declaration_no": "223320211000000001",
        "origin_country": "France",
        "products": "Cheese",
    }
    own = client.post(
        "/api/coldchain/consignments",
        {**payload, "exhibitor": site.exhibitor.pk},
        content_type="application/json",
        **headers,
    )
    assert own.status_code == 201, own.content
    other = client.post(
        "/api/coldchain/consignments",
        {**payload, "reference": "CN-2", "exhibitor": site.other_exhibitor.pk},
        content_type="application/json",
        **headers,
    )
    assert other.status_code == 400
    assert other.json()["errors"][0]["field"] == "exhibitor"


def test_exhibitor_may_not_record_steps_or_use_the_gate(site, consignment):
    advance(site, declare_boxes(consignment, 1), BoxState.IN_TRANSIT)
    web = client_for(site.exhibitor_user)
    assert web.get(f"/e/{site.event.code}/coldchain/gate/").status_code == 403
    assert web.get(f"/e/{site.event.code}/coldchain/steps/").status_code == 403


def test_staff_see_every_exhibitors_boxes(site, two_exhibitors):
    mine, theirs, _other = two_exhibitors
    client, headers = api_client_for(site.staff)
    body = client.get(f"/api/coldchain/boxes?event={site.event.code}", **headers).json()
    assert body["count"] == len(mine) + len(theirs)
