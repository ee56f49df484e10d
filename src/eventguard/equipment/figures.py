"""Figures of special equipment (REFERENCE-SCENARIO.md section 3), each computed from records
and linked to the list of exactly the records it counts."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from eventguard.core.figures import register
from eventguard.hazards import selectors as hazard_selectors

from . import selectors
from .models import POSTED_KINDS, EquipmentKind
from .services import event_days

POSTED = ",".join(str(k) for k in POSTED_KINDS)


def _url(name: str, event, query: str = "") -> str:
    return reverse(name, args=[event.code]) + query


def _event_days_query(event) -> str:
    days = event_days(event)
    return f"&day_from={days[0].isoformat()}&day_to={days[-1].isoformat()}" if days else ""


FIGURES = [
    (
        "equipment.key_units_inspected",
        _("Key guarantee units inspected"),
        selectors.key_units_inspected,
        lambda e: _url("equipment:key_unit_list", e, "?inspected=true"),
    ),
    (
        "equipment.risks_identified",
        _("Equipment risks identified"),
        lambda e: hazard_selectors.risk_points_count(e, domain="equipment"),
        lambda e: _url("hazards:risk_list", e, "?domain=equipment&is_active=true"),
    ),
    (
        "equipment.risks_with_owner_and_measure",
        _("Equipment risks with a responsible person and a measure"),
        lambda e: hazard_selectors.risk_points_count(e, domain="equipment", owned=True),
        lambda e: _url("hazards:risk_list", e, "?domain=equipment&is_active=true&owned=true"),
    ),
    (
        "equipment.escalators",
        _("Escalators"),
        lambda e: selectors.posted_count(e, EquipmentKind.ESCALATOR),
        lambda e: _url("equipment:equipment_list", e, "?kind=escalator&is_active=true"),
    ),
    (
        "equipment.lifts",
        _("Lifts"),
        lambda e: selectors.posted_count(e, EquipmentKind.LIFT),
        lambda e: _url("equipment:equipment_list", e, "?kind=lift&is_active=true"),
    ),
    (
        "equipment.with_fixed_post",
        _("Lifts and escalators with a person at a fixed post"),
        selectors.with_fixed_post,
        lambda e: _url("equipment:equipment_list", e, "?fixed_post=covered&is_active=true"),
    ),
    (
        "equipment.min_patrols_per_elevator_day",
        _("Patrols per lift or escalator per day (fewest)"),
        selectors.min_patrols_per_posted_day,
        lambda e: _url(
            "equipment:patrol_list", e, f"?status=completed&kind={POSTED}{_event_days_query(e)}"
        ),
    ),
    (
        "equipment.citywide_unit_inspections",
        _("City-wide unit inspections"),
        lambda e: selectors.campaign_totals(e)["units"],
        lambda e: _url("equipment:campaign", e),
    ),
    (
        "equipment.citywide_equipment_sets",
        _("City-wide equipment sets inspected"),
        lambda e: selectors.campaign_totals(e)["sets"],
        lambda e: _url("equipment:campaign", e),
    ),
]

for index, (key, label, compute, records_url) in enumerate(FIGURES):
    register(key, label=label, compute=compute, records_url=records_url, order=60 + index)
