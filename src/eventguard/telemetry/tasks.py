"""Periodic work of the telemetry app: housekeeping of the dead-letter store.

Safe with several workers at once: deleting rows that are already gone deletes nothing.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from . import services

DEAD_LETTER_KEEP_DAYS = 90


def purge_dead_letters(*, now: dt.datetime | None = None) -> int:
    before = (now or timezone.now()) - dt.timedelta(days=DEAD_LETTER_KEEP_DAYS)
    return services.dead_letters_purge(actor=None, before=before)
