"""Bulk work: manifests, batches, disinfection, result sheets. All or nothing, with row-level
errors, through the same rules and audit as a single box."""

import csv
import io

import pytest
from openpyxl import Workbook

from eventguard.coldchain import importers, services
from eventguard.coldchain.models import Box, BoxState, BoxTransition, Disinfection, NatSample
from eventguard.coldchain.testing import GTIN, advance, at, box_rows, declare_boxes
from eventguard.core.models import AuditEntry
from eventguard.core.testing import api_client_for

S = BoxState
HEADER = ["code", "gtin", "serial", "product", "temperature_class", "weight_kg", "smallest_package"]


def upload(content: bytes, name: str = "manifest.csv") -> io.BytesIO:
    file = io.BytesIO(content)
    file.name = name
    return file


def manifest_csv(rows: list[list[str]], header=HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def good_row(n: int, **changes) -> list[str]:
    row = {
        "code": f"CC-{n:06d}",
        "gtin": GTIN,
        "serial": "",
        "product": "Frozen beef",
        "temperature_class": "frozen",
        "weight_kg": "12.5",
        "smallest_package": "1 kg vacuum pack",
    }
    row.update(changes)
    return [row[h] for h in HEADER]


def test_manifest_declares_every_box(site, consignment):
    content = manifest_csv([good_row(1), good_row(2, temperature_class="冷藏")])
    result = importers.import_manifest(
        actor=site.exhibitor_user,
        consignment=consignment,
        content=content,
        filename="manifest.csv",
        dry_run=False,
    )
    assert result.ok and result.created == 2
    boxes = list(Box.objects.filter(consignment=consignment).order_by("code"))
    assert [b.code for b in boxes] == ["CC-000001", "CC-000002"]
    assert boxes[1].temperature_class == "chilled"
    assert boxes[0].epc == f"https://id.gs1.org/01/{GTIN}/21/CC-000001"
    assert all(b.state == S.DECLARED for b in boxes)
    assert BoxTransition.objects.filter(box__in=boxes, to_state=S.DECLARED).count() == 2


def test_manifest_dry_run_writes_nothing(site, consignment):
    result = importers.import_manifest(
        actor=None,
        consignment=consignment,
        content=manifest_csv([good_row(1)]),
        filename="m.csv",
        dry_run=True,
    )
    assert result.ok and result.created == 1
    assert not Box.objects.exists()


def test_one_bad_row_refuses_the_whole_manifest_with_row_errors(site, consignment):
    audit_before = AuditEntry.objects.count()
    rows = [
        good_row(1),
        good_row(2, gtin="09521234543214"),  # wrong check digit
        good_row(3, weight_kg="-1"),
        good_row(4, temperature_class="warm"),
        good_row(1),  # repeats row 2's code
        good_row(6, product=""),
    ]
    result = importers.import_manifest(
        actor=None,
        consignment=consignment,
        content=manifest_csv(rows),
        filename="m.csv",
        dry_run=False,
    )
    assert not result.ok
    errors = {(e.row, e.column) for e in result.errors}
    assert (3, "gtin") in errors
    assert (4, "weight_kg") in errors
    assert (5, "temperature_class") in errors
    assert (6, "code") in errors
    assert (7, "product") in errors
    assert 2 not in {e.row for e in result.errors}
    assert not Box.objects.exists()
    assert AuditEntry.objects.count() == audit_before


def test_manifest_refuses_codes_already_declared(site, consignment):
    declare_boxes(consignment, 1, prefix="CC")  # CC-00001
    result = importers.import_manifest(
        actor=None,
        consignment=consignment,
        content=manifest_csv([good_row(2, code="CC-00001"), good_row(3)]),
        filename="m.csv",
        dry_run=False,
    )
    assert [(e.row, e.column) for e in result.errors] == [(2, "code")]
    assert Box.objects.count() == 1


def test_manifest_from_xlsx_with_chinese_headers(site, consignment):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(
        [
            "Traceability code",
            "GTIN",
            "Product",
            "Temperature class",
            "Weight (kg)",
            "Smallest package",
        ]
    )
    sheet.append(["cc-000010", GTIN, "Cheese", "chilled", 3.2, "200 g"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = importers.import_manifest(
        actor=None,
        consignment=consignment,
        content=buffer.getvalue(),
        filename="m.xlsx",
        dry_run=False,
    )
    assert result.ok, result.errors
    assert Box.objects.get().code == "CC-000010"


def test_manifest_without_a_required_column_is_refused(site, consignment):
    content = manifest_csv([["CC-1", GTIN]], header=["code", "gtin"])
    result = importers.import_manifest(
        actor=None, consignment=consignment, content=content, filename="m.csv", dry_run=False
    )
    assert {e.column for e in result.errors} >= {"product", "weight_kg"}


def test_ten_thousand_boxes_in_one_manifest(site, consignment):
    """A 10,000-box manifest goes through the bulk path in one call (no timing asserted)."""
    rows = [good_row(n) for n in range(1, 10_001)]
    client, headers = api_client_for(site.exhibitor_user)
    response = client.post(
        f"/api/coldchain/consignments/{consignment.pk}/manifest?dry_run=false",
        {"file": upload(manifest_csv(rows))},
        **headers,
    )
    assert response.status_code == 200, response.json()["errors"]
    assert response.json()["created"] == 10_000
    assert Box.objects.filter(consignment=consignment, state=S.DECLARED).count() == 10_000
    assert AuditEntry.objects.filter(action="coldchain.box.declare").count() == 10_000


def test_api_manifest_refusal_lists_rows(site, consignment):
    client, headers = api_client_for(site.exhibitor_user)
    content = manifest_csv([good_row(1), good_row(2, gtin="123")])
    response = client.post(
        f"/api/coldchain/consignments/{consignment.pk}/manifest?dry_run=false",
        {"file": upload(content)},
        **headers,
    )
    assert response.status_code == 400
    body = response.json()
    assert body["applied"] is False
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(3, "gtin")]
    assert not Box.objects.exists()


def test_bulk_declare_rolls_back_on_a_conflict_found_late(site, consignment):
    rows = box_rows(3, prefix="DUP")
    services.box_declare_bulk(actor=None, consignment=consignment, rows=rows[:1])
    with pytest.raises(services.RowsRefused):
        services.box_declare_bulk(actor=None, consignment=consignment, rows=rows)
    assert Box.objects.count() == 1


def test_disinfection_of_a_batch_is_all_or_nothing(site, consignment):
    ready = advance(site, declare_boxes(consignment, 3), S.IN_WAREHOUSE)
    (early,) = advance(site, declare_boxes(consignment, 1), S.PORT_RELEASED)
    with pytest.raises(services.ValidationError) as refused:
        services.disinfection_record_bulk(
            actor=site.staff,
            boxes=[*ready, early],
            agent="Peracetic acid",
            operator="Wang",
            performed_at=at(21, 11),
        )
    assert early.code in " ".join(refused.value.messages)
    assert not Disinfection.objects.exists()
    moved = services.disinfection_record_bulk(
        actor=site.staff,
        boxes=ready,
        agent="Peracetic acid",
        operator="Wang",
        performed_at=at(21, 11),
    )
    assert {b.state for b in moved} == {S.DISINFECTED}


def test_one_surface_at_a_time_advances_when_both_are_done(site, consignment):
    boxes = advance(site, declare_boxes(consignment, 2), S.IN_WAREHOUSE)
    moved = services.disinfection_record_bulk(
        actor=None,
        boxes=boxes,
        agent="Chlorine 500 mg/L",
        operator="Li",
        performed_at=at(21, 11),
        surfaces=["outer_carton"],
    )
    assert moved == []
    moved = services.disinfection_record_bulk(
        actor=None,
        boxes=boxes,
        agent="Chlorine 500 mg/L",
        operator="Li",
        performed_at=at(21, 12),
        surfaces=["smallest_package"],
    )
    assert {b.state for b in moved} == {S.DISINFECTED}


def test_lab_result_sheet_is_all_or_nothing(site, consignment):
    boxes = advance(site, declare_boxes(consignment, 2), S.SAMPLED)
    samples = list(NatSample.objects.filter(box__in=boxes).order_by("sample_code"))
    lines = ["sample_code,result,reported_at,report_no"]
    lines += [f"{s.sample_code},阴性,2021-10-22 10:00,R-{i}" for i, s in enumerate(samples)]
    lines.append("CC-NOPE-O,negative,2021-10-22 10:00,R-9")
    result = importers.import_lab_results(
        actor=site.staff,
        event=site.event,
        content="\n".join(lines).encode(),
        filename="lab.csv",
        dry_run=False,
    )
    assert [(e.row, e.column) for e in result.errors] == [(len(samples) + 2, "sample_code")]
    assert not NatSample.objects.exclude(result="").exists()
    result = importers.import_lab_results(
        actor=site.staff,
        event=site.event,
        content="\n".join(lines[:-1]).encode(),
        filename="lab.csv",
        dry_run=False,
    )
    assert result.ok and result.updated == 4
    assert set(
        Box.objects.filter(pk__in=[b.pk for b in boxes]).values_list("state", flat=True)
    ) == {S.CLEARED}


def test_temperatures_are_all_or_nothing(site, consignment):
    (box,) = declare_boxes(consignment, 1)
    readings = [
        services.ReadingIn(subject="box", box=box, measured_at=at(20), celsius=-19),
        services.ReadingIn(subject="vehicle", vehicle_plate="", measured_at=at(20), celsius=2),
    ]
    with pytest.raises(services.ValidationError):
        services.temperature_record_bulk(actor=None, event=site.event, readings=readings)
    assert not box.readings.exists()
