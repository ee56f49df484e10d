"""Periodic work of special equipment: thin, idempotent wrappers around the services, safe to
run in several workers at once (a patrol is unique per equipment and window)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from eventguard.core.models import Event

from . import services


def plan_patrols_ahead(*, days_ahead: int = 1, today: dt.date | None = None) -> int:
    """Plan today's and the next ``days_ahead`` days' patrols of every event open on them."""
    today = today or timezone.localdate()
    last = today + dt.timedelta(days=days_ahead)
    planned = 0
    for event in Event.objects.filter(opening__lte=last, closing__gte=today):
        days = [d for d in services.event_days(event) if today <= d <= last]
        if days:
            planned += services.patrol_plan_generate(actor=None, event=event, days=days)
    return planned
