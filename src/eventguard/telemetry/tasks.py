"""Periodic work of the telemetry app: the database upkeep of the ingest, and housekeeping
of the dead-letter store.

Safe with several workers at once: deleting rows that are already gone deletes nothing, and
a vacuum that another worker is running is skipped.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.utils import timezone

from . import services
from .models import Device

DEAD_LETTER_KEEP_DAYS = 90


def purge_dead_letters(*, now: dt.datetime | None = None) -> int:
    before = (now or timezone.now()) - dt.timedelta(days=DEAD_LETTER_KEEP_DAYS)
    return services.dead_letters_purge(actor=None, before=before)


def ingest_upkeep() -> None:
    """Run by every worker about once a second, outside any transaction.

    PostgreSQL: every batch rewrites the state of each device it heard from, so the device
    table collects a dead row version per device and batch, far faster than autovacuum
    (which looks once a minute) removes them; measured with 800 devices, the table grew
    tenfold within two minutes and the batch's update of the devices took three times as
    long. A vacuum of this small table every second keeps it at its size (milliseconds;
    SKIP_LOCKED: a worker never waits for another's vacuum).

    SQLite: the ingest's commits leave the write-ahead log to this checkpoint (passive:
    it never blocks a writer), see ``IngestWorker._tune_sqlite``.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"VACUUM (SKIP_LOCKED, TRUNCATE false) {Device._meta.db_table}")
        elif connection.vendor == "sqlite":
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
