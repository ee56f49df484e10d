"""The telemetry part of the reference scenario: the devices of the monitoring platform.

A controller for every lift and escalator and loggers for the cold chain's warehouse,
vehicles and a sample of boxes, for whichever of those domains are installed (they
register their subject kinds, with the kind of device that monitors each record), and
always loggers for the registry's central cold-chain warehouse and a camera in every
group-meal kitchen.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from eventguard.core import subjects
from eventguard.core.models import Unit
from eventguard.core.scenario import ScenarioContext, step
from eventguard.core.scenarios.ciie2021 import SCENARIO

from .models import DeviceKind
from .services import devices_register

PREFIX = {
    DeviceKind.LIFT_CONTROLLER: "lc",
    DeviceKind.ESCALATOR_CONTROLLER: "ec",
    DeviceKind.TEMPERATURE_LOGGER: "tl",
    DeviceKind.KITCHEN_CAMERA: "cam",
    DeviceKind.OTHER: "dev",
}
LOGGERS_PER_WAREHOUSE = 4  # one per cold room
CHUNK = 500


def device_specs(ctx: ScenarioContext, event) -> list[dict]:
    specs = []
    for kind in subjects.kinds():
        if kind.device_kind is None:
            continue
        records = list(kind.records(event).order_by("pk"))
        if kind.sample < 1:
            count = max(1, round(len(records) * kind.sample)) if records else 0
            records = sorted(ctx.rng.sample(records, count), key=lambda r: r.pk)
        model = kind.label.split(".")[-1]
        for record in records:
            device_kind = kind.device_kind(record)
            if not device_kind:
                continue
            specs.append(
                {
                    "code": f"{PREFIX[device_kind]}-{model}-{record.pk}",
                    "kind": device_kind,
                    "subject_type": kind.label,
                    "subject_id": record.pk,
                }
            )
    units = Unit.objects.filter(event=event, category__code="coldchain_warehouse").order_by("pk")
    for unit in units:
        for room in range(1, LOGGERS_PER_WAREHOUSE + 1):
            specs.append(
                {
                    "code": f"tl-warehouse-{unit.pk}-{room}",
                    "name": f"{unit.name_zh} {room}号冷库",
                    "kind": DeviceKind.TEMPERATURE_LOGGER,
                    "subject_type": "core.unit",
                    "subject_id": unit.pk,
                    "offline_after": 300,
                }
            )
    kitchens = Unit.objects.filter(event=event, category__code="group_meal_enterprise")
    for unit in kitchens.order_by("pk"):
        specs.append(
            {
                "code": f"cam-kitchen-{unit.pk}",
                "kind": DeviceKind.KITCHEN_CAMERA,
                "subject_type": "core.unit",
                "subject_id": unit.pk,
            }
        )
    return specs


@step(SCENARIO, "telemetry.devices", order=80, label=_("Monitoring devices"))
def load_devices(ctx: ScenarioContext) -> None:
    event = ctx.event
    specs = device_specs(ctx, event)
    ctx.progress.start(str(_("Monitoring devices")), len(specs))
    for start in range(0, len(specs), CHUNK):
        chunk = specs[start : start + CHUNK]
        devices_register(actor=ctx.actor, event=event, specs=chunk)
        ctx.progress.advance(len(chunk))
    ctx.progress.finish()
