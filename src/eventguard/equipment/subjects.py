"""Equipment as a subject of devices and alarms (``core.subjects``): lifts and escalators
carry controllers whose telemetry and alarms are about them."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from eventguard.core import subjects


def _equipment_url(equipment) -> str:
    return reverse("equipment:equipment_detail", args=[equipment.event.code, equipment.pk])


def register_subjects() -> None:
    subjects.register(
        "equipment.equipment",
        verbose_name=_("equipment"),
        domain="equipment",
        zone="zone",
        unit="user_unit",
        device_kind=lambda e: {
            "lift": "lift_controller",
            "escalator": "escalator_controller",
            "moving_walk": "escalator_controller",
        }.get(e.kind),
        url=_equipment_url,
    )
