from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HazardsConfig(AppConfig):
    name = "eventguard.hazards"
    label = "hazards"
    verbose_name = _("Dual prevention")

    def ready(self):
        from . import figures, scenarios  # noqa: F401  (register figures and scenario steps)
        from .nav import register_entries

        register_entries()
