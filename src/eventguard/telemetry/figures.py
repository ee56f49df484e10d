"""The telemetry app's figures: devices registered, and those online now."""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eventguard.core.figures import register

from .models import Device


def _devices_url(event, query: str = "") -> str:
    return reverse("telemetry:device_list", args=[event.code]) + query


register(
    "telemetry.devices",
    label=_("Devices registered"),
    compute=lambda event: Device.objects.filter(event=event).count(),
    records_url=_devices_url,
    order=700,
)
register(
    "telemetry.devices_online",
    label=_("Devices online"),
    compute=lambda event: Device.objects.filter(
        event=event, is_active=True, stale_at__gt=timezone.now()
    ).count(),
    records_url=lambda event: _devices_url(event, "?status=online"),
    order=701,
)
