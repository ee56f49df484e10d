"""The unified-command pages: work orders, the dispatch form, the command dashboard and its
live data, the in-app feed as server-sent events, the command settings (escalation chains,
webhooks and their delivery log).

Thin views: parse, call one selector or service, render."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connection as db_connection
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from eventguard.alerts.forms import parse_filters
from eventguard.alerts.models import Severity
from eventguard.alerts.selectors import alarm_detail_queryset, person_in_event
from eventguard.core.access import get_scoped_or_404
from eventguard.core.models import Domain
from eventguard.core.servicekit import error_dict
from eventguard.core.web import add_service_errors, event_view

from . import dashboard, selectors, services
from .forms import DispatchForm, EscalationLevelForm, PreferenceForm, StepForm, WebhookForm
from .models import Channel, DeliveryState, Webhook, WebhookDelivery

PAGE_SIZE = 50

logger = logging.getLogger(__name__)


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
    # The rows show the assignee only: no join of the alarm, the hidden danger and the rest.
    orders = orders.select_related(None).select_related("assignee")
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
    """The live data; ``?figures=0`` leaves out the figures and the funnel, ``?layout=V``
    (the layout version the page holds, 1 when it has none) adds the halls' layout when it
    is not V (docs/command.md describes the answer)."""
    with dashboard.after_answer() as pending:
        data = dashboard.snapshot(
            user=request.user,
            event=event,
            with_figures=request.GET.get("figures", "1") != "0",
            layout_held=request.GET.get("layout"),
        )
    # The layout comes already encoded (hundreds of kilobytes, the same for many people).
    return _ThenRun(dashboard.encode(data), content_type="application/json", then=pending)


class _ThenRun(HttpResponse):
    """A response that runs ``then`` (callables) once the server has sent it: the server
    closes a response when it is done with it."""

    def __init__(self, *args, then: list, **kwargs):
        super().__init__(*args, **kwargs)
        self._then = then

    def close(self) -> None:
        then, self._then = self._then, []
        try:
            super().close()
        finally:
            for run in then:
                try:
                    run()
                except Exception:  # the others still run; the answer is already sent
                    logger.exception("running %r after an answer failed", run)


FEED_SECONDS = 25


def _feed_read(**kwargs) -> list:
    """One read of a person's feed. With a pool (the server on PostgreSQL) the connection is
    given back between reads, so that an open stream does not hold one for its whole
    length."""
    try:
        return list(selectors.feed(**kwargs))
    finally:
        pooled = db_connection.settings_dict.get("OPTIONS", {}).get("pool")
        if pooled and not db_connection.in_atomic_block:
            db_connection.close()


@event_view
def feed_stream(request, event):
    """The person's feed as server-sent events; the browser reconnects by itself and says
    where it stopped (``Last-Event-ID``)."""
    try:
        after = int(request.headers.get("Last-Event-ID") or request.GET.get("after") or 0)
    except ValueError:
        after = 0
    user = request.user
    language = translation.get_language()  # titles are put into words in the reader's

    async def events():
        # An asynchronous stream: under the ASGI server each line leaves as it is written.
        nonlocal after
        yield "retry: 1000\n\n"
        ends = time.monotonic() + FEED_SECONDS
        read = sync_to_async(_feed_read, thread_sensitive=True)
        while time.monotonic() < ends:
            for item in await read(user=user, event=event, after=after):
                after = item.pk
                with translation.override(language):
                    title, body = item.title_text, item.body_text
                data = {
                    "id": item.pk,
                    "kind": item.kind,
                    "severity": item.severity,
                    "title": title,
                    "body": body,
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
        {
            "event": event,
            "forms": forms,
            "chains": chains,
            "settings_visible": selectors.command_settings_visible(request.user, event),
        },
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


# ---------------------------------------------------------------- command settings


def _duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(_("%(n)s h") % {"n": hours})
    if minutes:
        parts.append(_("%(n)s min") % {"n": minutes})
    if secs or not parts:
        parts.append(_("%(n)s s") % {"n": secs})
    return " ".join(parts)


def _settings_access(request, event, *, change: bool = False) -> bool:
    """Refuse people who may not read the command settings (or change them, for a form);
    return whether they may change them."""
    if not selectors.command_settings_visible(request.user, event):
        raise PermissionDenied(_("You may not view the command settings of this event."))
    editable = selectors.command_settings_editable(request.user, event)
    if change and not editable:
        raise PermissionDenied(
            _("Only the event's commanders and administrators may change %(what)s.")
            % {"what": _("command settings")}
        )
    return editable


def _severity_or_404(severity: str) -> str:
    if severity not in Severity.values:
        raise Http404(_("No such severity."))
    return severity


@event_view
def settings_home(request, event):
    return redirect("command:escalation_chains", event.code)


@event_view
def escalation_chains(request, event):
    editable = _settings_access(request, event)
    table = selectors.escalation_chain_table(user=request.user, event=event)
    for chain in table:
        for level in chain["levels"]:
            level.ack_text = _duration(level.ack_within_seconds)
            level.remind_text = _duration(level.remind_every_seconds)
    return render(
        request,
        "command/escalation_chains.html",
        {"event": event, "table": table, "editable": editable, "tab": "escalation"},
    )


def _chain_levels(request, event, severity: str) -> list:
    for chain in selectors.escalation_chain_table(user=request.user, event=event):
        if chain["severity"] == severity:
            return chain["levels"]
    return []


@event_view
def escalation_level_form(request, event, severity: str, level: int | None = None):
    """Add a level to a chain (``level`` None) or change one."""
    _settings_access(request, event, change=True)
    severity = _severity_or_404(severity)
    levels = _chain_levels(request, event, severity)
    adding = level is None
    if adding:
        initial = {
            "level": len(levels) + 1,
            "ack_within_seconds": 300,
            "remind_every_seconds": 300,
        }
    else:
        if not 1 <= level <= len(levels):
            raise Http404(_("The chain has no level %(n)s.") % {"n": level})
        current = levels[level - 1]
        initial = {
            "target": current.target,
            "ack_within_seconds": current.ack_within_seconds,
            "remind_every_seconds": current.remind_every_seconds,
        }
    form = EscalationLevelForm(request.POST or None, initial=initial, adding=adding)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if adding:
                services.escalation_level_add(
                    actor=request.user, event=event, severity=severity, **data
                )
            else:
                services.escalation_level_update(
                    actor=request.user, event=event, severity=severity, level=level, **data
                )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The escalation chain is saved."))
            return redirect(
                reverse("command:escalation_chains", args=[event.code]) + f"#chain-{severity}"
            )
    label = Severity(severity).label
    title = (
        _("Add a level to the %(severity)s chain") % {"severity": label}
        if adding
        else _("Level %(n)s of the %(severity)s chain") % {"n": level, "severity": label}
    )
    return render(
        request,
        "core/form.html",
        {
            "event": event,
            "form": form,
            "title": title,
            "intro": _("Times are in seconds, at least 10."),
            "submit_label": _("Save"),
            "cancel_url": reverse("command:escalation_chains", args=[event.code]),
        },
    )


@event_view
@require_POST
def escalation_level_move(request, event, severity: str, level: int):
    severity = _severity_or_404(severity)
    try:
        to = int(request.POST.get("to", ""))
    except ValueError:
        to = 0
    try:
        services.escalation_level_move(
            actor=request.user, event=event, severity=severity, level=level, to=to
        )
    except ValidationError as exc:
        _refuse(request, exc)
    return redirect(reverse("command:escalation_chains", args=[event.code]) + f"#chain-{severity}")


@event_view
@require_POST
def escalation_level_remove(request, event, severity: str, level: int):
    severity = _severity_or_404(severity)
    try:
        services.escalation_level_remove(
            actor=request.user, event=event, severity=severity, level=level
        )
    except ValidationError as exc:
        _refuse(request, exc)
    else:
        messages.success(request, _("Level %(n)s removed.") % {"n": level})
    return redirect(reverse("command:escalation_chains", args=[event.code]) + f"#chain-{severity}")


@event_view
def webhook_list(request, event):
    editable = _settings_access(request, event)
    hooks = list(selectors.webhook_overview(user=request.user, event=event))
    severity_labels, domain_labels = dict(Severity.choices), dict(Domain.choices)
    for hook in hooks:
        hook.severity_labels = [severity_labels.get(s, s) for s in hook.severities]
        hook.domain_labels = [domain_labels.get(d, d) for d in hook.domains]
        hook.url_shown = selectors.webhook_url_shown(request.user, hook, editable=editable)
    return render(
        request,
        "command/webhook_list.html",
        {
            "event": event,
            "hooks": hooks,
            "editable": editable,
            "tab": "webhooks",
        },
    )


def _hook(request, event, pk: int) -> Webhook:
    return get_scoped_or_404(request.user, Webhook, event=event, pk=pk)


def _secret_page(request, event, hook: Webhook, *, created: bool):
    # Shown in this answer only: not kept in the session, not shown again.
    response = render(
        request,
        "command/webhook_secret.html",
        {"event": event, "hook": hook, "created": created, "tab": "webhooks"},
    )
    response["Cache-Control"] = "no-store"
    return response


@event_view
def webhook_form(request, event, pk: int | None = None):
    """Create a webhook (``pk`` None) or change one."""
    _settings_access(request, event, change=True)
    hook = _hook(request, event, pk) if pk is not None else None
    initial = (
        {"name": hook.name, "url": hook.url, "severities": hook.severities, "domains": hook.domains}
        if hook
        else {}
    )
    form = WebhookForm(request.POST or None, initial=initial, creating=hook is None)
    if request.method == "POST" and form.is_valid():
        try:
            if hook is None:
                hook = services.webhook_create(actor=request.user, event=event, **form.cleaned_data)
                return _secret_page(request, event, hook, created=True)
            services.webhook_update(actor=request.user, webhook=hook, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Webhook %(name)s is saved.") % {"name": hook.name})
            return redirect("command:webhook_list", event.code)
    return render(
        request,
        "core/form.html",
        {
            "event": event,
            "form": form,
            "title": _("Add a webhook") if hook is None else hook.name,
            "intro": _(
                "Alarms and their clearing are posted to this address as JSON, signed with "
                "HMAC-SHA256 in the X-EventGuard-Signature header."
            ),
            "submit_label": _("Save"),
            "cancel_url": reverse("command:webhook_list", args=[event.code]),
        },
    )


@event_view
@require_POST
def webhook_active(request, event, pk: int):
    hook = _hook(request, event, pk)
    active = request.POST.get("active") == "1"
    services.webhook_set_active(actor=request.user, webhook=hook, active=active)
    messages.success(
        request,
        (_("Webhook %(name)s is active again.") if active else _("Webhook %(name)s is paused."))
        % {"name": hook.name},
    )
    return redirect("command:webhook_list", event.code)


@event_view
@require_POST
def webhook_rotate(request, event, pk: int):
    hook = services.webhook_secret_rotate(actor=request.user, webhook=_hook(request, event, pk))
    return _secret_page(request, event, hook, created=False)


@event_view
def webhook_deliveries(request, event, pk: int):
    editable = _settings_access(request, event)
    hook = _hook(request, event, pk)
    hook.url_shown = selectors.webhook_url_shown(request.user, hook, editable=editable)
    page = Paginator(selectors.delivery_list(user=request.user, webhook=hook), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    now = timezone.now()
    for delivery in page:
        delivery.sending = delivery.in_flight(now)
        delivery.log = [
            {
                "at": parse_datetime(a.get("at") or ""),
                "status": a.get("status"),
                "error": a.get("error", ""),
            }
            for a in delivery.attempts
        ]
    return render(
        request,
        "command/webhook_deliveries.html",
        {
            "event": event,
            "hook": hook,
            "page": page,
            "editable": editable,
            "tab": "webhooks",
            "delivered": DeliveryState.DELIVERED,
        },
    )


@event_view
@require_POST
def webhook_delivery_retry(request, event, pk: int, delivery_pk: int):
    hook = _hook(request, event, pk)
    delivery = get_scoped_or_404(
        request.user, WebhookDelivery, event=event, webhook=hook, pk=delivery_pk
    )
    try:
        services.webhook_delivery_retry(actor=request.user, delivery=delivery)
    except ValidationError as exc:
        _refuse(request, exc)
    else:
        messages.success(
            request,
            _("Delivery %(id)s is due now: the worker posts it in its next round.")
            % {"id": delivery.pk},
        )
    return redirect("command:webhook_deliveries", event.code, hook.pk)
