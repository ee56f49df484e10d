"""Figures of dual prevention: open and overdue hidden dangers."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from eventguard.core.figures import register

from . import selectors


def _hazard_list(event, query: str) -> str:
    return reverse("hazards:hazard_list", args=[event.code]) + query


register(
    "hazards.open",
    label=_("Open hidden dangers"),
    compute=selectors.open_count,
    records_url=lambda event: _hazard_list(event, "?open=true"),
    order=90,
)
register(
    "hazards.overdue",
    label=_("Overdue hidden dangers"),
    compute=selectors.overdue_count,
    records_url=lambda event: _hazard_list(event, "?overdue=true"),
    order=91,
)
