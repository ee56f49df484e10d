from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelemetryConfig(AppConfig):
    name = "eventguard.telemetry"
    label = "telemetry"
    verbose_name = _("Telemetry")

    def ready(self):
        from . import (  # noqa: F401  (registrations: subject kind, condition, figures, steps, menu)
            conditions,
            figures,
            nav,
            scenarios,
        )
