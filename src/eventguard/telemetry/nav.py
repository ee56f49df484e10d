"""The telemetry entries of the main menu."""

from django.utils.translation import gettext_lazy as _

from eventguard.core.nav import register_menu

register_menu(
    "telemetry.devices",
    label=_("Devices"),
    url_name="telemetry:device_list",
    domain="monitoring",
    order=71,
)
