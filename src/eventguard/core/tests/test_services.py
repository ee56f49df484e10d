"""The registry's services: validation that names the field, and nothing half-written."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from eventguard.core import services
from eventguard.core.models import AuditEntry, RoleAssignment, UnitCategory, Zone
from eventguard.core.servicekit import error_dict
from eventguard.core.testing import credit_code, make_event, make_unit, make_user, make_zone


@pytest.fixture(autouse=True)
def _english():
    """The messages below are read in English, whatever language an earlier test left on."""
    with translation.override("en"):
        yield


def fields_of(exc_info) -> set[str]:
    return set(error_dict(exc_info.value))


def test_event_phases_must_be_in_order():
    with pytest.raises(ValidationError) as info:
        make_event(opening=dt.date(2021, 11, 12), closing=dt.date(2021, 11, 10))
    assert "Phases must be in order" in " ".join(sum(error_dict(info.value).values(), []))


def test_event_time_zone_is_checked():
    with pytest.raises(ValidationError) as info:
        make_event(time_zone="Mars/Olympus")
    assert fields_of(info) == {"time_zone"}


def test_unit_with_bad_credit_code_names_the_field():
    event = make_event()
    with pytest.raises(ValidationError) as info:
        make_unit(event, credit_code="91310000MA1FL1MMXA")
    assert fields_of(info) == {"credit_code"}
    assert "should be L" in error_dict(info.value)["credit_code"][0]


def test_credit_code_is_normalised_to_upper_case():
    event = make_event()
    unit = make_unit(event, credit_code="91310000ma1fl1mmxl")
    assert unit.credit_code == "91310000MA1FL1MMXL"


def test_duplicate_unit_is_refused_with_a_message():
    event = make_event()
    code = credit_code()
    make_unit(event, credit_code=code)
    with pytest.raises(ValidationError) as info:
        make_unit(event, credit_code=code)
    assert "already registered" in " ".join(sum(error_dict(info.value).values(), []))
    # The same company may be registered under another category, or in another event.
    make_unit(event, credit_code=code, category="raw_material_supplier")
    make_unit(make_event(), credit_code=code)


def test_unit_zone_must_belong_to_the_event():
    event, other = make_event(), make_event()
    with pytest.raises(ValidationError) as info:
        make_unit(event, zone=make_zone(other))
    assert fields_of(info) == {"zone"}


def test_unit_update_records_only_real_changes():
    event = make_event()
    unit = make_unit(event)
    count = AuditEntry.objects.count()
    services.unit_update(actor=None, unit=unit, name_zh=unit.name_zh)
    assert AuditEntry.objects.count() == count
    services.unit_update(actor=None, unit=unit, address="上海市青浦区")
    assert AuditEntry.objects.count() == count + 1


def test_unit_update_refuses_unknown_fields():
    event = make_event()
    unit = make_unit(event)
    with pytest.raises(ValidationError) as info:
        services.unit_update(actor=None, unit=unit, event=make_event())
    assert fields_of(info) == {"event"}


def test_inactive_category_cannot_take_new_units():
    event = make_event()
    category = UnitCategory.objects.get(code="other")
    services.unit_category_update(actor=None, category=category, is_active=False)
    with pytest.raises(ValidationError) as info:
        make_unit(event, category="other")
    assert fields_of(info) == {"category"}


def test_zone_tree_rules():
    event = make_event()
    venue = make_zone(event, kind="venue")
    hall = make_zone(event, kind="hall", parent=venue)
    zone = make_zone(event, kind="zone", parent=hall)
    assert zone.path == f"/{venue.pk}/{hall.pk}/{zone.pk}/"
    with pytest.raises(ValidationError) as info:
        make_zone(event, kind="hall", parent=zone)
    assert fields_of(info) == {"kind"}
    with pytest.raises(ValidationError) as info:
        services.zone_create(actor=None, event=event, kind="hall", code="x", name_zh="无上级")
    assert fields_of(info) == {"parent"}
    with pytest.raises(ValidationError) as info:
        make_zone(make_event(), kind="hall", parent=venue)
    assert fields_of(info) == {"parent"}
    with pytest.raises(ValidationError):
        services.zone_update(actor=None, zone=hall, parent=zone)


def test_moving_a_zone_moves_its_subtree():
    event = make_event()
    venue = make_zone(event, kind="venue")
    hall_a = make_zone(event, kind="hall", parent=venue)
    hall_b = make_zone(event, kind="hall", parent=venue)
    area = make_zone(event, kind="zone", parent=hall_a)
    leaf = make_zone(event, kind="area", parent=area)
    services.zone_update(actor=None, zone=area, parent=hall_b)
    leaf = Zone.objects.get(pk=leaf.pk)
    assert leaf.path == f"/{venue.pk}/{hall_b.pk}/{area.pk}/{leaf.pk}/"


def test_zone_codes_are_unique_per_event():
    event = make_event()
    make_zone(event, kind="venue", code="necc")
    with pytest.raises(ValidationError) as info:
        make_zone(event, kind="venue", code="necc")
    assert "code" in str(error_dict(info.value)).lower()


def test_own_unit_roles_need_a_unit_and_others_must_not_have_one():
    event = make_event()
    user = make_user()
    with pytest.raises(ValidationError):
        services.role_assign(actor=None, user=user, event=event, role="unit_operator")
    with pytest.raises(ValidationError):
        services.role_assign(
            actor=None, user=user, event=event, role="inspector", unit=make_unit(event)
        )
    assert not RoleAssignment.objects.filter(user=user).exists()


def test_role_domains_are_checked():
    event = make_event()
    with pytest.raises(ValidationError) as info:
        services.role_assign(
            actor=None, user=make_user(), event=event, role="inspector", domains=["weather"]
        )
    assert fields_of(info) == {"domains"}


def test_passwords_are_hashed_with_argon2_and_validated():
    user = make_user(password="Correct-Horse-42")
    assert user.password.startswith("argon2")
    assert user.check_password("Correct-Horse-42")
    with pytest.raises(ValidationError) as info:
        make_user(password="123")
    assert fields_of(info) == {"password"}


def test_tokens_are_stored_as_digests_and_revocable():
    user = make_user()
    token, raw = services.token_create(actor=None, user=user, name="ci")
    assert raw.startswith("egt_") and raw not in token.digest
    assert token.digest == services.token_digest(raw)
    services.token_revoke(actor=None, token=token)
    token.refresh_from_db()
    assert token.revoked_at is not None
