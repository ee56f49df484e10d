from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "eventguard.core"
    label = "core"
    verbose_name = _("Registry")

    def ready(self):
        from . import registry_figures  # noqa: F401  (registers the registry's figures)
        from .nav import register_menu
        from .scenarios import ciie2021  # noqa: F401  (registers the reference scenario)

        register_menu(
            "overview", label=_("Overview"), url_name="core:event_home", domain="registry", order=0
        )
        register_menu(
            "zones", label=_("Zones"), url_name="core:zone_list", domain="registry", order=10
        )
        register_menu(
            "units", label=_("Units"), url_name="core:unit_list", domain="registry", order=20
        )
        register_menu(
            "people", label=_("People"), url_name="core:person_list", domain="registry", order=30
        )
        register_menu(
            "figures", label=_("Figures"), url_name="core:figures", domain="registry", order=900
        )
        register_menu(
            "audit", label=_("Audit trail"), url_name="core:audit_list", domain="audit", order=950
        )
