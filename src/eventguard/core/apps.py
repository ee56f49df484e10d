from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "eventguard.core"
    label = "core"
    verbose_name = _("Registry")

    def ready(self):
        from . import registry_figures  # noqa: F401  (registers the registry's figures)
        from .scenarios import ciie2021  # noqa: F401  (registers the reference scenario)
