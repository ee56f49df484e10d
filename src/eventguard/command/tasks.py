"""Periodic work of unified command, run by every `eventguard worker` at once, safely:
escalation steps, overdue work orders and webhook and e-mail deliveries are claimed with
``SELECT ... FOR UPDATE SKIP LOCKED`` (on SQLite the write transaction serialises the
workers), an overdue notice is set only where none is yet, and a delivery being sent is
leased by pushing its next attempt forward."""

from __future__ import annotations

import logging

from . import services

logger = logging.getLogger(__name__)


def run_due() -> int:
    """Escalate and remind what is due, start chains of alarms that have none, tell people of
    work orders past their deadline, send due webhook and e-mail deliveries. Returns how
    many steps were taken."""
    done = 0
    for task in (
        services.escalations_adopt,
        services.escalations_due,
        services.work_orders_overdue,
        services.webhooks_deliver_due,
        services.emails_deliver_due,
    ):
        try:
            done += task()
        except Exception:
            logger.exception("command task %s failed", task.__name__)
    return done
