"""The alerts entries of the main menu."""

from django.utils.translation import gettext_lazy as _

from eventguard.core.nav import register_menu

register_menu(
    "alerts.alarms", label=_("Alarms"), url_name="alerts:alarm_list", domain="monitoring", order=70
)
register_menu(
    "alerts.rules", label=_("Rules"), url_name="alerts:rule_list", domain="monitoring", order=72
)
