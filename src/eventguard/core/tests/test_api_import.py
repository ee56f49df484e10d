"""Imports over the API: a file with an invalid row is refused whole, every error listed
with its row, column and reason; a dry run writes nothing; a real run writes every row
through the services, each with its audit entry."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from eventguard.core import services
from eventguard.core.audit import audit_verify
from eventguard.core.models import AuditEntry, AuditHead, RoleAssignment, Unit, User, Zone
from eventguard.core.testing import api_client_for, credit_code, make_unit, make_user, make_zone

UNIT_HEADER = ["category", "name_zh", "name_en", "credit_code", "zone", "contact_phone"]


def member(event, role, **narrowing):
    user = make_user(language="en", password=None)
    services.role_assign(actor=None, user=user, event=event, role=role, **narrowing)
    return user


@pytest.fixture
def admin_api(event):
    return api_client_for(member(event, "admin"))


def as_csv(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(row) for row in rows).encode("utf-8")


def as_xlsx(rows: list[list[str]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


FORMATS = {"csv": as_csv, "xlsx": as_xlsx}


def upload(client, headers, kind: str, event, name: str, content: bytes, *, dry_run: bool):
    file = SimpleUploadedFile(name, content)
    flag = "true" if dry_run else "false"
    return client.post(
        f"/api/{kind}/import?event={event.code}&dry_run={flag}", {"file": file}, **headers
    )


def state():
    """What a refused import must leave untouched."""
    head = AuditHead.objects.get(pk=1)
    return (
        Unit.objects.count(),
        Zone.objects.count(),
        AuditEntry.objects.count(),
        head.seq,
        head.hash,
    )


@pytest.fixture
def zone(event):
    return make_zone(event, code="h1-a")


def invalid_unit_rows(zone) -> list[list[str]]:
    good = credit_code()
    return [
        UNIT_HEADER,
        ["in_venue_food_business", "甲餐饮", "Canteen A", good, zone.code, "13800000000"],  # 2
        ["reception_hotel", "乙酒店", "", "91310000MA1FL1MMXA", "", ""],  # 3 bad check char
        ["bakery", "丙面包", "", credit_code(), "", ""],  # 4 unknown category
        ["in_venue_food_business", "丁餐饮", "", credit_code(), "h9-z", ""],  # 5 unknown zone
        ["reception_hotel", "", "Nameless hotel", credit_code(), "", ""],  # 6 no Chinese name
        ["in_venue_food_business", "甲餐饮again", "", good, zone.code, ""],  # 7 repeats row 2
        ["raw_material_supplier", "戊供应", "", credit_code(), "", ""],  # 8 fine
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_file_with_invalid_rows_is_refused_whole_with_every_error(event, zone, admin_api, fmt):
    client, headers = admin_api
    make_unit(event)  # something already there, left alone
    before = state()

    response = upload(
        client,
        headers,
        "units",
        event,
        f"units.{fmt}",
        FORMATS[fmt](invalid_unit_rows(zone)),
        dry_run=False,
    )

    assert response.status_code == 400
    body = response.json()
    assert body["detail"]
    assert body["ok"] is False
    assert body["applied"] is False
    assert body["rows"] == 7
    errors = {(e["row"], e["column"]): e["message"] for e in body["errors"]}
    assert set(errors) == {
        (3, "credit_code"),
        (4, "category"),
        (5, "zone"),
        (6, "name_zh"),
        (7, "credit_code"),
    }
    assert "should be L" in errors[(3, "credit_code")]
    assert "bakery" in errors[(4, "category")]
    assert "h9-z" in errors[(5, "zone")]
    assert "required" in errors[(6, "name_zh")]
    assert "row 2" in errors[(7, "credit_code")]
    # Nothing written, not even the valid rows; the audit chain did not grow.
    assert state() == before
    assert not Unit.objects.filter(name_zh__in=["甲餐饮", "戊供应"]).exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_dry_run_of_a_valid_file_writes_nothing_and_the_real_run_writes_every_row(
    event, zone, admin_api, fmt
):
    client, headers = admin_api
    codes = [credit_code() for _ in range(4)]
    rows = [
        UNIT_HEADER,
        ["in_venue_food_business", "甲餐饮", "Canteen A", codes[0], zone.code, "13800000000"],
        ["reception_hotel", "乙酒店", "Hotel B", codes[1], "", ""],
        ["key_guarantee_unit", "丙保障单位", "", codes[2], zone.code, ""],
        ["raw_material_supplier", "丁供应", "", codes[3].lower(), "", ""],
    ]
    content = FORMATS[fmt](rows)
    before = state()

    dry = upload(client, headers, "units", event, f"u.{fmt}", content, dry_run=True)
    assert dry.status_code == 200, dry.content
    assert dry.json() == {
        "dry_run": True,
        "ok": True,
        "applied": False,
        "rows": 4,
        "created": 4,
        "updated": 0,
        "errors": [],
    }
    assert state() == before

    real = upload(client, headers, "units", event, f"u.{fmt}", content, dry_run=False)
    assert real.status_code == 200
    assert real.json()["applied"] is True
    assert real.json()["created"] == 4
    units = Unit.objects.filter(event=event, credit_code__in=codes)
    assert units.count() == 4
    assert units.get(credit_code=codes[0]).zone == zone
    assert units.get(credit_code=codes[0]).contact_phone == "13800000000"
    # Each row has its own audit entry, in the chain, naming the importer.
    entries = AuditEntry.objects.filter(
        action="unit.create", object_id__in=[str(u.pk) for u in units]
    )
    assert entries.count() == 4
    assert {e.actor_name for e in entries} == {
        RoleAssignment.objects.get(event=event, role="admin").user.username
    }
    assert audit_verify().ok

    # Importing the same file again updates the same units instead of adding new ones.
    again = upload(client, headers, "units", event, f"u.{fmt}", content, dry_run=False)
    assert again.json()["updated"] == 4
    assert Unit.objects.filter(event=event, credit_code__in=codes).count() == 4


def test_zones_import_builds_the_tree_in_file_order(event, admin_api):
    client, headers = admin_api
    content = as_csv(
        [
            ["code", "kind", "name_zh", "name_en", "parent", "is_core_area"],
            ["necc", "venue", "国家会展中心", "NECC", "", ""],
            ["h1", "hall", "1号馆", "Hall 1", "necc", "yes"],
            ["h1-a", "zone", "1号馆A区", "Hall 1 zone A", "h1", ""],
        ]
    )
    response = upload(client, headers, "zones", event, "zones.csv", content, dry_run=False)
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 3
    zone = Zone.objects.get(event=event, code="h1-a")
    assert zone.parent.code == "h1"
    assert zone.parent.is_core_area is True
    assert AuditEntry.objects.filter(action="zone.create", event_code=event.code).count() == 3


def test_zones_import_refuses_a_child_before_its_parent(event, admin_api):
    client, headers = admin_api
    content = as_csv(
        [
            ["code", "kind", "name_zh", "parent"],
            ["h1", "hall", "1号馆", "necc"],
            ["necc", "venue", "国家会展中心", ""],
            ["h2", "tent", "帐篷", "necc"],
        ]
    )
    before = state()
    response = upload(client, headers, "zones", event, "zones.csv", content, dry_run=False)
    assert response.status_code == 400
    errors = {(e["row"], e["column"]) for e in response.json()["errors"]}
    assert errors == {(2, "parent"), (4, "kind")}
    assert state() == before


def test_people_import_creates_people_and_their_roles(event, admin_api):
    client, headers = admin_api
    hall = make_zone(event, kind="hall", code="h1")
    unit = make_unit(event)
    content = as_csv(
        [
            ["username", "display_name", "role", "zones", "domains", "unit"],
            ["zhang.san", "张三", "inspector", "h1", "equipment;hazards", ""],
            ["li.si", "李四", "unit_operator", "", "", unit.credit_code],
        ]
    )
    response = upload(client, headers, "people", event, "people.csv", content, dry_run=False)
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 2
    inspector = RoleAssignment.objects.get(user__username="zhang.san", event=event)
    assert list(inspector.zones.all()) == [hall]
    assert inspector.domains == ["equipment", "hazards"]
    assert RoleAssignment.objects.get(user__username="li.si").unit == unit
    assert User.objects.get(username="zhang.san").display_name == "张三"


def test_people_import_refused_whole_creates_nobody(event, admin_api):
    client, headers = admin_api
    content = as_csv(
        [
            ["username", "role", "zones", "unit"],
            ["zhang.san", "inspector", "", ""],
            ["li.si", "unit_operator", "", ""],  # an operator needs a unit
            ["wang.wu", "pilot", "", ""],  # no such role
            ["zhao.liu", "inspector", "h404", ""],  # no such zone
        ]
    )
    users, audit = User.objects.count(), AuditEntry.objects.count()
    response = upload(client, headers, "people", event, "people.csv", content, dry_run=False)
    assert response.status_code == 400
    rows = {e["row"] for e in response.json()["errors"]}
    assert rows == {3, 4, 5}
    assert (User.objects.count(), AuditEntry.objects.count()) == (users, audit)


@pytest.mark.parametrize(
    "name, content, fragment",
    [
        ("units.txt", b"category,name_zh\n", ".xlsx"),
        ("units.xlsx", b"not a workbook", "XLSX"),
        ("units.csv", b"", "empty"),
        ("units.csv", b"category,name_zh,credit_code,colour\nx,y,z,red\n", "colour"),
        ("units.csv", b"name_zh\n", "category"),
    ],
)
def test_an_unreadable_file_is_refused_with_the_reason(event, admin_api, name, content, fragment):
    client, headers = admin_api
    before = state()
    response = upload(client, headers, "units", event, name, content, dry_run=False)
    assert response.status_code == 400
    messages = " ".join(e["message"] for e in response.json()["errors"])
    assert fragment in messages
    assert state() == before


def test_an_import_without_a_file_names_the_missing_field(event, admin_api):
    client, headers = admin_api
    response = client.post(f"/api/units/import?event={event.code}", {}, **headers)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["file"]


def test_a_zone_scoped_supervisor_imports_only_within_their_zones(event):
    venue = make_zone(event, kind="venue", code="necc")
    mine = make_zone(event, kind="hall", parent=venue, code="h1")
    make_zone(event, kind="hall", parent=venue, code="h2")
    client, headers = api_client_for(member(event, "supervisor", zones=[mine]))
    content = as_csv(
        [
            ["code", "kind", "name_zh", "parent"],
            ["h1-a", "zone", "1号馆A区", "h1"],
            ["h2-a", "zone", "2号馆A区", "h2"],
        ]
    )
    before = state()
    response = upload(client, headers, "zones", event, "zones.csv", content, dry_run=False)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [e["row"] for e in errors] == [3]
    assert "may not" in errors[0]["message"]
    assert state() == before
