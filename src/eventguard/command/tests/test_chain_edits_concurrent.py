"""Two commanders editing the same escalation chain at once: the edit that waited starts
from the chain the first one saved, not from the default chain."""

import threading
import time

import pytest
from django.db import connection, transaction

from eventguard.command import services
from eventguard.command.models import EscalationLevel
from eventguard.core.testing import make_member

LEVELS = [
    {"target": "post_staff", "ack_within_seconds": 60, "remind_every_seconds": 60},
    {"target": "commander", "ack_within_seconds": 300, "remind_every_seconds": 90},
]


def _waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        # Inside a transaction pg_stat_activity is read once and kept: clear that copy.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_level_added_while_another_is_changed_keeps_both_edits(event):
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite serialises the writers)")
    first, second = make_member(event, "commander"), make_member(event, "commander")
    services.escalation_chain_set(actor=first, event=event, severity="critical", levels=LEVELS)
    errors = []

    def add_a_level():
        try:
            services.escalation_level_add(
                actor=second,
                event=event,
                severity="critical",
                level=3,
                target="zone_supervisor",
                ack_within_seconds=120,
                remind_every_seconds=120,
            )
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    with transaction.atomic():
        services.escalation_level_update(
            actor=first,
            event=event,
            severity="critical",
            level=1,
            target="post_staff",
            ack_within_seconds=30,
            remind_every_seconds=60,
        )
        adder = threading.Thread(target=add_a_level)
        adder.start()
        deadline = time.monotonic() + 30
        while _waiting_on_a_lock() == 0 and adder.is_alive():
            assert time.monotonic() < deadline, "the second edit never came to wait"
            time.sleep(0.01)
        # The second edit now waits for the first to commit.
    adder.join()

    assert errors == []
    chain = [
        (x.level, x.target, x.ack_within_seconds)
        for x in EscalationLevel.objects.filter(event=event, severity="critical").order_by("level")
    ]
    assert chain == [(1, "post_staff", 30), (2, "commander", 300), (3, "zone_supervisor", 120)]
