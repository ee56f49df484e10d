"""The registry's JSON API as a client uses it: tokens and sessions, reading and changing
events, zones, units and roles, errors that name the field, exports, the audit trail,
the figures and the documentation."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from html.parser import HTMLParser

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone, translation
from django.utils.crypto import get_random_string
from openpyxl import load_workbook

from eventguard.core import selectors, services
from eventguard.core.figures import figures_report
from eventguard.core.models import ApiToken, AuditEntry, RoleAssignment, Unit, User, Zone
from eventguard.core.testing import api_client_for, make_event, make_unit, make_user, make_zone

GOOD_CODE = "91310000MA1FL1MMXL"


def member(event, role, **narrowing) -> User:
    """A person reading English, holding ``role`` in ``event``."""
    user = make_user(language="en", password=None)
    services.role_assign(actor=None, user=user, event=event, role=role, **narrowing)
    return user


def send(client, method, url, headers, body):
    return getattr(client, method)(
        url, data=json.dumps(body), content_type="application/json", **headers
    )


def errors_by_field(response) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json()["errors"]}


@pytest.fixture
def admin(event):
    return member(event, "admin")


@pytest.fixture
def admin_api(admin):
    return api_client_for(admin)


# ---------------------------------------------------------------- tokens and sessions


def test_a_token_from_the_command_line_works_records_its_use_and_stops_when_revoked(event):
    user = member(event, "inspector")
    out, err = io.StringIO(), io.StringIO()
    with translation.override("en"):
        call_command(
            "token", "create", "--user", user.username, "--name", "laptop", stdout=out, stderr=err
        )
    raw = out.getvalue().strip()
    assert raw.startswith("egt_")
    assert "will not be shown again" in err.getvalue()

    token = ApiToken.objects.get(user=user)
    # Only the digest is kept: no column holds the token itself.
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    stored = [str(getattr(token, f.attname)) for f in ApiToken._meta.concrete_fields]
    assert raw not in stored
    assert token.last_used_at is None

    client = Client()
    response = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert response.json()["username"] == user.username
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert timezone.now() - token.last_used_at < timezone.timedelta(minutes=1)

    listing = io.StringIO()
    call_command("token", "list", "--user", user.username, stdout=listing)
    assert token.prefix in listing.getvalue()
    assert token.last_used_at.isoformat() in listing.getvalue()

    call_command("token", "revoke", token.prefix, stdout=io.StringIO())
    response = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 401
    assert response.json()["detail"]
    # A write with the revoked token is refused as unauthenticated, not as a CSRF failure.
    response = send(client, "post", "/api/zones", {"HTTP_AUTHORIZATION": f"Bearer {raw}"}, {})
    assert response.status_code == 401


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer egt_not-a-real-token", "Token abc", "Basic dXNlcjpwYXNz"],
)
def test_missing_or_wrong_credentials_get_401(header):
    headers = {"HTTP_AUTHORIZATION": header} if header else {}
    response = Client().get("/api/events", **headers)
    assert response.status_code == 401
    assert response.json()["detail"]


def test_a_deactivated_persons_token_stops_working(event):
    user = member(event, "commander")
    client, headers = api_client_for(user)
    assert client.get("/api/me", **headers).status_code == 200
    services.person_update(actor=None, user=user, is_active=False)
    assert client.get("/api/me", **headers).status_code == 401


def test_the_web_session_works_and_writes_need_the_csrf_token(event):
    user = member(event, "admin")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/api/me").json()["username"] == user.username

    body = {"name_en": "Renamed by session"}
    refused = send(client, "patch", f"/api/events/{event.code}", {}, body)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]

    secret = get_random_string(32)
    client.cookies["csrftoken"] = secret
    accepted = send(
        client, "patch", f"/api/events/{event.code}", {"HTTP_X_CSRFTOKEN": secret}, body
    )
    assert accepted.status_code == 200
    assert accepted.json()["name_en"] == "Renamed by session"


def test_a_wrong_token_is_not_rescued_by_a_session(event):
    client = Client()
    client.force_login(member(event, "admin"))
    response = client.get("/api/me", HTTP_AUTHORIZATION="Bearer egt_wrong")
    assert response.status_code == 401


# ---------------------------------------------------------------- who am I, events


def test_me_lists_my_events_and_roles_with_their_narrowing(event):
    other = make_event()
    hall = make_zone(event, kind="hall")
    unit = make_unit(event)
    user = member(event, "supervisor", zones=[hall], domains=["food"])
    services.role_assign(actor=None, user=user, event=other, role="auditor")
    services.role_assign(actor=None, user=user, event=event, role="unit_operator", unit=unit)
    client, headers = api_client_for(user)

    me = client.get("/api/me", **headers).json()
    assert me["username"] == user.username
    assert me["is_superuser"] is False
    by_code = {e["code"]: e for e in me["events"]}
    assert set(by_code) == {event.code, other.code}
    roles = {r["role"]: r for r in by_code[event.code]["roles"]}
    assert roles["supervisor"]["role_label"] == "Supervisor"
    assert [z["code"] for z in roles["supervisor"]["zones"]] == [hall.code]
    assert roles["supervisor"]["domains"] == ["food"]
    assert roles["unit_operator"]["unit"]["id"] == unit.pk
    assert roles["unit_operator"]["unit"]["credit_code"] == unit.credit_code
    assert [r["role"] for r in by_code[other.code]["roles"]] == ["auditor"]
    assert by_code[event.code]["name_zh"] == event.name_zh
    assert by_code[event.code]["name"] == event.name_en  # the caller reads English


def test_event_detail_and_change_are_audited(event, admin_api):
    client, headers = admin_api
    detail = client.get(f"/api/events/{event.code}", **headers).json()
    assert detail["code"] == event.code
    assert detail["opening"] == event.opening.isoformat()

    response = send(
        client,
        "patch",
        f"/api/events/{event.code}",
        headers,
        {"name_en": "Expo", "closing": "2021-11-11"},
    )
    assert response.status_code == 200
    assert response.json()["name_en"] == "Expo"
    assert response.json()["closing"] == "2021-11-11"
    entry = AuditEntry.objects.filter(action="event.update").get()
    assert entry.before["name_en"] == event.name_en
    assert entry.after["name_en"] == "Expo"
    assert entry.actor_name.startswith("user")


def test_event_changes_that_break_the_rules_are_refused_with_the_field(event, admin_api):
    client, headers = admin_api
    url = f"/api/events/{event.code}"
    response = send(client, "patch", url, headers, {"time_zone": "Mars/Olympus"})
    assert response.status_code == 400
    assert "Mars/Olympus" in errors_by_field(response)["time_zone"]

    response = send(client, "patch", url, headers, {"opening": "2022-01-01"})
    assert response.status_code == 400
    assert "order" in " ".join(e["message"] for e in response.json()["errors"])

    response = send(client, "patch", url, headers, {"opening": "not a date", "code": "x"})
    assert response.status_code == 400
    assert set(errors_by_field(response)) == {"opening", "code"}
    assert client.get(url, **headers).json()["opening"] == event.opening.isoformat()


def test_unknown_event_is_404_and_a_missing_event_parameter_is_400(admin_api):
    client, headers = admin_api
    assert client.get("/api/events/no-such-event", **headers).status_code == 404
    assert client.get("/api/zones?event=no-such-event", **headers).status_code == 404
    response = client.get("/api/units", **headers)
    assert response.status_code == 400
    assert list(errors_by_field(response)) == ["event"]


def test_unit_categories_are_listed_in_both_languages(event):
    client, headers = api_client_for(
        member(event, "exhibitor", unit=make_unit(event, category="exhibitor"))
    )
    categories = {c["code"]: c for c in client.get("/api/unit-categories", **headers).json()}
    assert categories["reception_hotel"]["name_zh"] == "接待酒店"
    assert categories["reception_hotel"]["name_en"] == "Reception hotel"
    assert categories["reception_hotel"]["domain"] == "food"
    assert categories["reception_hotel"]["name"] == "Reception hotel"


# ---------------------------------------------------------------- zones


def test_zones_are_created_listed_filtered_and_moved(event, admin, admin_api):
    client, headers = admin_api
    venue = send(
        client,
        "post",
        "/api/zones",
        headers,
        {
            "event": event.code,
            "kind": "venue",
            "code": "necc",
            "name_zh": "国家会展中心",
            "name_en": "NECC",
        },
    )
    assert venue.status_code == 201, venue.content
    venue = venue.json()
    assert venue["parent"] is None
    assert venue["kind_label"] == "Venue"
    assert venue["name"] == "NECC"

    def add(kind, code, parent, **extra):
        response = send(
            client,
            "post",
            "/api/zones",
            headers,
            {
                "event": event.code,
                "kind": kind,
                "code": code,
                "name_zh": code,
                "parent": parent,
                **extra,
            },
        )
        assert response.status_code == 201, response.content
        return response.json()

    hall_1 = add("hall", "h1", venue["id"], is_core_area=True)
    hall_2 = add("hall", "h2", venue["id"])
    zone = add("zone", "h1-a", hall_1["id"])
    area = add("area", "h1-a-1", zone["id"])
    assert AuditEntry.objects.filter(action="zone.create").count() == 5

    listing = client.get(f"/api/zones?event={event.code}", **headers).json()
    assert listing["count"] == 5
    assert [z["code"] for z in listing["items"]] == ["necc", "h1", "h1-a", "h1-a-1", "h2"]

    # The list page's filters, with the same meaning.
    for name, value in (("kind", "hall"), ("parent", hall_1["id"]), ("q", "h1-a"), ("q", "NECC")):
        filters = selectors.ZoneFilters(**{name: value})
        expected = selectors.zone_list(user=admin, event=event, filters=filters)
        got = client.get(f"/api/zones?event={event.code}&{name}={value}", **headers).json()
        assert [z["id"] for z in got["items"]] == [z.pk for z in expected], name
        assert expected

    # Moving a zone moves what lies under it.
    moved = send(client, "patch", f"/api/zones/{zone['id']}", headers, {"parent": hall_2["id"]})
    assert moved.status_code == 200
    assert moved.json()["parent"] == hall_2["id"]
    assert Zone.objects.get(pk=area["id"]).path.startswith(Zone.objects.get(pk=hall_2["id"]).path)

    detail = client.get(f"/api/zones/{hall_1['id']}", **headers).json()
    assert detail["is_core_area"] is True
    assert detail["event"] == event.code


def test_zone_errors_name_the_field(event, admin_api):
    client, headers = admin_api
    other_zone = make_zone(make_event(), kind="venue")
    hall = make_zone(event, kind="hall")
    zone = make_zone(event, kind="zone", parent=hall)

    response = send(
        client,
        "post",
        "/api/zones",
        headers,
        {"event": event.code, "kind": "hall", "code": "x", "name_zh": "x"},
    )
    assert response.status_code == 400
    assert "venue" in errors_by_field(response)["parent"].lower()

    response = send(
        client,
        "post",
        "/api/zones",
        headers,
        {"event": event.code, "kind": "hall", "code": "x", "name_zh": "x", "parent": other_zone.pk},
    )
    assert response.status_code == 400
    assert "No zone with id" in errors_by_field(response)["parent"]

    response = send(
        client,
        "post",
        "/api/zones",
        headers,
        {"event": event.code, "kind": "tent", "code": "x", "name_zh": "x"},
    )
    assert response.status_code == 400
    assert "kind" in errors_by_field(response)

    response = send(
        client,
        "post",
        "/api/zones",
        headers,
        {"event": event.code, "kind": "zone", "code": zone.code, "name_zh": "x", "parent": hall.pk},
    )
    assert response.status_code == 400  # the code is taken in this event

    response = send(client, "patch", f"/api/zones/{hall.pk}", headers, {"parent": zone.pk})
    assert response.status_code == 400
    assert "parent" in errors_by_field(response)

    response = send(client, "patch", f"/api/zones/{hall.pk}", headers, {"path": "/1/"})
    assert response.status_code == 400
    assert "path" in errors_by_field(response)
    assert Zone.objects.count() == 4
    assert Zone.objects.get(pk=hall.pk).parent_id == zone.parent.parent_id


# ---------------------------------------------------------------- units


def test_a_unit_is_registered_read_and_changed(event, admin_api):
    client, headers = admin_api
    zone = make_zone(event)
    response = send(
        client,
        "post",
        "/api/units",
        headers,
        {
            "event": event.code,
            "category": "in_venue_food_business",
            "name_zh": "甲餐饮",
            "name_en": "Canteen A",
            "credit_code": GOOD_CODE.lower(),
            "zone": zone.pk,
            "contact_email": "a@example.org",
        },
    )
    assert response.status_code == 201, response.content
    unit = response.json()
    assert unit["credit_code"] == GOOD_CODE  # normalised by the service
    assert unit["category"]["code"] == "in_venue_food_business"
    assert unit["category"]["name_zh"] == "馆内食品经营单位"
    assert unit["zone"]["code"] == zone.code
    assert unit["name"] == "Canteen A"
    assert unit["event"] == event.code
    created = AuditEntry.objects.get(action="unit.create")
    assert created.object_id == str(unit["id"])

    response = send(
        client, "patch", f"/api/units/{unit['id']}", headers, {"zone": None, "is_active": False}
    )
    assert response.status_code == 200
    assert response.json()["zone"] is None
    assert response.json()["is_active"] is False
    assert client.get(f"/api/units/{unit['id']}", **headers).json()["is_active"] is False


def test_a_bad_credit_code_is_refused_naming_the_field_and_the_check_character(event, admin_api):
    client, headers = admin_api
    before = Unit.objects.count(), AuditEntry.objects.count()
    response = send(
        client,
        "post",
        "/api/units",
        headers,
        {
            "event": event.code,
            "category": "reception_hotel",
            "name_zh": "乙酒店",
            "credit_code": "91310000MA1FL1MMXA",
        },
    )
    assert response.status_code == 400
    body = response.json()
    assert body["detail"]
    assert [e["field"] for e in body["errors"]] == ["credit_code"]
    assert "check character" in body["errors"][0]["message"].lower()
    assert "should be L" in body["errors"][0]["message"]
    assert (Unit.objects.count(), AuditEntry.objects.count()) == before


def test_missing_ill_typed_and_unknown_fields_are_each_named(event, admin_api):
    client, headers = admin_api
    response = send(
        client,
        "post",
        "/api/units",
        headers,
        {"event": event.code, "name_zh": 42, "zone": "hall one", "colour": "red"},
    )
    assert response.status_code == 400
    fields = errors_by_field(response)
    assert set(fields) == {"category", "credit_code", "name_zh", "zone", "colour"}
    assert all(fields.values())


def test_unit_references_must_belong_to_the_event(event, admin_api):
    client, headers = admin_api
    elsewhere = make_zone(make_event())
    body = {"event": event.code, "name_zh": "丙", "credit_code": GOOD_CODE}
    response = send(client, "post", "/api/units", headers, {**body, "category": "bakery"})
    assert "bakery" in errors_by_field(response)["category"]
    response = send(
        client, "post", "/api/units", headers, {**body, "category": "other", "zone": elsewhere.pk}
    )
    assert response.status_code == 400
    assert "No zone with id" in errors_by_field(response)["zone"]
    assert not Unit.objects.filter(event=event).exists()


def test_a_second_unit_with_the_same_category_and_credit_code_is_refused(event, admin_api):
    client, headers = admin_api
    unit = make_unit(event, category="reception_hotel")
    response = send(
        client,
        "post",
        "/api/units",
        headers,
        {
            "event": event.code,
            "category": "reception_hotel",
            "name_zh": "重复",
            "credit_code": unit.credit_code,
        },
    )
    assert response.status_code == 400
    assert "already registered" in json.dumps(response.json())
    assert Unit.objects.filter(event=event).count() == 1


def test_unit_list_filters_and_pages_like_the_list_page(event, admin_api):
    client, headers = admin_api
    zone = make_zone(event)
    for i in range(7):
        make_unit(event, zone=zone if i % 2 else None, name_zh=f"餐饮{i}")
    hotels = [make_unit(event, category="reception_hotel", name_zh=f"酒店{i}") for i in range(3)]
    services.unit_update(actor=None, unit=hotels[0], is_active=False)
    url = f"/api/units?event={event.code}"

    page = client.get(f"{url}&limit=4&offset=0", **headers).json()
    assert page["count"] == 10
    assert len(page["items"]) == 4
    rest = client.get(f"{url}&limit=4&offset=8", **headers).json()
    assert len(rest["items"]) == 2
    assert client.get(url, **headers).json()["count"] == 10  # default page of 50

    assert client.get(f"{url}&category=reception_hotel", **headers).json()["count"] == 3
    assert (
        client.get(f"{url}&category=reception_hotel&is_active=false", **headers).json()["count"]
        == 1
    )
    assert client.get(f"{url}&zone={zone.pk}", **headers).json()["count"] == 3
    assert client.get(f"{url}&q=酒店", **headers).json()["count"] == 3

    for bad, field in (
        ("limit=501", "limit"),
        ("limit=0", "limit"),
        ("offset=-1", "offset"),
        ("zone=x", "zone"),
    ):
        response = client.get(f"{url}&{bad}", **headers)
        assert response.status_code == 400, bad
        assert field in errors_by_field(response), bad
    assert len(client.get(f"{url}&limit=500", **headers).json()["items"]) == 10


def test_list_endpoints_do_not_query_per_row(event, admin_api):
    client, headers = admin_api
    zone = make_zone(event)
    for _i in range(3):
        unit = make_unit(event, zone=zone)
        member(event, "unit_operator", unit=unit)

    def queries(url):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url, **headers).status_code == 200
        return len(ctx.captured_queries)

    client.get("/api/me", **headers)  # the token's first use of the minute is recorded
    small = {
        u: queries(u)
        for u in (
            f"/api/units?event={event.code}",
            f"/api/assignments?event={event.code}",
            f"/api/zones?event={event.code}",
        )
    }
    for _i in range(12):
        unit = make_unit(event, zone=make_zone(event))
        member(event, "unit_operator", unit=unit)
    for url, count in small.items():
        assert queries(url) == count, url


# ---------------------------------------------------------------- people and roles


def test_an_administrator_adds_a_new_person_with_a_role_and_revokes_it(event, admin_api):
    client, headers = admin_api
    hall = make_zone(event, kind="hall")
    response = send(
        client,
        "post",
        "/api/assignments",
        headers,
        {
            "event": event.code,
            "username": "li.wei",
            "display_name": "李伟",
            "role": "inspector",
            "zones": [hall.pk],
            "domains": ["equipment", "hazards"],
        },
    )
    assert response.status_code == 201, response.content
    assignment = response.json()
    assert assignment["person"]["username"] == "li.wei"
    assert assignment["person"]["display_name"] == "李伟"
    assert [z["id"] for z in assignment["zones"]] == [hall.pk]
    assert assignment["domains"] == ["equipment", "hazards"]
    assert assignment["role_label"] == "Inspector"
    person = User.objects.get(username="li.wei")
    assert not person.has_usable_password()  # a password is set separately
    assert {"person.create", "role.assign"} <= set(
        AuditEntry.objects.values_list("action", flat=True)
    )

    # An existing person gets a second role; nothing about them is re-created.
    response = send(
        client,
        "post",
        "/api/assignments",
        headers,
        {"event": event.code, "username": "li.wei", "role": "post_staff"},
    )
    assert response.status_code == 201
    assert User.objects.filter(username="li.wei").count() == 1
    listed = client.get(f"/api/assignments?event={event.code}&q=li.wei", **headers).json()
    assert sorted(a["role"] for a in listed["items"]) == ["inspector", "post_staff"]
    assert (
        client.get(f"/api/assignments?event={event.code}&role=post_staff", **headers).json()[
            "count"
        ]
        == 1
    )

    response = client.delete(f"/api/assignments/{assignment['id']}", **headers)
    assert response.status_code == 204
    assert client.get(f"/api/assignments/{assignment['id']}", **headers).status_code == 404
    assert AuditEntry.objects.filter(action="role.revoke", object_id=str(assignment["id"])).exists()


def test_a_refused_role_does_not_leave_a_new_person_behind(event, admin_api):
    client, headers = admin_api
    response = send(
        client,
        "post",
        "/api/assignments",
        headers,
        {"event": event.code, "username": "wang.fang", "role": "unit_operator"},
    )
    assert response.status_code == 400
    assert "unit" in json.dumps(response.json()).lower()
    assert not User.objects.filter(username="wang.fang").exists()

    response = send(
        client,
        "post",
        "/api/assignments",
        headers,
        {"event": event.code, "username": "wang.fang", "role": "inspector", "domains": ["weather"]},
    )
    assert response.status_code == 400
    assert "domains" in {e["field"].split(".")[0] for e in response.json()["errors"]}
    assert not User.objects.filter(username="wang.fang").exists()


def test_the_same_role_twice_is_refused(event, admin_api):
    client, headers = admin_api
    person = member(event, "inspector")
    response = send(
        client,
        "post",
        "/api/assignments",
        headers,
        {"event": event.code, "username": person.username, "role": "inspector"},
    )
    assert response.status_code == 400
    assert "already has this role" in json.dumps(response.json())
    assert RoleAssignment.objects.filter(user=person).count() == 1


def test_an_operators_role_is_tied_to_a_unit_of_the_event(event, admin_api):
    client, headers = admin_api
    unit = make_unit(event)
    foreign = make_unit(make_event())
    body = {"event": event.code, "username": "zhao.lei", "role": "unit_operator"}
    response = send(client, "post", "/api/assignments", headers, {**body, "unit": foreign.pk})
    assert response.status_code == 400
    assert "unit" in errors_by_field(response)
    response = send(client, "post", "/api/assignments", headers, {**body, "unit": unit.pk})
    assert response.status_code == 201
    assert response.json()["unit"]["id"] == unit.pk


# ---------------------------------------------------------------- export


def test_exports_follow_the_list_filters_in_both_formats(event):
    zone = make_zone(event)
    make_unit(event, category="reception_hotel", name_zh="甲酒店")
    make_unit(event, category="reception_hotel", name_zh="乙酒店", zone=zone)
    make_unit(event, name_zh="丙餐饮")
    client, headers = api_client_for(member(event, "auditor"))

    response = client.get(
        f"/api/units/export?event={event.code}&format=csv&category=reception_hotel", **headers
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="{event.code}-units-' in response["Content-Disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:2] == ["Category", "Name (Chinese)"]  # the reader's language
    assert sorted(r[1] for r in rows[1:]) == ["乙酒店", "甲酒店"]
    assert {r[5] for r in rows[1:]} == {"", zone.code}

    response = client.get(f"/api/units/export?event={event.code}&format=xlsx&q=餐饮", **headers)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "Category"
    assert [row[1] for row in values[1:]] == ["丙餐饮"]

    response = client.get(f"/api/zones/export?event={event.code}&format=pdf", **headers)
    assert response.status_code == 400
    assert "format" in errors_by_field(response)


def test_people_export_lists_roles_with_their_narrowing(event, admin_api):
    client, headers = admin_api
    hall = make_zone(event, kind="hall")
    person = member(event, "post_staff", zones=[hall])
    response = client.get(
        f"/api/assignments/export?event={event.code}&format=csv&role=post_staff", **headers
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 2
    assert rows[1][0] == person.username
    assert hall.code in rows[1]


# ---------------------------------------------------------------- audit trail and figures


def test_auditors_read_the_trail_of_their_event_with_filters(event):
    other = make_event()
    make_unit(event, name_zh="审计单位")
    make_unit(other)
    client, headers = api_client_for(member(event, "auditor"))

    trail = client.get(f"/api/audit?event={event.code}&limit=500", **headers).json()
    assert trail["count"] == AuditEntry.objects.filter(event_code=event.code).count()
    assert {e["event_code"] for e in trail["items"]} == {event.code}
    seqs = [e["seq"] for e in trail["items"]]
    assert seqs == sorted(seqs, reverse=True)

    units = client.get(f"/api/audit?event={event.code}&action=unit.", **headers).json()
    assert [e["action"] for e in units["items"]] == ["unit.create"]
    assert units["items"][0]["after"]["name_zh"] == "审计单位"
    assert len(units["items"][0]["hash"]) == 64

    response = client.get(f"/api/audit?event={event.code}&since=yesterday", **headers)
    assert response.status_code == 400
    assert "since" in errors_by_field(response)
    assert client.get(f"/api/audit?event={other.code}", **headers).status_code == 404


def test_figures_are_exactly_the_figures_report(event):
    for category in ("in_venue_food_business", "in_venue_food_business", "reception_hotel"):
        make_unit(event, category=category)
    client, headers = api_client_for(member(event, "commander"))
    body = client.get(f"/api/figures?event={event.code}", **headers).json()
    expected = json.loads(json.dumps(figures_report(event)))
    assert body.pop("generated_at")
    expected.pop("generated_at")
    assert body == expected
    assert body["figures"]["registry.in_venue_food_businesses"]["value"] == 2
    assert body["figures"]["registry.reception_hotels"]["label"]["zh-Hans"]


# ---------------------------------------------------------------- OpenAPI and the docs page


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in {"src", "href"} and value:
                self.urls.append(value)


def test_openapi_describes_the_registry_with_typed_schemas():
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/units/{unit_id}" in schema["paths"]
    components = schema["components"]["schemas"]
    assert {"UnitOut", "UnitIn", "ZoneOut", "AssignmentOut", "ErrorOut"} <= set(components)
    assert {"name_zh", "name_en", "name"} <= set(components["UnitOut"]["properties"])
    assert "BearerToken" in schema["components"]["securitySchemes"]


def test_the_docs_page_loads_only_assets_served_by_the_app():
    client = Client()
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"https?://", html), "the docs page names an outside host"
    parser = _Assets()
    parser.feed(html)
    assert any(u.endswith(".js") for u in parser.urls)
    assert any(u.endswith(".css") for u in parser.urls)
    for url in parser.urls:
        assert url.startswith("/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        asset.close()
    # Swagger UI's validator badge would call an outside host.
    assert '"validatorUrl": null' in html
