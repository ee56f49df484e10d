"""The equipment registry: validation, overdue inspections, import all or nothing, labels."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from eventguard.core.testing import api_client_for, client_for, make_unit
from eventguard.equipment import importers, selectors, services
from eventguard.equipment.models import Equipment
from eventguard.equipment.testing import make_equipment


def test_codes_are_unique_per_event_and_dates_in_order(world):
    with pytest.raises(ValidationError) as exc:
        make_equipment(
            world.event, code=world.lift_a.code, zone=world.zone_a, user_unit=world.unit_a
        )
    assert "already registered" in " ".join(exc.value.messages)
    with pytest.raises(ValidationError) as exc:
        make_equipment(
            world.event,
            last_inspection_on=dt.date(2021, 6, 1),
            next_inspection_due=dt.date(2021, 5, 1),
            zone=world.zone_a,
            user_unit=world.unit_a,
        )
    assert "cannot be due before the last inspection" in " ".join(exc.value.messages)


def test_core_area_follows_the_zone_and_overdue_is_flagged(world):
    from eventguard.core.services import zone_update

    zone_update(actor=None, zone=world.zone_a, is_core_area=True)
    world.zone_a.refresh_from_db()
    lift = make_equipment(
        world.event,
        zone=world.zone_a,
        user_unit=world.unit_a,
        next_inspection_due=dt.date(2021, 10, 1),
        last_inspection_on=dt.date(2020, 10, 1),
    )
    assert lift.is_core_area
    assert lift.inspection_overdue(today=dt.date(2021, 11, 5))
    assert not lift.inspection_overdue(today=dt.date(2021, 9, 30))
    overdue = selectors.equipment_list(
        user=world.supervisor,
        event=world.event,
        filters=selectors.EquipmentFilters(inspection_overdue=True),
    )
    assert lift in overdue  # every date above lies in the past


def test_a_unit_operator_registers_only_its_own_equipment(world):
    make_equipment(world.event, zone=world.zone_a, user_unit=world.unit_a, code="OWN-1")
    with pytest.raises(PermissionDenied):
        services.equipment_create(
            actor=world.operator_a,
            event=world.event,
            code="X-1",
            kind="lift",
            user_unit=world.unit_b,
            zone=world.zone_b,
        )
    own = services.equipment_create(
        actor=world.operator_a,
        event=world.event,
        code="X-2",
        kind="boiler",
        user_unit=world.unit_a,
    )
    assert own.user_unit == world.unit_a


def _csv(rows):
    header = "Equipment code,Kind,Zone,User unit credit code,Next inspection due,Traffic level\n"
    return (header + "\n".join(rows) + "\n").encode()


def test_import_is_all_or_nothing_with_row_errors(world):
    maintenance = make_unit(world.event, category="maintenance_unit")
    content = _csv(
        [
            f"IMP-1,lift,{world.zone_a.code},{world.unit_a.credit_code},2022-06-01,high",
            f"IMP-2,rocket,{world.zone_a.code},{world.unit_a.credit_code},2022-06-01,high",
            f"IMP-3,escalator,no-such-zone,{world.unit_a.credit_code},2022-13-01,low",
            f"IMP-4,escalator,{world.zone_a.code},{maintenance.credit_code}X,,low",
            f"IMP-1,lift,{world.zone_a.code},{world.unit_a.credit_code},,high",
        ]
    )
    result = importers.import_equipment(
        actor=world.supervisor, event=world.event, content=content, filename="e.csv", dry_run=False
    )
    assert not result.ok and not result.applied
    errors = {(e.row, e.column) for e in result.errors}
    assert (3, "kind") in errors
    assert (4, "next_inspection_due") in errors
    assert (5, "user_unit") in errors
    assert (6, "code") in errors  # the same code twice in one file
    assert not Equipment.objects.filter(code__startswith="IMP-").exists()


def test_import_creates_then_updates_and_a_dry_run_writes_nothing(world):
    content = _csv(
        [
            f"IMP-1,lift,{world.zone_a.code},{world.unit_a.credit_code},2022-06-01,high",
            f"IMP-2,升降梯,{world.zone_a.code},{world.unit_a.credit_code},,low",
        ]
    )
    dry = importers.import_equipment(
        actor=world.supervisor, event=world.event, content=content, filename="e.csv", dry_run=True
    )
    assert dry.ok and dry.created == 2 and not Equipment.objects.filter(code="IMP-1").exists()
    done = importers.import_equipment(
        actor=world.supervisor, event=world.event, content=content, filename="e.csv", dry_run=False
    )
    assert done.applied and done.created == 2
    again = importers.import_equipment(
        actor=world.supervisor, event=world.event, content=content, filename="e.csv", dry_run=False
    )
    assert again.updated == 2
    assert Equipment.objects.get(code="IMP-2").kind == "lift"


def test_import_through_the_api_refuses_the_whole_file(world):
    client, headers = api_client_for(world.supervisor)
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("e.csv", _csv([f"IMP-9,lift,{world.zone_a.code},nope,,high"]))
    response = client.post(
        f"/api/equipment/import?event={world.event.code}&dry_run=false", {"file": bad}, **headers
    )
    assert response.status_code == 400
    body = response.json()
    assert body["applied"] is False and body["errors"][0]["row"] == 2
    assert body["errors"][0]["column"] == "user_unit"


def test_the_qr_label_encodes_the_patrol_start_url(world):
    response = client_for(world.post_a).get(
        reverse("equipment:equipment_label", args=[world.event.code, world.lift_a.pk])
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.lstrip().startswith(b"<svg")
    # The label of equipment outside the person's zones does not exist for them.
    assert (
        client_for(world.post_a)
        .get(reverse("equipment:equipment_label", args=[world.event.code, world.lift_b.pk]))
        .status_code
        == 404
    )


def test_qr_payload_is_the_patrol_start_page():
    import segno

    from eventguard.equipment.views import qr_svg

    url = "http://testserver/e/x/equipment/1/patrol/"
    assert b"<svg" in qr_svg(url)
    assert segno.make(url, error="m").designator  # the same payload makes a valid symbol


def test_api_lists_and_filters_like_the_page(world):
    make_equipment(world.event, kind="escalator", zone=world.zone_a, user_unit=world.unit_a)
    client, headers = api_client_for(world.supervisor)
    body = client.get(f"/api/equipment?event={world.event.code}&kind=escalator", **headers).json()
    assert body["count"] == 1 and body["items"][0]["kind"] == "escalator"
    page = client_for(world.supervisor).get(
        reverse("equipment:equipment_list", args=[world.event.code]) + "?kind=escalator"
    )
    assert page.status_code == 200
    assert body["items"][0]["code"] in page.content.decode()
    assert world.lift_a.code not in page.content.decode()


def test_an_xlsx_file_imports_like_a_csv(world):
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    from django.utils import translation

    wanted = ["code", "kind", "zone", "user_unit", "next_inspection_due"]
    with translation.override("zh-hans"):  # the headers of the Chinese export template
        columns = {c.key: str(c.label) for c in importers.EQUIPMENT_COLUMNS}
        sheet.append([columns[key] for key in wanted])
    sheet.append(
        ["X-1", "自动扶梯", world.zone_a.code, world.unit_a.credit_code, dt.date(2022, 5, 1)]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    result = importers.import_equipment(
        actor=world.supervisor,
        event=world.event,
        content=buffer.getvalue(),
        filename="equipment.xlsx",
        dry_run=False,
    )
    assert result.applied, result.errors
    created = Equipment.objects.get(code="X-1")
    assert (created.kind, created.next_inspection_due) == ("escalator", dt.date(2022, 5, 1))


def test_list_pages_do_not_query_per_row(world, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(world.supervisor)
    url = reverse("equipment:equipment_list", args=[world.event.code])
    client.get(url)  # the person's grants are read at the first request, then kept
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(8):
        make_equipment(world.event, zone=world.zone_a, user_unit=world.unit_a)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


def test_settings_through_the_api(world):
    client, headers = api_client_for(world.supervisor)
    body = client.get(f"/api/equipment/settings?event={world.event.code}", **headers).json()
    assert body["patrol_windows"] == [["09:00", "12:00"], ["14:00", "17:30"]]
    response = client.put(
        f"/api/equipment/settings?event={world.event.code}",
        {"open_from": "08:30", "open_until": "19:00", "patrol_windows": [["10:00", "09:00"]]},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "patrol_windows"
    ok = client.put(
        f"/api/equipment/settings?event={world.event.code}",
        {"open_from": "08:30", "open_until": "19:00", "patrol_windows": [["08:30", "11:00"]]},
        content_type="application/json",
        **headers,
    )
    assert ok.status_code == 200
    assert services.settings_of(world.event).patrol_windows == [["08:30", "11:00"]]
    operator, op_headers = api_client_for(world.operator_a)
    refused = operator.put(
        f"/api/equipment/settings?event={world.event.code}",
        {"open_from": "08:30", "open_until": "19:00", "patrol_windows": [["08:30", "11:00"]]},
        content_type="application/json",
        **op_headers,
    )
    assert refused.status_code == 403


def test_register_and_change_equipment_through_the_pages(world):
    client = client_for(world.supervisor)
    url = reverse("equipment:equipment_create", args=[world.event.code])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "code": "NEW-1",
            "kind": "escalator",
            "zone": world.zone_a.pk,
            "user_unit": world.unit_a.pk,
            "traffic_level": "high",
            "last_inspection_on": "2021-06-01",
            "next_inspection_due": "2021-05-01",
        },
    )
    assert response.status_code == 200  # refused: due before the last inspection
    assert "cannot be due before" in response.content.decode()
    assert not Equipment.objects.filter(code="NEW-1").exists()
    response = client.post(
        url,
        {
            "code": "NEW-1",
            "kind": "escalator",
            "zone": world.zone_a.pk,
            "user_unit": world.unit_a.pk,
            "traffic_level": "high",
        },
    )
    created = Equipment.objects.get(code="NEW-1")
    assert response.url == reverse(
        "equipment:equipment_detail", args=[world.event.code, created.pk]
    )
    edit = reverse("equipment:equipment_edit", args=[world.event.code, created.pk])
    client.post(
        edit,
        {
            "code": "IGNORED",
            "kind": "escalator",
            "zone": world.zone_a.pk,
            "user_unit": world.unit_a.pk,
            "traffic_level": "low",
            "is_active": "on",
            "floor": "2F",
        },
    )
    created.refresh_from_db()
    assert (created.code, created.traffic_level, created.floor) == ("NEW-1", "low", "2F")
    assert client_for(world.operator_b).get(edit).status_code == 404
