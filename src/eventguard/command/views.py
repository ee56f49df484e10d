"""The unified-command pages: work orders, the dispatch form, the command dashboard and its
live data, the in-app feed as server-sent events.

Thin views: parse, call one selector or service, render."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from eventguard.alerts.forms import parse_filters
from eventguard.alerts.selectors import alarm_detail_queryset, person_in_event
from eventguard.core.access import get_scoped_or_404
from eventguard.core.servicekit import error_dict
from eventguard.core.web import add_service_errors, event_view

from . import dashboard, selectors, services
from .forms import DispatchForm, PreferenceForm, StepForm
from .models import Channel

PAGE_SIZE = 50


def _refuse(request, exc: Exception) -> None:
    if isinstance(exc, ValidationError):
        for msgs in error_dict(exc).values():
            for message in msgs:
                messages.error(request, message)
    else:
        messages.error(request, str(exc))


@event_view
def work_order_list(request, event):
    filters, filter_errors = parse_filters(selectors.WorkOrderFilters, request.GET)
    orders = selectors.work_order_list(user=request.user, event=event, filters=filters)
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    for work in page:
        work.overdue = selectors.is_overdue(work, now)
        work.age = (work.finished_at or now) - work.dispatched_at
    return render(
        request,
        "command/work_order_list.html",
        {"event": event, "page": page, "filters": filters, "filter_errors": filter_errors},
    )


@event_view
def work_order_detail(request, event, pk: int):
    work = get_scoped_or_404(
        request.user, selectors.work_order_detail_queryset(request.user), event=event, pk=pk
    )
    work.overdue = selectors.is_overdue(work)
    return render(
        request,
        "command/work_order_detail.html",
        {
            "event": event,
            "work": work,
            "actions": services.actions_for(request.user, work),
            "form": StepForm(),
        },
    )


@event_view
@require_POST
def work_order_step(request, event, pk: int, action: str):
    work = get_scoped_or_404(
        request.user, selectors.work_order_detail_queryset(request.user), event=event, pk=pk
    )
    form = StepForm(request.POST, request.FILES)
    form.is_valid()
    try:
        services.work_order_transition(
            actor=request.user,
            work_order=work,
            action=action,
            note=form.cleaned_data.get("note", ""),
            photos=request.FILES.getlist("photos"),
        )
    except (ValidationError, PermissionDenied) as exc:
        _refuse(request, exc)
    return redirect("command:work_order_detail", event.code, work.pk)


@event_view
def work_order_dispatch(request, event, alarm_pk: int):
    alarm = get_scoped_or_404(
        request.user, alarm_detail_queryset(request.user), event=event, pk=alarm_pk
    )
    suggested = selectors.on_post_now(alarm)
    form = DispatchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            assignee = (
                person_in_event(event, data["assignee"].strip())
                if data["assignee"].strip()
                else None
            )
            work = services.work_order_dispatch(
                actor=request.user,
                alarm=alarm,
                assignee=assignee,
                deadline=timezone.now() + dt.timedelta(minutes=data["deadline_minutes"]),
                instructions=data["instructions"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Work order %(id)s dispatched.") % {"id": work.pk})
            return redirect("alerts:alarm_detail", event.code, alarm.pk)
    return render(
        request,
        "command/dispatch.html",
        {"event": event, "alarm": alarm, "form": form, "suggested": suggested},
    )


# ---------------------------------------------------------------- dashboard and feed


@event_view
def dashboard_page(request, event):
    return render(
        request,
        "command/dashboard.html",
        {"event": event, "live_url": reverse("command:dashboard_data", args=[event.code])},
    )


@event_view
def dashboard_data(request, event):
    with_figures = request.GET.get("figures", "1") != "0"
    return JsonResponse(
        dashboard.snapshot(user=request.user, event=event, with_figures=with_figures)
    )


FEED_SECONDS = 25


@event_view
def feed_stream(request, event):
    """The person's feed as server-sent events; the browser reconnects by itself and says
    where it stopped (``Last-Event-ID``)."""
    try:
        after = int(request.headers.get("Last-Event-ID") or request.GET.get("after") or 0)
    except ValueError:
        after = 0
    user = request.user

    async def events():
        # An asynchronous stream: under the ASGI server each line leaves as it is written.
        nonlocal after
        yield "retry: 1000\n\n"
        ends = time.monotonic() + FEED_SECONDS
        read = sync_to_async(selectors.feed, thread_sensitive=True)
        while time.monotonic() < ends:
            for item in await read(user=user, event=event, after=after):
                after = item.pk
                data = {
                    "id": item.pk,
                    "kind": item.kind,
                    "severity": item.severity,
                    "title": item.title,
                    "body": item.body,
                    "url": item.url,
                    "at": item.created_at.isoformat(),
                }
                body = json.dumps(data, ensure_ascii=False)
                yield f"id: {item.pk}\nevent: notification\ndata: {body}\n\n"
            await asyncio.sleep(1.0)
            yield ": keep-alive\n\n"

    response = StreamingHttpResponse(events(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


@event_view
def feed_page(request, event):
    return render(
        request,
        "command/feed.html",
        {
            "event": event,
            "items": list(reversed(selectors.feed(user=request.user, event=event))),
            "stream_url": reverse("command:feed_stream", args=[event.code]),
        },
    )


@event_view
def preferences_page(request, event):
    """The person's own choice, channel by channel, of what reaches them."""
    current = {p.channel: p for p in selectors.preferences(user=request.user, event=event)}
    forms = []
    for channel, label in Channel.choices:
        pref = current.get(channel)
        initial = (
            {"enabled": pref.enabled, "severities": pref.severities, "domains": pref.domains}
            if pref
            else {"enabled": True}
        )
        data = request.POST if request.method == "POST" else None
        forms.append((channel, label, PreferenceForm(data, prefix=channel, initial=initial)))
    if request.method == "POST" and all(f.is_valid() for _c, _l, f in forms):
        try:
            for channel, _label, form in forms:
                services.notification_preference_set(
                    actor=request.user, event=event, channel=channel, **form.cleaned_data
                )
        except (ValidationError, PermissionDenied) as exc:
            _refuse(request, exc)
        else:
            messages.success(request, _("Your notification settings are saved."))
            return redirect("command:preferences", event.code)
    chains = selectors.escalation_chains(user=request.user, event=event)
    return render(
        request,
        "command/preferences.html",
        {"event": event, "forms": forms, "chains": chains},
    )


@event_view
def statistics_page(request, event):
    by = request.GET.get("by", "severity")
    if by not in selectors.STAT_GROUPS:
        by = "severity"
    return render(
        request,
        "command/statistics.html",
        {
            "event": event,
            "by": by,
            "groups": [("severity", _("Severity")), ("rule", _("Rule")), ("zone", _("Zone"))],
            "rows": selectors.alarm_statistics(user=request.user, event=event, by=by),
        },
    )
