"""Unified command's figures: open and overdue work orders."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from eventguard.core.figures import register

from . import selectors


def _work_url(event, query: str) -> str:
    return reverse("command:work_order_list", args=[event.code]) + query


register(
    "command.open_work_orders",
    label=_("Open work orders"),
    compute=selectors.open_work_count,
    records_url=lambda event: _work_url(event, "?state=open"),
    order=720,
)
register(
    "command.overdue_work_orders",
    label=_("Overdue work orders"),
    compute=selectors.overdue_work_count,
    records_url=lambda event: _work_url(event, "?overdue=true"),
    order=721,
)
