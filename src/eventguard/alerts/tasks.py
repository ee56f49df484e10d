"""Periodic work of the alerts app, run by every `eventguard worker` at once, safely.

Each due time rule is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL; on
SQLite the write transaction serialises the workers), evaluated, and given its next run
time in the same transaction, so that two workers never evaluate one rule at the same
time and a rule evaluated by one is not due for the other. The unique key on open alarms
(``alerts_alarm_unique_open_rule_subject``) stands behind that.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from . import services
from .models import Rule

logger = logging.getLogger(__name__)


def _claim(now: dt.datetime) -> Rule | None:
    return (
        services.timed_rules_due(now)
        .select_for_update(skip_locked=True, no_key=True)
        .select_related("event")
        .order_by("next_run_at", "pk")
        .first()
    )


def run_due_rules(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    """Evaluate every time rule that is due; returns how many ran."""
    ran = 0
    failed: set[int] = set()
    while ran < limit:
        at = now or timezone.now()
        rule = None
        try:
            with transaction.atomic():
                rule = _claim(at)
                if rule is None or rule.pk in failed:
                    break
                services.rule_evaluate_timed(rule=rule, now=at)
                rule.next_run_at = at + dt.timedelta(seconds=rule.interval_seconds)
                rule.save(update_fields=["next_run_at"])
        except Exception:
            # A condition that fails must not hold up the others: try it again next time.
            logger.exception("time rule %s failed", rule.code if rule else "?")
            if rule is None:
                raise
            failed.add(rule.pk)
            Rule.objects.filter(pk=rule.pk).update(
                next_run_at=at + dt.timedelta(seconds=rule.interval_seconds)
            )
        ran += 1
    return ran
