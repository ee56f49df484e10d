from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommandConfig(AppConfig):
    name = "eventguard.command"
    label = "command"
    verbose_name = _("Unified command")

    def ready(self):
        from . import (  # noqa: F401  (registrations: bus subscribers, figures, steps, menu, checks)
            checks,
            figures,
            nav,
            scenarios,
            services,
        )
