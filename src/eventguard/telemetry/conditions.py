"""What the telemetry app offers the rules engine: devices as subjects, and "offline"."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from eventguard.core import conditions, subjects

from .models import Device

subjects.register(
    "telemetry.device",
    verbose_name=_("device"),
    domain=lambda device: device.domain,
    zone="zone",
    unit="unit",
)


@conditions.register(
    "telemetry.device_offline",
    label=_("Device offline"),
    domain="monitoring",
    defaults={"device_kinds": []},
)
def devices_offline(event, now, params):
    """Active devices heard from before, silent for longer than their timeout."""
    devices = Device.objects.filter(
        event=event, is_active=True, last_seen_at__isnull=False, stale_at__lt=now
    )
    if params.get("device_kinds"):
        devices = devices.filter(kind__in=params["device_kinds"])
    for device in devices.select_related("zone", "unit").order_by("pk"):
        yield conditions.Hit(
            subject=subjects.ref_for(device),
            details={
                "device": device.code,
                "last_seen_at": device.last_seen_at.isoformat(),
                "offline_after": device.offline_after,
            },
        )
