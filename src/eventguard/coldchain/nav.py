"""The cold-chain entries of the main menu, and the box as a subject of devices and alarms."""

from django.utils.translation import gettext_lazy as _

from eventguard.core import subjects
from eventguard.core.nav import register_menu


def register_entries() -> None:
    register_menu(
        "coldchain",
        label=_("Cold chain"),
        url_name="coldchain:overview",
        domain="coldchain",
        order=50,
    )
    register_menu(
        "coldchain.boxes",
        label=_("Boxes"),
        url_name="coldchain:box_list",
        domain="coldchain",
        order=51,
    )
    # The venue gate is the staff's (an exhibitor would be refused): the overview links it.
    register_menu(
        "coldchain.consignments",
        label=_("Consignments"),
        url_name="coldchain:consignment_list",
        domain="coldchain",
        order=52,
    )
    subjects.register(
        "coldchain.box",
        verbose_name=_("box"),
        domain="coldchain",
        zone=None,
        unit="consignment__exhibitor",
        device_kind=lambda box: "temperature_logger",
        sample=0.02,
        url=_box_url,
    )


def _box_url(box) -> str:
    from django.urls import reverse

    return reverse("coldchain:box_detail", args=[box.event.code, box.code])
