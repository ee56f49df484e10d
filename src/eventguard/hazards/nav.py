"""The dual-prevention entries of the main menu."""

from django.utils.translation import gettext_lazy as _

from eventguard.core.nav import register_menu


def register_entries() -> None:
    register_menu(
        "hazards",
        label=_("Hidden dangers"),
        url_name="hazards:hazard_list",
        domain="hazards",
        order=50,
    )
    register_menu(
        "hazards.risks",
        label=_("Risk points"),
        url_name="hazards:risk_list",
        domain="hazards",
        order=51,
    )
