"""The reference scenario's registry part: counts, scale, determinism, idempotence."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation

from eventguard.core.audit import audit_verify
from eventguard.core.credit_code import credit_code_error
from eventguard.core.figures import figures_report
from eventguard.core.models import Event, Role, RoleAssignment, Unit
from eventguard.core.scenario import scenario_load

REFERENCE = {
    "registry.in_venue_food_businesses": 66,
    "registry.group_meal_enterprises": 18,
    "registry.raw_material_suppliers": 41,
    "registry.reception_hotels": 5,
    "registry.coldchain_warehouses": 1,
    "registry.key_guarantee_units": 75,
    "registry.exhibitors": 141,
}


def fingerprint():
    return sorted(Unit.objects.values_list("category__code", "name_zh", "credit_code"))


def test_registry_counts_are_the_reference_figures():
    scenario_load("ciie-2021", only=["registry"])
    event = Event.objects.get(code="ciie-2021")
    report = figures_report(event)
    for key, value in REFERENCE.items():
        assert report["figures"][key]["value"] == value, key
    assert all(
        credit_code_error(code) is None
        for code in Unit.objects.values_list("credit_code", flat=True)
    )
    roles = set(RoleAssignment.objects.filter(event=event).values_list("role", flat=True))
    assert roles >= {r.value for r in Role}
    assert audit_verify().ok


def test_scale_multiplies_every_count_rounded():
    scenario_load("ciie-2021", only=["registry"], scale=0.5)
    report = figures_report(Event.objects.get(code="ciie-2021"))
    for key, value in REFERENCE.items():
        assert report["figures"][key]["value"] == max(1, round(value * 0.5)), key


def test_load_is_deterministic_and_a_rerun_is_a_no_op():
    with transaction.atomic():
        scenario_load("ciie-2021", only=["registry"], scale=0.2, seed=7)
        first = fingerprint()
        transaction.set_rollback(True)
    assert not Unit.objects.exists()
    ran = scenario_load("ciie-2021", only=["registry"], scale=0.2, seed=7)
    assert ran == ["registry.event", "registry.units", "registry.people"]
    assert fingerprint() == first
    assert scenario_load("ciie-2021", only=["registry"], scale=0.2, seed=7) == []
    assert fingerprint() == first


def test_reloading_with_other_values_is_refused():
    scenario_load("ciie-2021", only=["registry"], scale=0.2)
    with pytest.raises(ValidationError) as info, translation.override("en"):
        scenario_load("ciie-2021", only=["registry"], scale=0.4)
    assert "scale 0.2" in info.value.messages[0]


def test_unknown_scenario_and_bad_scale_are_refused():
    with pytest.raises(ValidationError):
        scenario_load("olympics-2008")
    with pytest.raises(ValidationError):
        scenario_load("ciie-2021", scale=0)
