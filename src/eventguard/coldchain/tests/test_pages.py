"""The cold-chain pages for the staff at the warehouse desk, and the figures behind them."""

import io
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from eventguard.coldchain.models import Box, BoxState, NatSample, WarehouseBatch
from eventguard.coldchain.testing import advance, declare_boxes
from eventguard.core.figures import figures_report
from eventguard.core.testing import client_for

S = BoxState


def url(site, path=""):
    return f"/e/{site.event.code}/coldchain/{path}"


def test_overview_and_lists_render(site, consignment):
    advance(site, declare_boxes(consignment, 3), S.CLEARED)
    web = client_for(site.staff)
    for path in [
        "",
        "consignments/",
        "boxes/",
        "exhibitors/",
        "deadline/",
        "steps/",
        f"consignments/{consignment.pk}/",
        "consignments/new/",
        "gate/",
    ]:
        response = web.get(url(site, path))
        assert response.status_code == 200, path


def test_box_list_filters_match_the_api(site, consignment):
    cleared = advance(site, declare_boxes(consignment, 2), S.CLEARED)
    advance(site, declare_boxes(consignment, 1), S.IN_WAREHOUSE)
    web = client_for(site.staff)
    page = web.get(url(site, "boxes/") + "?cleared=true").content.decode()
    assert all(b.code in page for b in cleared)
    assert page.count('class="mono" href=') == 2
    bad = web.get(url(site, "boxes/") + "?cleared=maybe").content.decode()
    assert "maybe" in bad  # named as not a valid value, the list shows unfiltered


def test_box_list_queries_do_not_grow_with_boxes(site, consignment):
    declare_boxes(consignment, 5)
    web = client_for(site.staff)
    web.get(url(site, "boxes/"))
    with CaptureQueriesContext(connection) as few:
        web.get(url(site, "boxes/"))
    declare_boxes(consignment, 30)
    with CaptureQueriesContext(connection) as many:
        web.get(url(site, "boxes/"))
    assert len(many) == len(few)


def test_box_export_csv(site, consignment):
    boxes = declare_boxes(consignment, 3)
    response = client_for(site.staff).get(url(site, "boxes/") + "?format=csv")
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert all(b.code in text for b in boxes)


def test_box_page_shows_the_journey_and_the_label(site, consignment):
    (box,) = advance(site, declare_boxes(consignment, 1), S.ENTERED_VENUE)
    web = client_for(site.staff)
    page = web.get(url(site, f"boxes/{box.code}/")).content.decode()
    assert page.count("<li") >= 9 and box.epc in page
    label = web.get(url(site, f"boxes/{box.code}/label/")).content.decode()
    assert "<svg" in label and box.code in label


def test_pages_read_in_chinese(event):
    from eventguard.coldchain.testing import make_consignment, make_site

    site = make_site(event, language="zh-hans")
    (box,) = advance(site, declare_boxes(make_consignment(event, site.exhibitor), 1), S.CLEARED)
    page = client_for(site.staff).get(url(site, f"boxes/{box.code}/")).content.decode()
    with translation.override("zh-hans"):
        assert str(S.CLEARED.label) in page
        assert str(S.CLEARED.label) != "Cleared"


def test_manifest_upload_on_the_consignment_page(site, consignment):
    web = client_for(site.exhibitor_user)
    content = (
        b"code,gtin,product,temperature_class,weight_kg,smallest_package\n"
        b"CC-000001,09521234543213,Beef,frozen,10,1 kg\n"
        b"CC-000002,09521234543213,Beef,frozen,-3,1 kg\n"
    )
    file = io.BytesIO(content)
    file.name = "manifest.csv"
    page = web.post(
        url(site, f"consignments/{consignment.pk}/"),
        {"action": "manifest", "file": file, "dry_run": ""},
    )
    assert page.status_code == 200
    assert 'id="import-result"' in page.content.decode()
    assert not Box.objects.exists()
    file = io.BytesIO(content.replace(b"-3", b"3"))
    file.name = "manifest.csv"
    done = web.post(
        url(site, f"consignments/{consignment.pk}/"), {"action": "manifest", "file": file}
    )
    assert done.status_code == 302
    assert Box.objects.count() == 2


def test_warehouse_desk_records_steps_by_batch(site, consignment):
    boxes = advance(site, declare_boxes(consignment, 3), S.PORT_RELEASED)
    web = client_for(site.staff)
    desk = url(site, "steps/")
    codes = " ".join(b.code for b in boxes)
    response = web.post(
        desk,
        {
            "step": "receive",
            "codes": codes,
            "warehouse": site.warehouse.pk,
            "number": "B-1",
            "received_at": "2021-10-21T09:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    batch = WarehouseBatch.objects.get(number="B-1")
    response = web.post(
        desk,
        {
            "step": "disinfect",
            "batch": batch.pk,
            "agent": "Chlorine",
            "operator": "Li",
            "performed_at": "2021-10-21T10:00",
            "surfaces": ["outer_carton", "smallest_package"],
        },
    )
    assert response.status_code == 302
    response = web.post(
        desk,
        {
            "step": "sample",
            "batch": batch.pk,
            "laboratory": site.laboratory.pk,
            "sampled_at": "2021-10-21T11:00",
            "surfaces": ["outer_carton", "smallest_package"],
        },
    )
    assert response.status_code == 302
    sheet = "sample_code,result,reported_at\n" + "\n".join(
        f"{s.sample_code},negative,2021-10-22 09:00" for s in NatSample.objects.all()
    )
    file = io.BytesIO(sheet.encode())
    file.name = "lab.csv"
    response = web.post(desk, {"step": "results", "file": file})
    assert response.status_code == 302
    assert set(Box.objects.values_list("state", flat=True)) == {S.CLEARED}


def test_warehouse_desk_shows_refusals_on_the_form(site, consignment):
    boxes = advance(site, declare_boxes(consignment, 1), S.IN_WAREHOUSE)
    response = client_for(site.staff).post(
        url(site, "steps/"),
        {
            "step": "release",
            "codes": boxes[0].code,
            "certificate_no": "EX-1",
            "released_at": "2021-10-25T09:00",
        },
    )
    assert response.status_code == 200
    assert boxes[0].code in response.content.decode()
    assert Box.objects.get().state == S.IN_WAREHOUSE


def test_figures_count_the_records_their_lists_show(site, consignment):
    advance(site, declare_boxes(consignment, 2), S.ENTERED_VENUE)
    advance(site, declare_boxes(consignment, 1), S.QUARANTINED)
    declare_boxes(consignment, 1)
    figures = figures_report(site.event)["figures"]
    values = {k: f["value"] for k, f in figures.items() if k.startswith("coldchain.")}
    assert values == {
        "coldchain.exhibitors": 1,
        "coldchain.boxes_received": 3,
        "coldchain.boxes_cleared_negative": 2,
        "coldchain.boxes_positive": 1,
        "coldchain.boxes_entered_venue": 2,
        "coldchain.boxes_entered_on_time": 2,
        "coldchain.first_warehouse_entry": "2021-10-21",
        "coldchain.last_venue_entry": "2021-10-26",
    }
    web = client_for(site.staff)
    for key in (
        "boxes_received",
        "boxes_cleared_negative",
        "boxes_positive",
        "boxes_entered_venue",
        "boxes_entered_on_time",
    ):
        page = web.get(figures[f"coldchain.{key}"]["records_url"]).content.decode()
        shown = len(re.findall(r'class="mono" href="/e/[^"]+/coldchain/boxes/', page))
        assert shown == values[f"coldchain.{key}"], key
    exhibitors = web.get(figures["coldchain.exhibitors"]["records_url"]).content.decode()
    assert site.exhibitor.name in exhibitors and site.other_exhibitor.name not in exhibitors


def test_temperature_api_flags_excursions_on_the_timeline(site, consignment):
    from eventguard.core.testing import api_client_for

    (box,) = advance(site, declare_boxes(consignment, 1), S.IN_WAREHOUSE)
    client, headers = api_client_for(site.staff)
    response = client.post(
        "/api/coldchain/temperatures",
        {
            "event": site.event.code,
            "readings": [
                {
                    "subject": "box",
                    "box": box.code,
                    "measured_at": "2021-10-21T12:00:00+08:00",
                    "celsius": "-12.0",
                },
                {
                    "subject": "warehouse",
                    "warehouse": site.warehouse.pk,
                    "compartment": "frozen",
                    "measured_at": "2021-10-21T13:00:00+08:00",
                    "celsius": "-25.0",
                },
                {
                    "subject": "vehicle",
                    "vehicle_plate": "沪A12345",
                    "compartment": "chilled",
                    "measured_at": "2021-10-21T13:00:00+08:00",
                    "celsius": "7.5",
                },
            ],
        },
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 201, response.content
    assert [r["excursion"] for r in response.json()] == [True, False, True]
    detail = client.get(f"/api/coldchain/boxes/{box.code}?event={site.event.code}", **headers)
    readings = [e for e in detail.json()["timeline"] if e["kind"] == "reading"]
    assert len(readings) == 1 and readings[0]["alert"] is True
    bad = client.post(
        "/api/coldchain/temperatures",
        {
            "event": site.event.code,
            "readings": [
                {"subject": "vehicle", "measured_at": "2021-10-21T13:00:00+08:00", "celsius": "2"}
            ],
        },
        content_type="application/json",
        **headers,
    )
    assert bad.status_code == 400
