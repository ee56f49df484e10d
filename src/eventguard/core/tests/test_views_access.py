"""Who may open what among the registry's pages: every role against every page.

The matrix below is the specification. A record out of the user's scope answers 404
(it looks like no record); a record the user can see but not change answers 403 to an
edit; a page that creates records answers 403 to someone who may not create them;
the audit trail does not exist (404) for anyone but auditors and administrators;
someone without a role in the event gets 404 everywhere in it; an anonymous visitor
is sent to the login page. Lists hold exactly the rows the role may see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from eventguard.core import services
from eventguard.core.models import AuditEntry, RoleAssignment
from eventguard.core.testing import (
    client_for,
    credit_code,
    make_event,
    make_member,
    make_unit,
    make_user,
    make_zone,
)

MEMBERS = (
    "commander",
    "supervisor",
    "zone_supervisor",
    "domain_supervisor",
    "inspector",
    "post_staff",
    "unit_operator",
    "exhibitor",
    "auditor",
    "admin",
)
ROLES = (*MEMBERS, "outsider", "anonymous")
LOGIN = "login"  # expected: a redirect to the login page


def _all_but(*roles: str) -> frozenset[str]:
    return frozenset(MEMBERS) - set(roles)


# Who sees which record (see the world below):
#   food unit in zone A (hall A), equipment unit in zone B (hall B), exhibitor unit (no zone).
SEES_FOOD_A = frozenset(
    {"commander", "supervisor", "zone_supervisor", "inspector", "unit_operator"}
    | {"auditor", "admin"}
)
SEES_KGU_B = frozenset(
    {"commander", "supervisor", "domain_supervisor", "inspector", "post_staff", "auditor", "admin"}
)
SEES_EXPO = frozenset({"commander", "supervisor", "inspector", "exhibitor", "auditor", "admin"})
# Changing the registry needs the registry domain: inspectors, post staff and own-unit
# roles work on units' records in their domains but do not edit the registry itself.
CHANGES_FOOD_A = frozenset({"supervisor", "zone_supervisor", "admin"})
# Zones are not bound to a unit, so unit operators and exhibitors see none.
SEES_ZONE_A = _all_but("post_staff", "unit_operator", "exhibitor")
SEES_ZONE_B = _all_but("zone_supervisor", "unit_operator", "exhibitor")
# Narrowing a supervisor to a domain keeps the registry part of the role.
CHANGES_ZONE_A = frozenset({"supervisor", "zone_supervisor", "domain_supervisor", "admin"})
CREATES_ZONES = CHANGES_ZONE_A
CREATES_UNITS = frozenset({"supervisor", "zone_supervisor", "domain_supervisor", "admin"})
CHANGES_EVENT = frozenset({"admin"})
ADMINS = frozenset({"admin"})
AUDIT_READERS = frozenset({"auditor", "admin"})
# Role assignments are visible to every role, except that own-unit roles see their unit's only.
SEES_STAFF = _all_but("unit_operator", "exhibitor")


@dataclass
class World:
    event: object
    other: object
    zones: dict
    units: dict
    people: dict
    target: RoleAssignment  # an assignment nobody of the matrix holds
    other_unit: object
    audit_in: AuditEntry
    audit_other: AuditEntry


@pytest.fixture
def world() -> World:
    event = make_event(code="matrix")
    other = make_event(code="elsewhere")
    venue = make_zone(event, kind="venue", code="venue")
    hall_a = make_zone(event, kind="hall", parent=venue, code="hall-a")
    hall_b = make_zone(event, kind="hall", parent=venue, code="hall-b")
    zone_a = make_zone(event, kind="zone", parent=hall_a, code="zone-a", name_en="Zone Alpha")
    zone_b = make_zone(event, kind="zone", parent=hall_b, code="zone-b", name_en="Zone Bravo")
    units = {
        "food_a": make_unit(event, zone=zone_a, name_zh="食品甲", name_en="Food Alpha"),
        "kgu_b": make_unit(
            event,
            category="key_guarantee_unit",
            zone=zone_b,
            name_zh="电梯乙",
            name_en="Lift Bravo",
        ),
        "expo": make_unit(event, category="exhibitor", name_zh="展商丙", name_en="Expo Charlie"),
    }
    make_zone(other, kind="venue", code="other-venue")
    other_unit = make_unit(other, name_zh="别处丁", name_en="Elsewhere Delta")

    def member(name, role, **narrowing):
        user = make_user(name, language="en")
        services.role_assign(actor=None, user=user, event=event, role=role, **narrowing)
        return user

    people = {
        "commander": member("commander", "commander"),
        "supervisor": member("supervisor", "supervisor"),
        "zone_supervisor": member("zone-supervisor", "supervisor", zones=[hall_a]),
        "domain_supervisor": member("equipment-supervisor", "supervisor", domains=["equipment"]),
        "inspector": member("inspector", "inspector"),
        "post_staff": member("post-staff", "post_staff", zones=[hall_b]),
        "unit_operator": member("operator", "unit_operator", unit=units["food_a"]),
        "exhibitor": member("exhibitor", "exhibitor", unit=units["expo"]),
        "auditor": member("auditor", "auditor"),
        "admin": member("admin", "admin"),
        "outsider": make_member(other, "admin", username="outsider"),
        "anonymous": None,
    }
    target_user = make_user("target", language="en", display_name="Target Person")
    target = services.role_assign(actor=None, user=target_user, event=event, role="inspector")
    return World(
        event=event,
        other=other,
        zones={"venue": venue, "hall_a": hall_a, "hall_b": hall_b, "a": zone_a, "b": zone_b},
        units=units,
        people=people,
        target=target,
        other_unit=other_unit,
        audit_in=AuditEntry.objects.get(action="unit.create", object_id=str(units["food_a"].pk)),
        audit_other=AuditEntry.objects.get(action="unit.create", object_id=str(other_unit.pk)),
    )


def _url(w: World, name: str, *args) -> str:
    return reverse(f"core:{name}", args=[w.event.code, *args])


def _unit_payload(w: World, role: str) -> dict:
    # The equipment supervisor sees every zone, the zone supervisor hall A: zone A suits all.
    zone = w.zones["a"]
    return {
        "category": _category_id("key_guarantee_unit"),
        "name_zh": "新单位",
        "name_en": "New unit",
        "credit_code": credit_code(),
        "zone": zone.pk,
    }


def _category_id(code: str) -> int:
    from eventguard.core.models import UnitCategory

    return UnitCategory.objects.get(code=code).pk


def _unit_edit_payload(w: World, role: str) -> dict:
    unit = w.units["food_a"]
    return {
        "category": unit.category_id,
        "name_zh": unit.name_zh + "（改）",
        "name_en": unit.name_en,
        "credit_code": unit.credit_code,
        "zone": unit.zone_id,
        "is_active": "on",
    }


def _zone_payload(w: World, role: str) -> dict:
    return {"code": "new-zone", "kind": "zone", "name_zh": "新区域", "parent": w.zones["hall_a"].pk}


def _zone_edit_payload(w: World, role: str) -> dict:
    zone = w.zones["a"]
    return {"code": zone.code, "kind": "zone", "name_zh": "改名", "parent": zone.parent_id}


def _event_payload(w: World, role: str) -> dict:
    e = w.event
    return {
        "name_zh": e.name_zh,
        "name_en": "Renamed",
        "time_zone": e.time_zone,
        "preparation_start": e.preparation_start.isoformat(),
        "opening": e.opening.isoformat(),
        "closing": e.closing.isoformat(),
    }


def _person_payload(w: World, role: str) -> dict:
    return {"username": "newcomer", "language": "en", "role": "inspector"}


def _import_payload(kind: str) -> Callable:
    from django.core.files.uploadedfile import SimpleUploadedFile

    bodies = {
        "zones": "code,kind,name_zh,parent\nz-new,zone,新区,hall-a\n",
        "units": "category,name_zh,credit_code\nkey_guarantee_unit,新单位,{code}\n",
        "people": "username,role\nimported,inspector\n",
    }

    def payload(w: World, role: str) -> dict:
        body = bodies[kind].replace("{code}", credit_code())
        upload = SimpleUploadedFile("rows.csv", body.encode(), content_type="text/csv")
        return {"file": upload, "dry_run": "on"}

    return payload


@dataclass(frozen=True)
class Page:
    """One page and what each role gets there.

    ``ok`` roles get ``ok_status``; members outside ``visible`` get 404; members inside
    ``visible`` but outside ``ok`` get ``denied`` (403). ``visible`` defaults to every member.
    """

    name: str
    url: Callable[[World], str]
    ok: frozenset[str]
    ok_status: int = 200
    visible: frozenset[str] = frozenset(MEMBERS)
    denied: int = 403
    method: str = "get"
    payload: Callable[[World, str], dict] | None = None
    present: dict[str, Callable[[World], str]] = field(default_factory=dict)

    def expected(self, role: str) -> int | str:
        if role == "anonymous":
            return LOGIN
        if role == "outsider":
            return 404
        if role in self.ok:
            return self.ok_status
        if role in self.visible:
            return self.denied
        return 404


EVERYONE = frozenset(MEMBERS)

PAGES = [
    Page("event home", lambda w: _url(w, "event_home"), EVERYONE),
    Page("figures", lambda w: _url(w, "figures"), EVERYONE),
    Page("event edit GET", lambda w: _url(w, "event_edit"), CHANGES_EVENT),
    Page(
        "event edit POST",
        lambda w: _url(w, "event_edit"),
        CHANGES_EVENT,
        ok_status=302,
        method="post",
        payload=_event_payload,
    ),
    # zones
    Page(
        "zone list",
        lambda w: _url(w, "zone_list"),
        EVERYONE,
        present={"Zone Alpha": SEES_ZONE_A, "Zone Bravo": SEES_ZONE_B},
    ),
    Page("zone list CSV", lambda w: _url(w, "zone_list") + "?format=csv", EVERYONE),
    Page("zone list XLSX", lambda w: _url(w, "zone_list") + "?format=xlsx", EVERYONE),
    Page(
        "zone detail A",
        lambda w: _url(w, "zone_detail", w.zones["a"].pk),
        SEES_ZONE_A,
        visible=SEES_ZONE_A,
    ),
    Page(
        "zone detail B",
        lambda w: _url(w, "zone_detail", w.zones["b"].pk),
        SEES_ZONE_B,
        visible=SEES_ZONE_B,
    ),
    Page(
        "zone detail of another event",
        lambda w: _url(w, "zone_detail", w.other.zones.get().pk),
        frozenset(),
        visible=frozenset(),
    ),
    Page("zone create GET", lambda w: _url(w, "zone_create"), CREATES_ZONES),
    Page(
        "zone create POST",
        lambda w: _url(w, "zone_create"),
        CREATES_ZONES,
        ok_status=302,
        method="post",
        payload=_zone_payload,
    ),
    Page(
        "zone edit GET",
        lambda w: _url(w, "zone_edit", w.zones["a"].pk),
        CHANGES_ZONE_A,
        visible=SEES_ZONE_A,
    ),
    Page(
        "zone edit POST",
        lambda w: _url(w, "zone_edit", w.zones["a"].pk),
        CHANGES_ZONE_A,
        visible=SEES_ZONE_A,
        ok_status=302,
        method="post",
        payload=_zone_edit_payload,
    ),
    Page("zone import GET", lambda w: _url(w, "zone_import"), CREATES_ZONES),
    Page(
        "zone import POST",
        lambda w: _url(w, "zone_import"),
        CREATES_ZONES,
        method="post",
        payload=_import_payload("zones"),
    ),
    # units
    Page(
        "unit list",
        lambda w: _url(w, "unit_list"),
        EVERYONE,
        present={
            "Food Alpha": SEES_FOOD_A,
            "Lift Bravo": SEES_KGU_B,
            "Expo Charlie": SEES_EXPO,
            "Elsewhere Delta": frozenset(),
        },
    ),
    Page("unit list CSV", lambda w: _url(w, "unit_list") + "?format=csv", EVERYONE),
    Page("unit list XLSX", lambda w: _url(w, "unit_list") + "?format=xlsx", EVERYONE),
    Page(
        "unit detail food A",
        lambda w: _url(w, "unit_detail", w.units["food_a"].pk),
        SEES_FOOD_A,
        visible=SEES_FOOD_A,
    ),
    Page(
        "unit detail lift B",
        lambda w: _url(w, "unit_detail", w.units["kgu_b"].pk),
        SEES_KGU_B,
        visible=SEES_KGU_B,
    ),
    Page(
        "unit detail exhibitor",
        lambda w: _url(w, "unit_detail", w.units["expo"].pk),
        SEES_EXPO,
        visible=SEES_EXPO,
    ),
    Page(
        "unit detail of another event",
        lambda w: _url(w, "unit_detail", w.other_unit.pk),
        frozenset(),
        visible=frozenset(),
    ),
    Page("unit create GET", lambda w: _url(w, "unit_create"), CREATES_UNITS),
    Page(
        "unit create POST",
        lambda w: _url(w, "unit_create"),
        CREATES_UNITS,
        ok_status=302,
        method="post",
        payload=_unit_payload,
    ),
    Page(
        "unit edit GET",
        lambda w: _url(w, "unit_edit", w.units["food_a"].pk),
        CHANGES_FOOD_A,
        visible=SEES_FOOD_A,
    ),
    Page(
        "unit edit POST",
        lambda w: _url(w, "unit_edit", w.units["food_a"].pk),
        CHANGES_FOOD_A,
        visible=SEES_FOOD_A,
        ok_status=302,
        method="post",
        payload=_unit_edit_payload,
    ),
    Page("unit import GET", lambda w: _url(w, "unit_import"), CREATES_UNITS),
    Page(
        "unit import POST",
        lambda w: _url(w, "unit_import"),
        CREATES_UNITS,
        method="post",
        payload=_import_payload("units"),
    ),
    # people
    Page(
        "people list",
        lambda w: _url(w, "person_list"),
        EVERYONE,
        present={"Target Person": SEES_STAFF},
    ),
    Page("people list CSV", lambda w: _url(w, "person_list") + "?format=csv", EVERYONE),
    Page("people list XLSX", lambda w: _url(w, "person_list") + "?format=xlsx", EVERYONE),
    Page(
        "assignment detail",
        lambda w: _url(w, "assignment_detail", w.target.pk),
        SEES_STAFF,
        visible=SEES_STAFF,
    ),
    Page("person create GET", lambda w: _url(w, "person_create"), ADMINS),
    Page(
        "person create POST",
        lambda w: _url(w, "person_create"),
        ADMINS,
        ok_status=302,
        method="post",
        payload=_person_payload,
    ),
    Page(
        "assignment revoke POST",
        lambda w: _url(w, "assignment_revoke", w.target.pk),
        ADMINS,
        ok_status=302,
        visible=SEES_STAFF,
        method="post",
        payload=lambda w, role: {},
    ),
    Page("person import GET", lambda w: _url(w, "person_import"), ADMINS),
    Page(
        "person import POST",
        lambda w: _url(w, "person_import"),
        ADMINS,
        method="post",
        payload=_import_payload("people"),
    ),
    # audit trail: for everyone else it does not exist
    Page(
        "audit list",
        lambda w: _url(w, "audit_list"),
        AUDIT_READERS,
        visible=AUDIT_READERS,
        # Audit entries name a record as it was named when it was written (here in Chinese).
        present={"食品甲": AUDIT_READERS, "别处丁": frozenset()},
    ),
    Page(
        "audit list CSV",
        lambda w: _url(w, "audit_list") + "?format=csv",
        AUDIT_READERS,
        visible=AUDIT_READERS,
    ),
    Page(
        "audit detail",
        lambda w: _url(w, "audit_detail", w.audit_in.seq),
        AUDIT_READERS,
        visible=AUDIT_READERS,
    ),
    Page(
        "audit detail of another event",
        lambda w: _url(w, "audit_detail", w.audit_other.seq),
        frozenset(),
        visible=frozenset(),
    ),
]


def _request(page: Page, w: World, role: str):
    client = client_for(w.people[role]) if w.people[role] is not None else Client()
    url = page.url(w)
    if page.method == "post":
        return client.post(url, page.payload(w, role))
    return client.get(url)


@pytest.mark.parametrize("spec", PAGES, ids=[p.name for p in PAGES])
def test_every_role_gets_what_the_matrix_says(spec: Page, world: World):
    problems = []
    for role in ROLES:
        # Each role's request is undone afterwards, so every role meets the same world.
        with transaction.atomic():
            response = _request(spec, world, role)
            transaction.set_rollback(True)
        expected = spec.expected(role)
        if expected == LOGIN:
            if response.status_code != 302 or not response["Location"].startswith("/login/"):
                problems.append(
                    f"{role}: expected a redirect to log in, got {response.status_code}"
                )
            continue
        if response.status_code != expected:
            problems.append(f"{role}: expected {expected}, got {response.status_code}")
            continue
        if expected == 302 and response["Location"].startswith("/login/"):
            problems.append(f"{role}: sent to the login page instead of the result")
        if expected == 200 and spec.present:
            content = response.content.decode()
            for text, seen_by in spec.present.items():
                if (text in content) != (role in seen_by):
                    state = "shows" if text in content else "misses"
                    problems.append(f"{role}: the list {state} “{text}”")
    assert not problems, f"{spec.name}:\n" + "\n".join(problems)


def test_a_refused_post_changes_nothing(world: World):
    """A commander may see the food unit but not change it: 403, and the unit is unchanged."""
    unit = world.units["food_a"]
    client = client_for(world.people["commander"])
    response = client.post(_url(world, "unit_edit", unit.pk), _unit_edit_payload(world, "x"))
    assert response.status_code == 403
    unit.refresh_from_db()
    assert "（改）" not in unit.name_zh
    assert not AuditEntry.objects.filter(action="unit.update", object_id=str(unit.pk)).exists()


def test_an_out_of_scope_record_cannot_be_reached_through_a_form_choice(world: World):
    """The zone-scoped supervisor cannot put a new unit into hall B by posting its id."""
    client = client_for(world.people["zone_supervisor"])
    payload = _unit_payload(world, "zone_supervisor") | {"zone": world.zones["b"].pk}
    response = client.post(_url(world, "unit_create"), payload)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not world.event.units.filter(name_zh="新单位").exists()


# ---------------------------------------------------------------- query counts


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("list_name", ["unit_list", "person_list", "zone_list", "audit_list"])
def test_list_pages_use_as_many_queries_for_many_rows_as_for_few(list_name):
    event = make_event(code="counting")
    venue = make_zone(event, kind="venue", code="v")
    admin = make_member(event, "admin", username="counter")
    client = client_for(admin)
    url = reverse(f"core:{list_name}", args=[event.code])

    def add_rows(n: int, start: int):
        for i in range(start, start + n):
            zone = make_zone(event, kind="hall", parent=venue, code=f"h{i}")
            unit = make_unit(event, zone=zone)
            make_member(event, "unit_operator", unit=unit)
            make_member(event, "post_staff", zones=[zone])

    add_rows(2, 0)
    client.get(url)  # warm up the per-process caches (content types, translations)
    few = _count_queries(client, url)
    add_rows(20, 100)
    many = _count_queries(client, url)
    assert many == few, f"{list_name}: {few} queries for a few rows, {many} for many"
