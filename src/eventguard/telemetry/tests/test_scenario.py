"""The reference scenario's monitoring devices and rules."""

import pytest
from django.db.models import Count

from eventguard.alerts.models import Rule
from eventguard.alerts.rules import DEFAULT_RULES
from eventguard.core import subjects
from eventguard.core.audit import audit_verify
from eventguard.core.models import Event, Unit
from eventguard.core.scenario import scenario_load
from eventguard.telemetry.models import Device

pytestmark = pytest.mark.slow


def kinds_by_subject(event) -> dict:
    rows = Device.objects.filter(event=event).values("kind", "subject_type").annotate(n=Count("pk"))
    return {(r["kind"], r["subject_type"]): r["n"] for r in rows}


def test_a_controller_for_every_lift_and_escalator_and_loggers_for_the_cold_chain():
    scenario_load(
        "ciie-2021", only=["registry", "equipment", "coldchain", "telemetry", "alerts"], scale=0.2
    )
    event = Event.objects.get(code="ciie-2021")
    devices = kinds_by_subject(event)
    warehouses = Unit.objects.filter(event=event, category__code="coldchain_warehouse").count()
    assert devices[("temperature_logger", "core.unit")] == 4 * warehouses
    kitchens = Unit.objects.filter(event=event, category__code="group_meal_enterprise").count()
    assert devices[("kitchen_camera", "core.unit")] == kitchens
    equipment = subjects.kind("equipment.equipment")
    if equipment is not None:
        lifts = equipment.records(event).filter(kind="lift").count()
        escalators = equipment.records(event).filter(kind__in=["escalator", "moving_walk"]).count()
        assert lifts and devices[("lift_controller", "equipment.equipment")] == lifts
        assert devices[("escalator_controller", "equipment.equipment")] == escalators
        lift = equipment.records(event).filter(kind="lift").first()
        device = Device.objects.get(subject_type="equipment.equipment", subject_id=lift.pk)
        assert device.zone_id == lift.zone_id and device.domain == "equipment"
    boxes = subjects.kind("coldchain.box")
    if boxes is not None:
        expected = round(boxes.records(event).count() * boxes.sample)
        assert devices[("temperature_logger", "coldchain.box")] == max(1, expected)
    assert set(Rule.objects.filter(event=event).values_list("code", flat=True)) == {
        r.code for r in DEFAULT_RULES
    }
    assert audit_verify().ok


def test_the_same_seed_picks_the_same_boxes():
    import random

    from eventguard.core.scenario import Progress, ScenarioContext
    from eventguard.telemetry.scenarios import device_specs

    scenario_load("ciie-2021", only=["registry", "coldchain"], scale=0.1)
    event = Event.objects.get(code="ciie-2021")

    def specs(seed: int) -> list[dict]:
        ctx = ScenarioContext(
            scenario="ciie-2021",
            event_code=event.code,
            scale=0.1,
            seed=seed,
            progress=Progress(enabled=False),
            rng=random.Random(f"{seed}:telemetry.devices"),
        )
        return device_specs(ctx, event)

    assert specs(2021) == specs(2021)
    if subjects.kind("coldchain.box") is not None and subjects.kind("coldchain.box").sample < 1:
        boxes = lambda seed: [s["code"] for s in specs(seed) if "-box-" in s["code"]]  # noqa: E731
        assert boxes(2021) != boxes(7), "another seed, another sample"
