"""The reference scenario: the figures of REFERENCE-SCENARIO.md section 3 from the records."""

import pytest

from eventguard.core.audit import audit_verify
from eventguard.core.figures import figures_report
from eventguard.core.models import Event
from eventguard.core.scenario import scenario_load
from eventguard.equipment import selectors

pytestmark = pytest.mark.slow

SECTION_3 = {
    "equipment.key_units_inspected": 75,
    "equipment.risks_identified": 52,
    "equipment.risks_with_owner_and_measure": 52,
    "equipment.escalators": 208,
    "equipment.lifts": 216,
    "equipment.with_fixed_post": 424,
    "equipment.min_patrols_per_elevator_day": 2,
    "equipment.citywide_unit_inspections": 7147,
    "equipment.citywide_equipment_sets": 12399,
}


def test_the_scenario_gives_the_reference_figures():
    scenario_load("ciie-2021", only=["registry", "equipment", "hazards"])
    event = Event.objects.get(code="ciie-2021")
    figures = figures_report(event, keys=[*SECTION_3, "hazards.open", "hazards.overdue"])["figures"]
    assert {key: figures[key]["value"] for key in SECTION_3} == SECTION_3
    # Hidden dangers were found and closed; the last few are still open, one of them overdue.
    assert figures["hazards.open"]["value"] == 3
    assert figures["hazards.overdue"]["value"] == 1
    assert event.patrols.count() == 424 * 2 * 6
    assert not selectors.post_coverage(event).gaps
    assert audit_verify().ok


def test_at_half_scale_the_counts_halve_and_the_patrols_per_day_stay_two():
    scenario_load("ciie-2021", only=["registry", "equipment", "hazards"], scale=0.5)
    event = Event.objects.get(code="ciie-2021")
    figures = figures_report(event, keys=list(SECTION_3))["figures"]
    values = {key: figures[key]["value"] for key in SECTION_3}
    expected = {key: round(value * 0.5) for key, value in SECTION_3.items()}
    expected["equipment.with_fixed_post"] = 104 + 108
    expected["equipment.min_patrols_per_elevator_day"] = 2
    assert values == expected
