from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ColdchainConfig(AppConfig):
    name = "eventguard.coldchain"
    label = "coldchain"
    verbose_name = _("Cold chain")

    def ready(self):
        from . import figures, scenarios  # noqa: F401  (register figures and scenario steps)
        from .nav import register_entries

        register_entries()
