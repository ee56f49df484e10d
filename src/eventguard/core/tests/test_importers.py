"""Importing units, zones and people: all or nothing, every error named by row and column."""

import csv
import io

import pytest
from django.utils import translation
from openpyxl import Workbook

from eventguard.core import importers
from eventguard.core.models import AuditEntry, RoleAssignment, Unit, User, Zone
from eventguard.core.testing import credit_code, make_event, make_member, make_zone


@pytest.fixture(autouse=True)
def _english():
    """The messages below are read in English, whatever language an earlier test left on."""
    with translation.override("en"):
        yield


def csv_bytes(rows) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def xlsx_bytes(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


UNIT_HEADER = ["category", "name_zh", "credit_code", "zone", "contact_phone"]


def test_valid_units_file_imports_every_row_with_audit():
    event = make_event()
    zone = make_zone(event, code="h1-a")
    rows = [
        UNIT_HEADER,
        ["in_venue_food_business", "甲餐厅", credit_code(), zone.code, "13800000000"],
        ["接待酒店", "乙酒店", credit_code(), "", ""],  # a category by its Chinese name
    ]
    audit_before = AuditEntry.objects.count()
    result = importers.import_units(
        actor=None, event=event, content=xlsx_bytes(rows), filename="units.xlsx", dry_run=False
    )
    assert result.ok and result.applied and result.created == 2
    assert Unit.objects.filter(event=event).count() == 2
    assert AuditEntry.objects.count() == audit_before + 2


def test_dry_run_checks_everything_and_writes_nothing():
    event = make_event()
    rows = [UNIT_HEADER, ["reception_hotel", "乙酒店", credit_code(), "", ""]]
    audit_before = AuditEntry.objects.count()
    result = importers.import_units(
        actor=None, event=event, content=csv_bytes(rows), filename="u.csv", dry_run=True
    )
    assert result.ok and not result.applied and result.created == 1
    assert not Unit.objects.filter(event=event).exists()
    assert AuditEntry.objects.count() == audit_before


def test_a_file_with_bad_rows_is_refused_whole_listing_every_error():
    event = make_event()
    good = credit_code()
    duplicate = credit_code()
    rows = [
        UNIT_HEADER,
        ["reception_hotel", "好酒店", good, "", ""],  # row 2: fine
        ["reception_hotel", "坏代码", "91310000MA1FL1MMXA", "", ""],  # row 3
        ["spaceport", "未知类别", credit_code(), "", ""],  # row 4
        ["reception_hotel", "未知区域", credit_code(), "nowhere", ""],  # row 5
        ["reception_hotel", "", credit_code(), "", ""],  # row 6: name missing
        ["reception_hotel", "重复一", duplicate, "", ""],  # row 7
        ["reception_hotel", "重复二", duplicate, "", ""],  # row 8: same code again
    ]
    audit_before = AuditEntry.objects.count()
    result = importers.import_units(
        actor=None, event=event, content=csv_bytes(rows), filename="u.csv", dry_run=False
    )
    assert not result.ok and not result.applied
    found = {(e.row, e.column) for e in result.errors}
    assert found == {
        (3, "credit_code"),
        (4, "category"),
        (5, "zone"),
        (6, "name_zh"),
        (8, "credit_code"),
    }
    by_row = {e.row: e.message for e in result.errors}
    assert "should be L" in by_row[3]
    assert "spaceport" in by_row[4]
    assert "nowhere" in by_row[5]
    assert "row 7" in by_row[8]
    assert not Unit.objects.filter(event=event).exists()
    assert AuditEntry.objects.count() == audit_before


def test_unreadable_files_and_headers_are_refused():
    event = make_event()
    result = importers.import_units(
        actor=None, event=event, content=b"not a workbook", filename="u.xlsx", dry_run=False
    )
    assert not result.ok and "XLSX" in result.errors[0].message
    result = importers.import_units(
        actor=None, event=event, content=b"x", filename="u.pdf", dry_run=False
    )
    assert not result.ok and ".xlsx" in result.errors[0].message
    result = importers.import_units(
        actor=None,
        event=event,
        content=csv_bytes([["category", "name_zh", "colour"]]),
        filename="u.csv",
        dry_run=False,
    )
    messages = " ".join(e.message for e in result.errors)
    assert "colour" in messages and "credit_code" in messages
    result = importers.import_units(
        actor=None, event=event, content=csv_bytes([UNIT_HEADER]), filename="u.csv", dry_run=False
    )
    assert not result.ok and "no data rows" in result.errors[0].message


def test_headers_may_be_in_chinese_and_gb18030_is_read():
    from django.utils.translation import override

    event = make_event()
    with override("zh-hans"):
        header = [str(c.label) for c in importers.UNIT_COLUMNS[:2] + importers.UNIT_COLUMNS[3:4]]
    assert header[0] != "Category", "the zh-Hans catalogue translates the column labels"
    text = ",".join(header) + f"\nreception_hotel,丙酒店,{credit_code()}\n"
    result = importers.import_units(
        actor=None, event=event, content=text.encode("gb18030"), filename="u.csv", dry_run=False
    )
    # The Chinese headers are the zh-Hans labels of the columns.
    assert result.ok, [e.as_dict() for e in result.errors]
    assert Unit.objects.get(event=event).name_zh == "丙酒店"


def test_reimport_updates_instead_of_duplicating():
    event = make_event()
    code = credit_code()
    rows = [UNIT_HEADER, ["reception_hotel", "旧名", code, "", ""]]
    importers.import_units(
        actor=None, event=event, content=csv_bytes(rows), filename="u.csv", dry_run=False
    )
    rows[1][1] = "新名"
    result = importers.import_units(
        actor=None, event=event, content=csv_bytes(rows), filename="u.csv", dry_run=False
    )
    assert result.updated == 1 and result.created == 0
    assert Unit.objects.get(event=event).name_zh == "新名"


def test_zones_import_builds_the_tree_in_file_order():
    event = make_event()
    rows = [
        ["code", "kind", "name_zh", "parent"],
        ["necc", "venue", "国家会展中心", ""],
        ["h1", "hall", "1号馆", "necc"],
        ["h1-a", "zone", "1号馆A区", "h1"],
    ]
    result = importers.import_zones(
        actor=None, event=event, content=csv_bytes(rows), filename="z.csv", dry_run=False
    )
    assert result.ok and result.created == 3
    assert Zone.objects.get(event=event, code="h1-a").parent.code == "h1"
    bad = [
        ["code", "kind", "name_zh", "parent"],
        ["h2", "hall", "2号馆", "missing"],
        ["h3", "tower", "3号馆", "necc"],
    ]
    result = importers.import_zones(
        actor=None, event=event, content=csv_bytes(bad), filename="z.csv", dry_run=False
    )
    assert {(e.row, e.column) for e in result.errors} == {(2, "parent"), (3, "kind")}
    assert not Zone.objects.filter(event=event, code__in=["h2", "h3"]).exists()


def test_people_import_creates_people_and_roles_all_or_nothing():
    event = make_event()
    zone = make_zone(event, code="h1")
    rows = [
        ["username", "display_name", "role", "zones", "domains"],
        ["zhang.san", "张三", "inspector", "h1", "food;equipment"],
        ["li.si", "李四", "commander", "", ""],
    ]
    result = importers.import_people(
        actor=None, event=event, content=csv_bytes(rows), filename="p.csv", dry_run=False
    )
    assert result.ok, [e.as_dict() for e in result.errors]
    assignment = RoleAssignment.objects.get(user__username="zhang.san", event=event)
    assert list(assignment.zones.all()) == [zone]
    assert assignment.domains == ["equipment", "food"]
    bad = [
        ["username", "role", "zones", "unit"],
        ["wang.wu", "inspector", "", ""],
        ["zhao.liu", "astronaut", "", ""],
        ["qian.qi", "unit_operator", "", ""],  # an operator needs a unit
        ["sun.ba", "inspector", "h9", ""],
    ]
    result = importers.import_people(
        actor=None, event=event, content=csv_bytes(bad), filename="p.csv", dry_run=False
    )
    rows_with_errors = {e.row for e in result.errors}
    assert rows_with_errors == {3, 4, 5}
    assert not User.objects.filter(username="wang.wu").exists()


def test_import_runs_with_the_actors_permissions():
    event = make_event()
    inspector = make_member(event, "inspector")
    rows = [UNIT_HEADER, ["reception_hotel", "越权", credit_code(), "", ""]]
    result = importers.import_units(
        actor=inspector, event=event, content=csv_bytes(rows), filename="u.csv", dry_run=False
    )
    assert not result.ok and result.errors[0].row == 2
    assert not Unit.objects.filter(event=event).exists()
