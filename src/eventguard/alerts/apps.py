from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "eventguard.alerts"
    label = "alerts"
    verbose_name = _("Alarms")

    def ready(self):
        from . import (  # noqa: F401  (registrations: record rules on the bus, figures, steps, menu)
            figures,
            nav,
            scenarios,
            services,
        )
