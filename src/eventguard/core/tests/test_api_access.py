"""Who may call what on the registry's API: every role against every endpoint.

A record out of the caller's scope answers 404 (it looks like no record); a record in
scope that the caller may not change answers 403; no credentials answer 401. Lists hold
exactly the rows the role may see.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.db import transaction
from django.test import Client

from eventguard.core import services
from eventguard.core.models import RoleAssignment
from eventguard.core.testing import (
    api_client_for,
    make_event,
    make_unit,
    make_user,
    make_zone,
)

ROLES = (
    "commander",
    "supervisor",
    "zone_supervisor",
    "food_supervisor",
    "inspector",
    "post_staff",
    "unit_operator",
    "exhibitor",
    "auditor",
    "admin",
    "outsider",
    "anonymous",
)


@pytest.fixture
def world():
    """One event with two halls, units of several domains, and a person in every role."""
    event = make_event(code="matrix")
    other = make_event(code="elsewhere")
    venue = make_zone(event, kind="venue", code="venue")
    hall_a = make_zone(event, kind="hall", parent=venue, code="hall-a")
    hall_b = make_zone(event, kind="hall", parent=venue, code="hall-b")
    zone_a = make_zone(event, kind="zone", parent=hall_a, code="zone-a")
    zone_b = make_zone(event, kind="zone", parent=hall_b, code="zone-b")
    units = {
        "food_a": make_unit(event, zone=zone_a),
        "food_b": make_unit(event, zone=zone_b),
        "kgu_a": make_unit(event, category="key_guarantee_unit", zone=zone_a),
        "expo_a": make_unit(event, category="exhibitor", zone=zone_a),
        "hotel": make_unit(event, category="reception_hotel"),  # outside the venue
    }
    make_zone(other, kind="venue", code="other-venue")
    make_unit(other)

    def member(name, event, role, **narrowing):
        user = make_user(name, language="en", password=None)
        services.role_assign(actor=None, user=user, event=event, role=role, **narrowing)
        return user

    people = {
        "commander": member("commander", event, "commander"),
        "supervisor": member("supervisor", event, "supervisor"),
        "zone_supervisor": member("zone-supervisor", event, "supervisor", zones=[hall_a]),
        "food_supervisor": member("food-supervisor", event, "supervisor", domains=["food"]),
        "inspector": member("inspector", event, "inspector"),
        "post_staff": member("post-staff", event, "post_staff", zones=[hall_a]),
        "unit_operator": member("operator", event, "unit_operator", unit=units["food_a"]),
        "exhibitor": member("exhibitor", event, "exhibitor", unit=units["expo_a"]),
        "auditor": member("auditor", event, "auditor"),
        "admin": member("admin", event, "admin"),
        "outsider": member("outsider", other, "commander"),
    }
    return {
        "event": event,
        "other": other,
        "zones": {
            "venue": venue,
            "hall_a": hall_a,
            "hall_b": hall_b,
            "zone_a": zone_a,
            "zone_b": zone_b,
        },
        "units": units,
        "people": people,
        "target": RoleAssignment.objects.get(user=people["inspector"]),
    }


def call_as(world, role):
    """A client and its headers: a Bearer token for a person, nothing for ``anonymous``."""
    if role == "anonymous":
        return Client(), {}
    return api_client_for(world["people"][role])


def _json(client, method, url, headers, body):
    return getattr(client, method)(
        url, data=json.dumps(body), content_type="application/json", **headers
    )


def _upload(client, url, headers, name, text):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")
    return client.post(url, {"file": upload}, **headers)


# Each endpoint: how to call it, and the status every role gets, in the order of ROLES:
# commander, supervisor, zone supervisor, food supervisor, inspector, post staff,
# unit operator, exhibitor, auditor, admin, outsider (a role in another event only),
# anonymous.
ENDPOINTS = {
    "GET me": (
        lambda c, h, w: c.get("/api/me", **h),
        [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401],
    ),
    "GET events": (
        lambda c, h, w: c.get("/api/events", **h),
        [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401],
    ),
    "GET event": (
        lambda c, h, w: c.get("/api/events/matrix", **h),
        [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 404, 401],
    ),
    # The event itself (names, time zone, phases) is for its administrators only.
    "PATCH event": (
        lambda c, h, w: _json(c, "patch", "/api/events/matrix", h, {"name_en": "Renamed"}),
        [403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 404, 401],
    ),
    "GET unit-categories": (
        lambda c, h, w: c.get("/api/unit-categories", **h),
        [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401],
    ),
    "GET zones": (
        lambda c, h, w: c.get("/api/zones?event=matrix", **h),
        [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 404, 401],
    ),
    "GET zone in hall A": (
        lambda c, h, w: c.get(f"/api/zones/{w['zones']['zone_a'].pk}", **h),
        [200, 200, 200, 200, 200, 200, 404, 404, 200, 200, 404, 401],
    ),
    "GET zone in hall B": (
        lambda c, h, w: c.get(f"/api/zones/{w['zones']['zone_b'].pk}", **h),
        [200, 200, 404, 200, 200, 404, 404, 404, 200, 200, 404, 401],
    ),
    "POST zone under hall A": (
        lambda c, h, w: _json(
            c,
            "post",
            "/api/zones",
            h,
            {
                "event": "matrix",
                "kind": "zone",
                "code": "zone-new",
                "name_zh": "新区域",
                "parent": w["zones"]["hall_a"].pk,
            },
        ),
        [403, 201, 201, 201, 403, 403, 403, 403, 403, 201, 404, 401],
    ),
    "PATCH zone in hall A": (
        lambda c, h, w: _json(
            c, "patch", f"/api/zones/{w['zones']['zone_a'].pk}", h, {"name_en": "Renamed"}
        ),
        [403, 200, 200, 200, 403, 403, 404, 404, 403, 200, 404, 401],
    ),
    "PATCH zone in hall B": (
        lambda c, h, w: _json(
            c, "patch", f"/api/zones/{w['zones']['zone_b'].pk}", h, {"name_en": "Renamed"}
        ),
        [403, 200, 404, 200, 403, 404, 404, 404, 403, 200, 404, 401],
    ),
    "GET units": (
        lambda c, h, w: c.get("/api/units?event=matrix", **h),
        [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 404, 401],
    ),
    "GET food unit in hall A": (
        lambda c, h, w: c.get(f"/api/units/{w['units']['food_a'].pk}", **h),
        [200, 200, 200, 200, 200, 404, 200, 404, 200, 200, 404, 401],
    ),
    "GET food unit in hall B": (
        lambda c, h, w: c.get(f"/api/units/{w['units']['food_b'].pk}", **h),
        [200, 200, 404, 200, 200, 404, 404, 404, 200, 200, 404, 401],
    ),
    # A unit with no zone: a supervisor narrowed to zones may not register it.
    "POST unit without zone": (
        lambda c, h, w: _json(
            c,
            "post",
            "/api/units",
            h,
            {
                "event": "matrix",
                "category": "in_venue_food_business",
                "name_zh": "新单位",
                "credit_code": "91310000MA1FL1MMXL",
            },
        ),
        [403, 201, 403, 201, 403, 403, 403, 403, 403, 201, 404, 401],
    ),
    "PATCH food unit in hall A": (
        lambda c, h, w: _json(
            c, "patch", f"/api/units/{w['units']['food_a'].pk}", h, {"address": "崧泽大道333号"}
        ),
        [403, 200, 200, 200, 403, 404, 403, 404, 403, 200, 404, 401],
    ),
    "GET assignments": (
        lambda c, h, w: c.get("/api/assignments?event=matrix", **h),
        [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 404, 401],
    ),
    "GET inspector's assignment": (
        lambda c, h, w: c.get(f"/api/assignments/{w['target'].pk}", **h),
        [200, 200, 200, 200, 200, 200, 404, 404, 200, 200, 404, 401],
    ),
    "POST assignment": (
        lambda c, h, w: _json(
            c,
            "post",
            "/api/assignments",
            h,
            {"event": "matrix", "username": "newcomer", "role": "inspector"},
        ),
        [403, 403, 403, 403, 403, 403, 403, 403, 403, 201, 404, 401],
    ),
    "DELETE inspector's assignment": (
        lambda c, h, w: c.delete(f"/api/assignments/{w['target'].pk}", **h),
        [403, 403, 403, 403, 403, 403, 404, 404, 403, 204, 404, 401],
    ),
    "POST zones import": (
        lambda c, h, w: _upload(
            c,
            "/api/zones/import?event=matrix&dry_run=true",
            h,
            "zones.csv",
            "code,kind,name_zh,parent\nzone-c,zone,丙区,hall-a\n",
        ),
        [403, 200, 200, 200, 403, 403, 403, 403, 403, 200, 404, 401],
    ),
    "POST units import": (
        lambda c, h, w: _upload(
            c,
            "/api/units/import?event=matrix&dry_run=true",
            h,
            "units.csv",
            "category,name_zh,credit_code,zone\n"
            "in_venue_food_business,新餐饮点,91310000MA1FL1MMXL,zone-a\n",
        ),
        [403, 200, 200, 200, 403, 403, 403, 403, 403, 200, 404, 401],
    ),
    "POST people import": (
        lambda c, h, w: _upload(
            c,
            "/api/people/import?event=matrix&dry_run=true",
            h,
            "people.csv",
            "username,role\nnewcomer,inspector\n",
        ),
        [403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 404, 401],
    ),
    "GET zones export": (
        lambda c, h, w: c.get("/api/zones/export?event=matrix&format=csv", **h),
        [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 404, 401],
    ),
    "GET units export": (
        lambda c, h, w: c.get("/api/units/export?event=matrix&format=xlsx", **h),
        [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 404, 401],
    ),
    "GET assignments export": (
        lambda c, h, w: c.get("/api/assignments/export?event=matrix&format=csv", **h),
        [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 404, 401],
    ),
    "GET audit": (
        lambda c, h, w: c.get("/api/audit?event=matrix", **h),
        [404, 404, 404, 404, 404, 404, 404, 404, 200, 200, 404, 401],
    ),
    # Headline figures are aggregates, shown to everyone in the event (as on its home page).
    "GET figures": (
        lambda c, h, w: c.get("/api/figures?event=matrix", **h),
        [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 404, 401],
    ),
}


def test_the_matrix_covers_every_route_of_the_registry():
    from eventguard.api import api

    schema = api.get_openapi_schema()
    registry_operations = {
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "registry" in operation.get("tags", ())
    }
    called = {
        "GET /api/me",
        "GET /api/events",
        "GET /api/events/{code}",
        "PATCH /api/events/{code}",
        "GET /api/unit-categories",
        "GET /api/zones",
        "POST /api/zones",
        "GET /api/zones/{zone_id}",
        "PATCH /api/zones/{zone_id}",
        "POST /api/zones/import",
        "GET /api/zones/export",
        "GET /api/units",
        "POST /api/units",
        "GET /api/units/{unit_id}",
        "PATCH /api/units/{unit_id}",
        "POST /api/units/import",
        "GET /api/units/export",
        "POST /api/people/import",
        "GET /api/assignments",
        "POST /api/assignments",
        "GET /api/assignments/{assignment_id}",
        "DELETE /api/assignments/{assignment_id}",
        "GET /api/assignments/export",
        "GET /api/audit",
        "GET /api/figures",
    }
    assert registry_operations == called
    assert all(len(statuses) == len(ROLES) for _call, statuses in ENDPOINTS.values())


@pytest.mark.parametrize("role", ROLES)
def test_every_endpoint_answers_the_role_as_the_table_says(world, role):
    client, headers = call_as(world, role)
    wrong = []
    for endpoint, (call, statuses) in ENDPOINTS.items():
        # Each call starts from the same records: its writes are rolled back after it.
        with transaction.atomic():
            response = call(client, headers, world)
            transaction.set_rollback(True)
        expected = statuses[ROLES.index(role)]
        if response.status_code != expected:
            wrong.append(
                f"{endpoint}: {response.status_code}, expected {expected}: "
                f"{response.content[:200]!r}"
            )
        elif expected >= 400 and not response.json().get("detail"):
            wrong.append(f"{endpoint}: a refusal without a reason")
    assert not wrong, "\n".join(wrong)


# What each role sees of the event (names as in the world fixture).
VISIBLE_ZONES = {
    "zone_supervisor": {"hall_a", "zone_a"},
    "post_staff": {"hall_a", "zone_a"},
    "unit_operator": set(),
    "exhibitor": set(),
}
ALL_ZONES = {"venue", "hall_a", "hall_b", "zone_a", "zone_b"}
VISIBLE_UNITS = {
    "zone_supervisor": {"food_a", "kgu_a", "expo_a"},
    "food_supervisor": {"food_a", "food_b", "hotel"},
    "post_staff": {"kgu_a"},
    "unit_operator": {"food_a"},
    "exhibitor": {"expo_a"},
}
ALL_UNITS = {"food_a", "food_b", "kgu_a", "expo_a", "hotel"}
OWN_UNIT_ROLES = {"unit_operator", "exhibitor"}

IN_EVENT = [r for r in ROLES if r not in {"outsider", "anonymous"}]


def _csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))[1:]


@pytest.mark.parametrize("role", IN_EVENT)
def test_lists_hold_exactly_what_the_role_may_see(world, role):
    client, headers = call_as(world, role)
    zones = world["zones"]
    units = world["units"]

    want_zones = {zones[k].pk for k in VISIBLE_ZONES.get(role, ALL_ZONES)}
    body = client.get("/api/zones?event=matrix", **headers).json()
    assert {z["id"] for z in body["items"]} == want_zones
    assert body["count"] == len(want_zones)
    for name, zone in zones.items():
        status = client.get(f"/api/zones/{zone.pk}", **headers).status_code
        assert status == (200 if zone.pk in want_zones else 404), name
    exported = _csv_rows(client.get("/api/zones/export?event=matrix&format=csv", **headers))
    assert {row[0] for row in exported} == {
        zones[k].code for k in VISIBLE_ZONES.get(role, ALL_ZONES)
    }

    want_units = {units[k].pk for k in VISIBLE_UNITS.get(role, ALL_UNITS)}
    body = client.get("/api/units?event=matrix", **headers).json()
    assert {u["id"] for u in body["items"]} == want_units
    assert body["count"] == len(want_units)
    for name, unit in units.items():
        status = client.get(f"/api/units/{unit.pk}", **headers).status_code
        assert status == (200 if unit.pk in want_units else 404), name
    exported = _csv_rows(client.get("/api/units/export?event=matrix&format=csv", **headers))
    assert sorted(row[3] for row in exported) == sorted(
        units[k].credit_code for k in VISIBLE_UNITS.get(role, ALL_UNITS)
    )

    me = world["people"][role]
    body = client.get("/api/assignments?event=matrix", **headers).json()
    usernames = {a["person"]["username"] for a in body["items"]}
    if role in OWN_UNIT_ROLES:
        # Only the people of their own unit: here, themselves.
        assert usernames == {me.username}
    else:
        in_event = set(
            RoleAssignment.objects.filter(event=world["event"]).values_list(
                "user__username", flat=True
            )
        )
        assert usernames == in_event
        assert world["people"]["outsider"].username not in usernames

    events = client.get("/api/events", **headers).json()
    assert [e["code"] for e in events] == ["matrix"]


def test_outsider_sees_only_their_own_event(world):
    client, headers = call_as(world, "outsider")
    assert [e["code"] for e in client.get("/api/events", **headers).json()] == ["elsewhere"]
    me = client.get("/api/me", **headers).json()
    assert [e["code"] for e in me["events"]] == ["elsewhere"]
    for unit in world["units"].values():
        assert client.get(f"/api/units/{unit.pk}", **headers).status_code == 404
    # The 404 says nothing about the record.
    body = client.get(f"/api/units/{world['units']['food_a'].pk}", **headers).json()
    assert world["units"]["food_a"].name_zh not in json.dumps(body, ensure_ascii=False)


def test_refused_writes_change_nothing(world):
    """403 and 404 answers leave the records as they were, with no audit entry."""
    from eventguard.core.models import AuditEntry, Unit

    before = AuditEntry.objects.count()
    unit = world["units"]["food_b"]
    for role in ("commander", "inspector", "zone_supervisor", "unit_operator", "auditor"):
        client, headers = call_as(world, role)
        response = _json(client, "patch", f"/api/units/{unit.pk}", headers, {"name_zh": "改名"})
        assert response.status_code in {403, 404}
    # Tokens made for the calls are audited; nothing else is.
    assert set(
        AuditEntry.objects.order_by("-seq")[: AuditEntry.objects.count() - before].values_list(
            "action", flat=True
        )
    ) == {"token.create"}
    assert Unit.objects.get(pk=unit.pk).name_zh == unit.name_zh
