"""The reference scenario: the figures of REFERENCE-SCENARIO.md section 1 from the records."""

import datetime as dt

import pytest

from eventguard.coldchain.epcis.validation import validate
from eventguard.coldchain.models import Box, BoxState, EpcisEvent, TemperatureReading
from eventguard.core.audit import audit_verify
from eventguard.core.figures import figures_report
from eventguard.core.models import Event
from eventguard.core.scenario import scenario_load

pytestmark = pytest.mark.slow

KEYS = [
    "coldchain.exhibitors",
    "coldchain.boxes_received",
    "coldchain.boxes_cleared_negative",
    "coldchain.boxes_positive",
    "coldchain.boxes_entered_venue",
    "coldchain.boxes_entered_on_time",
    "coldchain.first_warehouse_entry",
    "coldchain.last_venue_entry",
]


def _figures(event) -> dict:
    figures = figures_report(event, keys=KEYS)["figures"]
    return {key: figures[key]["value"] for key in KEYS}


def test_the_scenario_gives_the_reference_figures():
    scenario_load("ciie-2021", only=["registry", "coldchain"])
    event = Event.objects.get(code="ciie-2021")
    values = _figures(event)
    last = values.pop("coldchain.last_venue_entry")
    assert values == {
        "coldchain.exhibitors": 141,
        "coldchain.boxes_received": 3655,
        "coldchain.boxes_cleared_negative": 3655,
        "coldchain.boxes_positive": 0,
        "coldchain.boxes_entered_venue": 3655,
        "coldchain.boxes_entered_on_time": 3655,
        "coldchain.first_warehouse_entry": "2021-10-21",
    }
    assert dt.date.fromisoformat(last) < dt.date(2021, 11, 2)
    assert set(Box.objects.filter(event=event).values_list("state", flat=True)) == {
        BoxState.ENTERED_VENUE
    }
    assert TemperatureReading.objects.filter(event=event, subject="warehouse").exists()
    assert TemperatureReading.objects.filter(event=event, subject="vehicle").exists()
    assert not TemperatureReading.objects.filter(event=event, excursion=True).exists()
    # the loop is on record as EPCIS events that pass the EPCIS 2.0 rules
    for row in EpcisEvent.objects.filter(event=event).order_by("?")[:50]:
        assert not validate({**row.body, "@context": ["https://ref.gs1.org/"]}), row.body
    assert audit_verify().ok


def test_the_scale_multiplies_exhibitors_and_boxes():
    scenario_load("ciie-2021", only=["registry", "coldchain"], scale=0.2)
    values = _figures(Event.objects.get(code="ciie-2021"))
    assert values["coldchain.exhibitors"] == round(141 * 0.2)
    assert values["coldchain.boxes_received"] == round(3655 * 0.2)
    assert values["coldchain.boxes_entered_on_time"] == round(3655 * 0.2)
    assert values["coldchain.first_warehouse_entry"] == "2021-10-21"
