"""The equipment entries of the main menu."""

from django.utils.translation import gettext_lazy as _

from eventguard.core.nav import register_menu


def register_entries() -> None:
    register_menu(
        "equipment",
        label=_("Equipment"),
        url_name="equipment:equipment_list",
        domain="equipment",
        order=40,
    )
    register_menu(
        "equipment.posts",
        label=_("Fixed posts"),
        url_name="equipment:post_coverage",
        domain="equipment",
        order=41,
    )
    register_menu(
        "equipment.patrols",
        label=_("Patrols"),
        url_name="equipment:patrol_list",
        domain="equipment",
        order=42,
    )
    register_menu(
        "equipment.key_units",
        label=_("Key units"),
        url_name="equipment:key_unit_list",
        domain="equipment",
        order=43,
    )
    register_menu(
        "equipment.campaign",
        label=_("City-wide campaign"),
        url_name="equipment:campaign",
        domain="equipment",
        order=44,
    )
