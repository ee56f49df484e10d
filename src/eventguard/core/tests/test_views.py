"""The registry's pages as a person uses them: log in, find, add, change, import, export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from eventguard.core import services
from eventguard.core.models import (
    AuditEntry,
    LoginFailure,
    RoleAssignment,
    Unit,
    UnitCategory,
    User,
    Zone,
)
from eventguard.core.testing import (
    TEST_PASSWORD,
    client_for,
    credit_code,
    make_event,
    make_member,
    make_unit,
    make_user,
    make_zone,
)


@pytest.fixture
def setting():
    """One event with a venue, a hall and a zone, an administrator and a supervisor."""
    event = make_event(code="expo")
    venue = make_zone(event, kind="venue", code="venue", name_en="Venue")
    hall = make_zone(event, kind="hall", parent=venue, code="hall-1", name_en="Hall One")
    zone = make_zone(event, kind="zone", parent=hall, code="zone-1a", name_en="Zone 1A")
    admin = english_member(event, "admin", username="boss")
    return {"event": event, "venue": venue, "hall": hall, "zone": zone, "admin": admin}


def english_member(event, role, **kwargs):
    """A person in ``event`` who reads the pages in English."""
    user = make_member(event, role, **kwargs)
    user.language = "en"
    user.save(update_fields=["language"])
    return user


def url(event, name, *args):
    return reverse(f"core:{name}", args=[event.code, *args])


def text(response) -> str:
    return response.content.decode()


def record_count(response) -> int:
    """The "N records" a list page says it holds."""
    match = re.search(r"([\d,]+) records?", text(response))
    assert match, "the list shows no record count"
    return int(match.group(1).replace(",", ""))


# ---------------------------------------------------------------- logging in


def login(client, username, password, address="10.0.0.1"):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        HTTP_ACCEPT_LANGUAGE="en",
    )


def test_passwords_are_stored_with_argon2():
    user = make_user("hashed")
    assert user.password.startswith("argon2")


def test_logging_in_leads_to_the_only_event(setting):
    client = Client()
    response = login(client, "boss", TEST_PASSWORD)
    assert response.status_code == 302
    response = client.get(response["Location"])
    assert response.status_code == 302
    assert response["Location"] == url(setting["event"], "event_home")


def test_a_person_in_two_events_chooses_from_the_event_list(setting):
    other = make_event(code="games", name_en="The Games")
    services.role_assign(actor=None, user=setting["admin"], event=other, role="auditor")
    client = client_for(setting["admin"])
    response = client.get(reverse("home"))
    assert response["Location"] == reverse("core:event_list")
    page = text(client.get(reverse("core:event_list")))
    assert "The Games" in page and url(other, "event_home") in page


def test_a_wrong_password_is_refused_and_recorded(setting):
    client = Client()
    response = login(client, "boss", "wrong-password")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in text(response)
    assert "_auth_user_id" not in client.session
    failure = LoginFailure.objects.get()
    assert (failure.username, failure.address) == ("boss", "10.0.0.1")
    entry = AuditEntry.objects.get(action="auth.login_failed")
    assert entry.object_id == str(setting["admin"].pk)
    assert entry.after == {"username": "boss", "address": "10.0.0.1"}


@override_settings(LOGIN_MAX_FAILURES=3, LOGIN_FAILURE_WINDOW_SECONDS=600)
def test_too_many_failures_for_a_name_block_it_even_with_the_right_password(setting):
    for i in range(2):
        assert login(Client(), "boss", "nope", address=f"10.0.1.{i}").status_code == 200
    third = login(Client(), "boss", "nope", address="10.0.1.9")
    assert third.status_code == 429
    assert "Try again after" in text(third)
    client = Client()
    response = login(client, "boss", TEST_PASSWORD, address="10.0.2.1")
    assert response.status_code == 429
    assert "Try again after" in text(response)
    assert "_auth_user_id" not in client.session
    # The time named is when the oldest counted failure leaves the window.
    oldest = LoginFailure.objects.order_by("at").first().at
    expected = timezone.localtime(oldest + dt.timedelta(seconds=600)).strftime("%Y-%m-%d %H:%M")
    assert expected in text(response)
    # Another person from another address is not affected.
    make_user("zhangwei")
    assert login(Client(), "zhangwei", TEST_PASSWORD, address="10.0.3.1").status_code == 302


@override_settings(LOGIN_MAX_FAILURES=3, LOGIN_FAILURE_WINDOW_SECONDS=600)
def test_too_many_failures_from_an_address_block_every_name_from_it(setting):
    for name in ("alice", "bob", "carol"):
        login(Client(), name, "guess", address="192.0.2.7")
    response = login(Client(), "boss", TEST_PASSWORD, address="192.0.2.7")
    assert response.status_code == 429
    assert login(Client(), "boss", TEST_PASSWORD, address="192.0.2.8").status_code == 302


@override_settings(LOGIN_MAX_FAILURES=3, LOGIN_FAILURE_WINDOW_SECONDS=600)
def test_failures_older_than_the_window_no_longer_count_and_are_pruned(setting):
    for _ in range(3):
        login(Client(), "boss", "nope")
    assert login(Client(), "boss", TEST_PASSWORD).status_code == 429
    LoginFailure.objects.update(at=timezone.now() - dt.timedelta(seconds=601))
    assert login(Client(), "boss", TEST_PASSWORD).status_code == 302
    login(Client(), "boss", "one more mistake")
    assert LoginFailure.objects.count() == 1  # the three old rows were pruned


def test_a_blocked_attempt_is_not_itself_counted_as_a_failure(setting, settings):
    settings.LOGIN_MAX_FAILURES = 2
    login(Client(), "boss", "x")
    login(Client(), "boss", "y")
    for _ in range(3):
        assert login(Client(), "boss", "z").status_code == 429
    assert LoginFailure.objects.count() == 2


def test_logging_out_needs_a_post(setting):
    client = client_for(setting["admin"])
    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session
    assert client.get(url(setting["event"], "unit_list"))["Location"].startswith("/login/")


# ---------------------------------------------------------------- language


def test_switching_language_is_remembered_for_the_person(setting):
    admin = setting["admin"]
    client = client_for(admin)
    response = client.post(
        reverse("set_language"), {"language": "zh-hans", "next": url(setting["event"], "unit_list")}
    )
    assert response["Location"] == url(setting["event"], "unit_list")
    assert response.cookies["django_language"].value == "zh-hans"
    admin.refresh_from_db()
    assert admin.language == "zh-hans"
    assert AuditEntry.objects.filter(action="person.set_language", actor=admin).exists()
    page = text(client.get(url(setting["event"], "unit_list")))
    assert "受监管单位" in page and "Supervised units" not in page
    client.post(reverse("set_language"), {"language": "en"})
    page = text(client.get(url(setting["event"], "unit_list")))
    assert "Supervised units" in page


def test_language_switch_refuses_to_redirect_elsewhere():
    response = Client().post(
        reverse("set_language"), {"language": "en", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"
    assert response.cookies["django_language"].value == "en"


# ---------------------------------------------------------------- event and figures


def test_the_overview_counts_units_by_category_and_links_to_them(setting):
    event = setting["event"]
    for _ in range(3):
        make_unit(event)
    retired = make_unit(event)
    services.unit_update(actor=None, unit=retired, is_active=False)
    make_unit(event, category="reception_hotel")
    client = client_for(setting["admin"])
    page = text(client.get(url(event, "event_home")))
    link = url(event, "unit_list") + "?category=in_venue_food_business&amp;is_active=true"
    assert link in page
    assert "4 including inactive" in page
    # The figure cards link to exactly the records they count.
    listing = client.get(
        url(event, "unit_list"), {"category": "in_venue_food_business"} | {"is_active": "true"}
    )
    assert record_count(listing) == 3


def test_every_figure_links_to_a_list_of_exactly_the_records_it_counts(setting):
    from eventguard.core.figures import figures_report

    event = setting["event"]
    make_unit(event)
    make_unit(event, category="reception_hotel")
    make_unit(event, category="exhibitor")
    client = client_for(setting["admin"])
    page = text(client.get(url(event, "figures")))
    for key, figure in figures_report(event)["figures"].items():
        if not key.startswith("registry."):
            continue  # other domains test their own figures
        assert figure["label"]["en"] in page
        assert figure["records_url"].replace("&", "&amp;") in page
        assert record_count(client.get(figure["records_url"])) == figure["value"], key


def test_editing_the_event_shows_a_refusal_next_to_the_form(setting):
    event = setting["event"]
    client = client_for(setting["admin"])
    response = client.post(
        url(event, "event_edit"),
        {
            "name_zh": event.name_zh,
            "name_en": event.name_en,
            "time_zone": "Mars/Olympus",
            "preparation_start": "2021-08-01",
            "opening": "2021-11-05",
            "closing": "2021-11-10",
        },
    )
    assert response.status_code == 200
    assert "Unknown time zone" in text(response)
    event.refresh_from_db()
    assert event.time_zone == "Asia/Shanghai"


def test_editing_the_event_saves_and_audits(setting):
    event = setting["event"]
    client = client_for(setting["admin"])
    response = client.post(
        url(event, "event_edit"),
        {
            "name_zh": event.name_zh,
            "name_en": "Renamed Expo",
            "time_zone": "Asia/Shanghai",
            "preparation_start": "2021-08-01",
            "opening": "2021-11-05",
            "closing": "2021-11-10",
        },
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.name_en == "Renamed Expo"
    assert AuditEntry.objects.filter(action="event.update", actor=setting["admin"]).exists()


# ---------------------------------------------------------------- zones


def test_the_zone_list_is_a_tree(setting):
    client = client_for(setting["admin"])
    page = text(client.get(url(setting["event"], "zone_list")))
    venue, hall, zone = page.index("Venue<"), page.index("Hall One<"), page.index("Zone 1A<")
    assert venue < hall < zone
    assert re.search(r'class="indent-2"><a href="[^"]+">Zone 1A<', page)


def test_the_zone_list_names_each_kind_in_the_readers_language(setting):
    admin = setting["admin"]
    client = client_for(admin)
    assert "<td>Hall</td>" in text(client.get(url(setting["event"], "zone_list")))
    services.person_set_language(actor=admin, language="zh-hans")
    page = text(client.get(url(setting["event"], "zone_list")))
    assert "<td>展馆</td>" in page and "<td>Hall</td>" not in page
    services.person_set_language(actor=admin, language="en")
    assert "<td>Hall</td>" in text(client.get(url(setting["event"], "zone_list")))


def test_the_zone_list_filters_by_kind_and_search(setting):
    client = client_for(setting["admin"])
    response = client.get(url(setting["event"], "zone_list"), {"kind": "hall"})
    assert record_count(response) == 1 and "Hall One" in text(response)
    response = client.get(url(setting["event"], "zone_list"), {"q": "1a"})
    assert record_count(response) == 1 and "Zone 1A" in text(response)


def test_adding_a_zone_under_another(setting):
    client = client_for(setting["admin"])
    hall = setting["hall"]
    form = text(client.get(url(setting["event"], "zone_create") + f"?parent={hall.pk}"))
    assert f'<option value="{hall.pk}" selected>' in form
    response = client.post(
        url(setting["event"], "zone_create"),
        {"code": "zone-1b", "kind": "zone", "name_zh": "1B区", "parent": hall.pk},
    )
    zone = Zone.objects.get(code="zone-1b")
    assert response["Location"] == url(setting["event"], "zone_detail", zone.pk)
    assert zone.path.startswith(hall.path)


def test_a_zone_in_the_wrong_place_is_refused_on_its_field(setting):
    client = client_for(setting["admin"])
    response = client.post(
        url(setting["event"], "zone_create"),
        {"code": "hall-9", "kind": "hall", "name_zh": "九号馆", "parent": setting["zone"].pk},
    )
    assert response.status_code == 200
    assert re.search(
        r'id="id_kind_errors"><li>A Hall cannot be placed under a Zone', text(response)
    )
    assert not Zone.objects.filter(code="hall-9").exists()


def test_editing_a_zone(setting):
    client = client_for(setting["admin"])
    zone = setting["zone"]
    response = client.post(
        url(setting["event"], "zone_edit", zone.pk),
        {"code": zone.code, "kind": "zone", "name_zh": "新名字", "parent": zone.parent_id},
    )
    assert response.status_code == 302
    zone.refresh_from_db()
    assert zone.name_zh == "新名字"


# ---------------------------------------------------------------- units


def unit_form(setting, **changes):
    data = {
        "category": UnitCategory.objects.get(code="in_venue_food_business").pk,
        "name_zh": "咖啡馆",
        "name_en": "Coffee Corner",
        "credit_code": credit_code(),
        "zone": setting["zone"].pk,
        "contact_email": "",
    }
    data.update(changes)
    return data


def test_a_wrong_check_character_shows_under_the_credit_code(setting):
    good = credit_code()
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    client = client_for(setting["admin"])
    response = client.post(
        url(setting["event"], "unit_create"), unit_form(setting, credit_code=wrong)
    )
    assert response.status_code == 200
    errors = re.search(r'id="id_credit_code_errors">(.*?)</ul>', text(response), re.S)
    assert errors and "check" in errors.group(1).lower()
    assert not Unit.objects.filter(name_zh="咖啡馆").exists()


def test_adding_a_unit_saves_it_and_audits_who_did(setting):
    client = client_for(setting["admin"])
    response = client.post(url(setting["event"], "unit_create"), unit_form(setting))
    unit = Unit.objects.get(name_zh="咖啡馆")
    assert response["Location"] == url(setting["event"], "unit_detail", unit.pk)
    page = text(client.get(response["Location"]))
    assert "Coffee Corner" in page and unit.credit_code in page
    entry = AuditEntry.objects.get(action="unit.create", object_id=str(unit.pk))
    assert entry.actor == setting["admin"]


def test_a_duplicate_unit_is_refused_with_a_message(setting):
    existing = make_unit(setting["event"])
    client = client_for(setting["admin"])
    response = client.post(
        url(setting["event"], "unit_create"), unit_form(setting, credit_code=existing.credit_code)
    )
    assert response.status_code == 200
    assert "already registered" in text(response)


def test_editing_a_unit_and_retiring_it(setting):
    unit = make_unit(setting["event"], zone=setting["zone"])
    client = client_for(setting["admin"])
    data = unit_form(setting, name_zh=unit.name_zh, credit_code=unit.credit_code)
    data["contact_name"] = "王经理"
    response = client.post(url(setting["event"], "unit_edit", unit.pk), data)  # no is_active
    assert response.status_code == 302
    unit.refresh_from_db()
    assert unit.contact_name == "王经理" and unit.is_active is False
    entry = AuditEntry.objects.get(action="unit.update", object_id=str(unit.pk))
    assert entry.before["is_active"] is True and entry.after["is_active"] is False


def test_the_unit_page_lists_its_people(setting):
    unit = make_unit(setting["event"])
    make_member(setting["event"], "unit_operator", unit=unit, username="cafe-boss")
    page = text(client_for(setting["admin"]).get(url(setting["event"], "unit_detail", unit.pk)))
    assert "cafe-boss" in page and "Unit operator" in page


def test_unit_list_filters_search_and_paginates(setting):
    event = setting["event"]
    for i in range(55):
        make_unit(event, name_en=f"Stall {i:02d}", zone=setting["zone"])
    make_unit(event, category="reception_hotel", name_en="Grand Hotel", credit_code=credit_code())
    client = client_for(setting["admin"])
    first = client.get(url(event, "unit_list"))
    assert record_count(first) == 56
    assert text(first).count('href="/e/expo/units/') - text(first).count("/units/new/") >= 50
    second = client.get(url(event, "unit_list"), {"page": 2})
    assert len(re.findall(r"Stall \d\d|Grand Hotel", text(second))) == 6
    assert record_count(client.get(url(event, "unit_list"), {"q": "grand"})) == 1
    assert record_count(client.get(url(event, "unit_list"), {"category": "reception_hotel"})) == 1
    zone_filtered = client.get(url(event, "unit_list"), {"zone": setting["zone"].pk})
    assert record_count(zone_filtered) == 55


def test_a_malformed_filter_is_named_not_a_crash(setting):
    response = client_for(setting["admin"]).get(url(setting["event"], "unit_list"), {"zone": "abc"})
    assert response.status_code == 200
    assert "is not a valid value for zone" in text(response)


def test_exports_hold_the_filtered_list(setting):
    event = setting["event"]
    make_unit(event, name_zh="甲店")
    make_unit(event, category="reception_hotel", name_zh="乙酒店")
    client = client_for(setting["admin"])
    response = client.get(url(event, "unit_list"), {"category": "reception_hotel", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Category", "Name (Chinese)"]
    assert [r[1] for r in rows[1:]] == ["乙酒店"]
    response = client.get(url(event, "unit_list"), {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    names = sorted(row[1] for row in sheet.iter_rows(min_row=2, values_only=True))
    assert names == ["乙酒店", "甲店"]


def test_the_import_template_is_the_empty_export(setting):
    client = client_for(setting["admin"])
    page = text(client.get(url(setting["event"], "unit_import")))
    assert "?format=xlsx&amp;template=1" in page
    make_unit(setting["event"])
    response = client.get(url(setting["event"], "unit_list"), {"format": "csv", "template": "1"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 1 and "Unified social credit code" in rows[0]


# ---------------------------------------------------------------- imports


def upload(body: str, name="units.csv"):
    return SimpleUploadedFile(name, body.encode("utf-8"), content_type="text/csv")


def test_an_import_with_a_bad_row_is_refused_whole_with_every_error(setting):
    good = credit_code()
    body = (
        "Category,Name (Chinese),Unified social credit code,Zone\n"
        f"in_venue_food_business,好店,{good},zone-1a\n"
        f"in_venue_food_business,坏店,{good[:-1]}X,zone-1a\n"
        f"no_such_category,怪店,{credit_code()},nowhere\n"
    )
    client = client_for(setting["admin"])
    response = client.post(
        url(setting["event"], "unit_import"), {"file": upload(body), "dry_run": ""}
    )
    assert response.status_code == 200
    page = text(response)
    assert "The file was refused" in page
    table = re.findall(r'<td class="num">(\d+)</td><td>([^<]*) <div class="muted mono">', page)
    assert ("3", "Unified social credit code") in table and ("4", "Category") in table
    assert not Unit.objects.filter(event=setting["event"]).exists()


def test_a_dry_run_checks_without_saving_then_the_import_saves(setting):
    body = (
        "category,name_zh,credit_code\n"
        f"in_venue_food_business,一号店,{credit_code()}\n"
        f"reception_hotel,二号酒店,{credit_code()}\n"
    )
    client = client_for(setting["admin"])
    dry = client.post(url(setting["event"], "unit_import"), {"file": upload(body), "dry_run": "on"})
    assert "2 rows checked: 2 would be created" in text(dry)
    assert not Unit.objects.exists()
    real = client.post(url(setting["event"], "unit_import"), {"file": upload(body)}, follow=True)
    assert "Imported 2 rows: 2 created, 0 updated." in text(real)
    assert Unit.objects.filter(event=setting["event"]).count() == 2


def test_a_file_that_is_not_a_table_is_refused(setting):
    client = client_for(setting["admin"])
    response = client.post(
        url(setting["event"], "zone_import"),
        {"file": SimpleUploadedFile("notes.txt", b"hello"), "dry_run": "on"},
    )
    assert "Upload an .xlsx or a .csv file." in text(response)


def test_importing_zones_and_people(setting):
    client = client_for(setting["admin"])
    zones = "code,kind,name_zh,parent\nzone-1c,zone,1C区,hall-1\n"
    response = client.post(url(setting["event"], "zone_import"), {"file": upload(zones)})
    assert response.status_code == 302
    people = "username,display_name,role,zones\nnew-inspector,新巡查,inspector,zone-1c\n"
    response = client.post(url(setting["event"], "person_import"), {"file": upload(people)})
    assert response.status_code == 302
    assignment = RoleAssignment.objects.get(user__username="new-inspector")
    assert [z.code for z in assignment.zones.all()] == ["zone-1c"]


# ---------------------------------------------------------------- people


def test_an_administrator_adds_a_person_with_a_role(setting):
    client = client_for(setting["admin"])
    response = client.post(
        url(setting["event"], "person_create"),
        {
            "username": "li.ming",
            "display_name": "李明",
            "language": "zh-hans",
            "password": "Very-Long-Passphrase-7",
            "role": "supervisor",
            "zones": [setting["hall"].pk],
            "domains": ["food"],
        },
    )
    assignment = RoleAssignment.objects.get(user__username="li.ming")
    assert response["Location"] == url(setting["event"], "assignment_detail", assignment.pk)
    assert assignment.domains == ["food"]
    assert assignment.user.password.startswith("argon2")
    page = text(client.get(response["Location"]))
    assert "李明" in page and "Hall One" in page and "Food safety" in page


def test_a_refused_role_leaves_no_person_behind(setting):
    client = client_for(setting["admin"])
    response = client.post(
        url(setting["event"], "person_create"),
        {"username": "orphan", "language": "en", "role": "unit_operator"},
    )
    assert response.status_code == 200
    assert "must be tied to a unit" in text(response)
    assert not User.objects.filter(username="orphan").exists()


def test_a_weak_password_shows_under_the_password(setting):
    client = client_for(setting["admin"])
    response = client.post(
        url(setting["event"], "person_create"),
        {"username": "weak", "language": "en", "role": "inspector", "password": "123"},
    )
    assert re.search(r'id="id_password_errors"><li>This password is too short', text(response))


def test_people_list_filters_by_role_and_unit(setting):
    event = setting["event"]
    unit = make_unit(event)
    make_member(event, "unit_operator", unit=unit, username="op-1")
    make_member(event, "inspector", username="insp-1")
    client = client_for(setting["admin"])
    response = client.get(url(event, "person_list"), {"role": "inspector"})
    assert record_count(response) == 1 and "insp-1" in text(response)
    response = client.get(url(event, "person_list"), {"unit": unit.pk})
    assert record_count(response) == 1 and "op-1" in text(response)


def test_revoking_a_role(setting):
    event = setting["event"]
    make_member(event, "inspector", username="leaving")
    assignment = RoleAssignment.objects.get(user__username="leaving")
    client = client_for(setting["admin"])
    assert client.get(url(event, "assignment_revoke", assignment.pk)).status_code == 405
    response = client.post(url(event, "assignment_revoke", assignment.pk), follow=True)
    assert "was revoked" in text(response)
    assert not RoleAssignment.objects.filter(pk=assignment.pk).exists()
    assert AuditEntry.objects.filter(action="role.revoke", object_id=str(assignment.pk)).exists()


# ---------------------------------------------------------------- audit trail


def test_the_audit_trail_filters_and_shows_before_and_after(setting):
    event = setting["event"]
    unit = make_unit(event, name_zh="旧名")
    services.unit_update(actor=setting["admin"], unit=unit, name_zh="新名")
    auditor = english_member(event, "auditor", username="reader")
    client = client_for(auditor)
    response = client.get(url(event, "audit_list"), {"action": "unit.update"})
    assert record_count(response) == 1
    response = client.get(url(event, "audit_list"), {"actor": "boss"})
    assert record_count(response) == 1
    response = client.get(url(event, "audit_list"), {"object_type": "core.zone"})
    assert record_count(response) == 3
    since = (timezone.localtime() + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert record_count(client.get(url(event, "audit_list"), {"since": since})) == 0
    entry = AuditEntry.objects.get(action="unit.update")
    page = text(client.get(url(event, "audit_detail", entry.seq)))
    assert re.search(r"name_zh <span class=\"badge badge-orange\">changed</span>", page)
    assert "旧名" in page and "新名" in page
    assert entry.hash in page and entry.prev_hash in page


def test_the_audit_trail_exports(setting):
    auditor = english_member(setting["event"], "auditor", username="reader")
    response = client_for(auditor).get(url(setting["event"], "audit_list"), {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert (
        rows[0][0] == "No."
        and len(rows) - 1 == AuditEntry.objects.filter(event_code=setting["event"].code).count()
    )


# ---------------------------------------------------------------- layout


def test_the_menu_shows_the_audit_trail_only_to_those_who_may_read_it(setting):
    event = setting["event"]
    inspector = make_member(event, "inspector", username="walker")
    admin_page = text(client_for(setting["admin"]).get(url(event, "event_home")))
    inspector_page = text(client_for(inspector).get(url(event, "event_home")))
    assert url(event, "audit_list") in admin_page
    assert url(event, "audit_list") not in inspector_page
    assert url(event, "unit_list") in inspector_page


def test_pages_are_served_without_any_outside_asset(setting):
    page = text(client_for(setting["admin"]).get(url(setting["event"], "unit_list")))
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert 'name="viewport"' in page
    assert Client().get("/static/eventguard/app.css").status_code == 200


def test_pages_speak_chinese_by_default(setting):
    assert "登录" in text(Client().get(reverse("login")))
    reader = make_member(setting["event"], "auditor", username="duzhe")  # language: zh-hans
    page = text(client_for(reader).get(url(setting["event"], "figures")))
    assert "馆内食品经营单位" in page and "数据指标" in page
    assert "In-venue food businesses" not in page


def test_people_with_a_narrowed_view_are_told_that_figures_count_more_than_they_see(setting):
    event = setting["event"]
    unit = make_unit(event)
    make_unit(event)
    operator = english_member(event, "unit_operator", unit=unit, username="cafe")
    note = "Figures count the whole event"
    assert note in text(client_for(operator).get(url(event, "figures")))
    assert note not in text(client_for(setting["admin"]).get(url(event, "figures")))
    listing = client_for(operator).get(url(event, "unit_list"), {"category": unit.category.code})
    assert record_count(listing) == 1
