from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EquipmentConfig(AppConfig):
    name = "eventguard.equipment"
    label = "equipment"
    verbose_name = _("Special equipment")

    def ready(self):
        from . import figures, scenarios  # noqa: F401  (register figures and scenario steps)
        from .nav import register_entries
        from .subjects import register_subjects

        register_entries()
        register_subjects()
