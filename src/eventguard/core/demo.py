"""The demo: the reference event, one login per role, printed on screen."""

from __future__ import annotations

import json
import secrets

from django.conf import settings
from django.db import transaction

from . import services
from .models import Event, Role, RoleAssignment, Unit, User, Zone

DEMO_EVENT = "ciie-2021"

# (role, unit category for own-unit roles, zone code for zone-scoped roles)
DEMO_ROLES = [
    (Role.COMMANDER, None, None),
    (Role.SUPERVISOR, None, None),
    (Role.INSPECTOR, None, None),
    (Role.POST_STAFF, None, "h1-1"),
    (Role.UNIT_OPERATOR, "in_venue_food_business", None),
    (Role.EXHIBITOR, "exhibitor", None),
    (Role.AUDITOR, None, None),
    (Role.ADMIN, None, None),
]


def _credentials_file():
    return settings.HOME / "demo-logins.json"


def demo_users() -> list[tuple[str, str, str]]:
    """Create (once) a login per role in the demo event; returns (role, username, password)."""
    path = _credentials_file()
    saved = json.loads(path.read_text()) if path.exists() else {}
    event = Event.objects.get(code=DEMO_EVENT)
    logins = []
    for role, category, zone_code in DEMO_ROLES:
        username = f"demo-{role.value.replace('_', '-')}"
        password = saved.get(username)
        user = User.objects.filter(username=username).first()
        if user is None or password is None:
            password = "eg-" + secrets.token_urlsafe(9)
            with transaction.atomic():
                if user is None:
                    user = services.person_create(
                        actor=None,
                        username=username,
                        display_name=f"Demo {role.label}",
                        password=password,
                        language="zh-hans",
                    )
                else:
                    services.person_set_password(actor=None, user=user, password=password)
                if not RoleAssignment.objects.filter(user=user, event=event, role=role).exists():
                    unit = (
                        Unit.objects.filter(event=event, category__code=category)
                        .order_by("pk")
                        .first()
                        if category
                        else None
                    )
                    zones = (
                        list(Zone.objects.filter(event=event, code=zone_code)) if zone_code else []
                    )
                    services.role_assign(
                        actor=None, user=user, event=event, role=role, unit=unit, zones=zones
                    )
            saved[username] = password
        logins.append((role.label, username, password))
    path.write_text(json.dumps(saved, indent=2))
    path.chmod(0o600)
    return logins
