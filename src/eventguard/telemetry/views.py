"""The telemetry pages: the devices of an event and the messages refused from them."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from eventguard.alerts.forms import parse_filters
from eventguard.core.web import event_view, list_context

from . import selectors
from .contract import Reason
from .models import DeviceKind

PAGE_SIZE = 50


@event_view
def device_list(request, event):
    filters, filter_errors = parse_filters(selectors.DeviceFilters, request.GET)
    devices = selectors.device_list(user=request.user, event=event, filters=filters)
    page = Paginator(devices, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    for device in page:
        device.status = selectors.device_status(device, now)
    context = list_context(
        request,
        page,
        filters,
        filter_errors,
        event=event,
        kinds=DeviceKind.choices,
        statuses=[
            ("online", _("Online")),
            ("offline", _("Offline")),
            ("never_seen", _("Never heard from")),
            ("inactive", _("Deactivated")),
        ],
        may_see_dead_letters=selectors.may_view_monitoring(request.user, event),
    )
    return render(request, "telemetry/device_list.html", context)


@event_view
def dead_letter_list(request, event):
    if not selectors.may_view_monitoring(request.user, event):
        raise PermissionDenied(_("The dead-letter store is for the monitoring domain."))
    filters, filter_errors = parse_filters(selectors.DeadLetterFilters, request.GET)
    letters = selectors.dead_letter_list(user=request.user, event=event, filters=filters)
    page = Paginator(letters, PAGE_SIZE).get_page(request.GET.get("page"))
    context = list_context(
        request, page, filters, filter_errors, event=event, reasons=Reason.choices
    )
    return render(request, "telemetry/dead_letter_list.html", context)
