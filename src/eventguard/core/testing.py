"""Factories and helpers for tests of every app: records are made through the services."""

from __future__ import annotations

import datetime as dt
import itertools
import random

from django.test import Client

from . import services
from .credit_code import generate_credit_code
from .models import Event, Role, Unit, UnitCategory, User, Zone

_counter = itertools.count(1)
_rng = random.Random(7)

TEST_PASSWORD = "Correct-Horse-42"


def make_event(code: str | None = None, **fields) -> Event:
    n = next(_counter)
    defaults = {
        "code": code or f"event-{n}",
        "name_zh": f"测试活动{n}",
        "name_en": f"Test event {n}",
        "preparation_start": dt.date(2021, 8, 1),
        "opening": dt.date(2021, 11, 5),
        "closing": dt.date(2021, 11, 10),
    }
    defaults.update(fields)
    return services.event_create(actor=None, **defaults)


def make_zone(event: Event, *, kind: str = "zone", parent: Zone | None = None, **fields) -> Zone:
    n = next(_counter)
    if parent is None and kind != "venue":
        venue = Zone.objects.filter(event=event, kind="venue").first() or make_zone(
            event, kind="venue"
        )
        if kind == "zone":
            parent = make_zone(event, kind="hall", parent=venue)
        else:
            parent = venue
    defaults = {"code": f"{kind}-{n}", "name_zh": f"区域{n}", "name_en": f"{kind.title()} {n}"}
    defaults.update(fields)
    return services.zone_create(actor=None, event=event, kind=kind, parent=parent, **defaults)


def credit_code() -> str:
    return generate_credit_code(_rng)


def make_unit(
    event: Event, *, category: str = "in_venue_food_business", zone=None, **fields
) -> Unit:
    n = next(_counter)
    defaults = {
        "name_zh": f"测试单位{n}",
        "name_en": f"Test unit {n}",
        "credit_code": credit_code(),
    }
    defaults.update(fields)
    return services.unit_create(
        actor=None,
        event=event,
        category=UnitCategory.objects.get(code=category),
        zone=zone,
        **defaults,
    )


def make_user(
    username: str | None = None, *, password: str | None = TEST_PASSWORD, **fields
) -> User:
    n = next(_counter)
    return services.person_create(
        actor=None, username=username or f"user{n}", password=password, **fields
    )


def make_member(
    event: Event,
    role: str | Role,
    *,
    zones=(),
    domains=(),
    unit: Unit | None = None,
    username: str | None = None,
    password: str | None = TEST_PASSWORD,
) -> User:
    """A person holding ``role`` in ``event``."""
    user = make_user(username, password=password)
    services.role_assign(
        actor=None, user=user, event=event, role=str(role), zones=zones, domains=domains, unit=unit
    )
    return user


def client_for(user: User | None) -> Client:
    """A test client logged in as ``user`` (without going through the rate-limited login)."""
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def api_client_for(user: User) -> tuple[Client, dict]:
    """A client and the headers that authenticate API calls as ``user`` with a Bearer token."""
    _token, raw = services.token_create(actor=None, user=user, name="test")
    return Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
