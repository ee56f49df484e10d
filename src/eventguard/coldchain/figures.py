"""The cold-chain figures of REFERENCE-SCENARIO.md section 1, computed from the records.

Each links to the list of exactly the records it counts.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from eventguard.core.figures import register, shared

from . import selectors


def _boxes_url(query: str):
    return lambda event: reverse("coldchain:box_list", args=[event.code]) + query


def _values(event) -> dict:
    """The cold-chain figures are read together, once per report."""
    return shared(("coldchain", event.pk), lambda: selectors.figure_values(event))


def _count(key: str):
    return lambda event: _values(event)[key]


def _date(key: str):
    def compute(event):
        value = selectors.local_date(event, _values(event)[key])
        return value.isoformat() if value else None

    return compute


FIGURES = [
    (
        "coldchain.exhibitors",
        _("Exhibitors that shipped cold-chain exhibits to the warehouse"),
        _count("exhibitors"),
        lambda event: reverse("coldchain:exhibitor_list", args=[event.code]) + "?received=true",
    ),
    (
        "coldchain.boxes_received",
        _("Boxes received at the central warehouse"),
        _count("received"),
        _boxes_url("?received=true"),
    ),
    (
        "coldchain.boxes_cleared_negative",
        _("Boxes cleared with negative NAT results (outer carton and smallest package)"),
        _count("cleared"),
        _boxes_url("?cleared=true"),
    ),
    (
        "coldchain.boxes_positive",
        _("Boxes with a positive NAT result"),
        _count("positive"),
        _boxes_url("?positive=true"),
    ),
    (
        "coldchain.boxes_entered_venue",
        _("Boxes entered the venue"),
        _count("entered"),
        _boxes_url("?entered=true"),
    ),
    (
        "coldchain.boxes_entered_on_time",
        _("Boxes entered the venue before the entry deadline"),
        _count("on_time"),
        _boxes_url("?on_time=true"),
    ),
    (
        "coldchain.first_warehouse_entry",
        _("First batch entered the central warehouse"),
        _date("first_entry"),
        _boxes_url("?received=true&sort=received_at"),
    ),
    (
        "coldchain.last_venue_entry",
        _("Last box entered the venue"),
        _date("last_entry"),
        _boxes_url("?entered=true&sort=-entered_at"),
    ),
]

for order, (key, label, compute, records_url) in enumerate(FIGURES):
    register(key, label=label, compute=compute, records_url=records_url, order=100 + order)
