"""The bulk statements of the ingest service, for PostgreSQL and SQLite.

Used only by ``services.telemetry_ingest``, inside its transaction. On PostgreSQL
messages go in with COPY (psycopg 3) and devices are updated by one ``UPDATE ...
FROM (VALUES ...)``; on SQLite with ``executemany``. A batch is written optimistically;
when the unique key (device, seq) or the database refuses a row, the batch's savepoint
is rolled back and the rows are sorted out one by one: the duplicates and refused rows
are reported, the rest written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import DataError, IntegrityError, connection, transaction

MESSAGE_TABLE = "telemetry_telemetrymessage"
DEVICE_TABLE = "telemetry_device"
TALLY_TABLE = "telemetry_ingesttally"
MESSAGE_COLUMNS = ("event_id", "device_id", "seq", "kind", "ts", "received_at", "value", "payload")

# (event_id, device_id, seq, kind, ts, received_at, value, payload JSON text)
MessageRow = tuple[int, int, int, str, dt.datetime, dt.datetime, float | None, str]


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _sqlite_dt(value: dt.datetime | None):
    """A UTC datetime as Django stores it in SQLite (naive UTC, ISO with a space)."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")


def _copy_messages(rows: Sequence[MessageRow]) -> None:
    columns = ", ".join(MESSAGE_COLUMNS)
    with connection.cursor() as cursor, connection.wrap_database_errors:
        # psycopg's own cursor: Django's wrapper has no COPY; errors are wrapped as Django's.
        with cursor.cursor.copy(f"COPY {MESSAGE_TABLE} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _executemany_messages(rows: Sequence[MessageRow]) -> None:
    columns = ", ".join(MESSAGE_COLUMNS)
    marks = ", ".join(["%s"] * len(MESSAGE_COLUMNS))
    converted = [
        (e, d, s, k, _sqlite_dt(ts), _sqlite_dt(rec), v, p) for e, d, s, k, ts, rec, v, p in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {MESSAGE_TABLE} ({columns}) VALUES ({marks})", converted)


def _write(rows: Sequence[MessageRow]) -> None:
    if is_postgresql():
        _copy_messages(rows)
    else:
        _executemany_messages(rows)


def existing_payloads(keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], dict]:
    """The stored payloads of (device_id, seq) keys that are already stored."""
    from .models import TelemetryMessage

    found: dict[tuple[int, int], dict] = {}
    by_device: dict[int, list[int]] = {}
    for device_id, seq in keys:
        by_device.setdefault(device_id, []).append(seq)
    for device_id, seqs in by_device.items():
        for start in range(0, len(seqs), 500):
            for seq, payload in TelemetryMessage.objects.filter(
                device_id=device_id, seq__in=seqs[start : start + 500]
            ).values_list("seq", "payload"):
                found[(device_id, seq)] = payload
    return found


def insert_messages(rows: Sequence[MessageRow]) -> tuple[list[int], list[int], list[int]]:
    """Write ``rows``; returns the positions of the rows written, of those whose
    (device, seq) was already stored, and of those the database refused."""
    if not rows:
        return [], [], []
    try:
        with transaction.atomic():
            _write(rows)
        return list(range(len(rows))), [], []
    except IntegrityError:
        pass
    except DataError:
        pass
    return _insert_carefully(rows)


def _insert_carefully(rows: Sequence[MessageRow]) -> tuple[list[int], list[int], list[int]]:
    stored = existing_payloads([(r[1], r[2]) for r in rows])
    conflicts = [i for i, r in enumerate(rows) if (r[1], r[2]) in stored]
    fresh = [i for i, r in enumerate(rows) if (r[1], r[2]) not in stored]
    try:
        with transaction.atomic():
            _write([rows[i] for i in fresh])
        return fresh, conflicts, []
    except (IntegrityError, DataError):
        pass
    # A row the database refuses (or a concurrent writer): one savepoint per row.
    written, refused = [], []
    for i in fresh:
        try:
            with transaction.atomic():
                _write([rows[i]])
            written.append(i)
        except IntegrityError:
            conflicts.append(i)
        except DataError:
            refused.append(i)
    return written, sorted(conflicts), refused


def lock_devices(ids: Sequence[int]) -> dict[int, dict]:
    """The devices' current state, locked (in id order, so that workers never deadlock)
    until the transaction ends."""
    from .models import Device

    fields = (
        "pk",
        "event_id",
        "code",
        "kind",
        "is_active",
        "subject_type",
        "subject_id",
        "subject_name",
        "domain",
        "zone_id",
        "unit_id",
        "offline_after",
        "last_seq",
        "rule_state",
    )
    qs = Device.objects.filter(pk__in=sorted(ids)).order_by("pk").values(*fields)
    if is_postgresql():
        qs = qs.select_for_update()
    return {row["pk"]: row for row in qs}


# (id, last_seen_at, stale_at, last_seq, latest JSON text or None, latest_at, rule_state JSON)
DeviceUpdate = tuple[int, dt.datetime, dt.datetime, int | None, str | None, dt.datetime | None, str]


def update_devices(updates: Sequence[DeviceUpdate]) -> None:
    """Write the devices' new state; ``latest`` None keeps the stored one."""
    if not updates:
        return
    if is_postgresql():
        values = ", ".join(
            [
                "(%s::bigint, %s::timestamptz, %s::timestamptz, %s::bigint, %s::jsonb, "
                "%s::timestamptz, %s::jsonb)"
            ]
            * len(updates)
        )
        params = [p for row in updates for p in row]
        sql = (
            f"UPDATE {DEVICE_TABLE} AS d SET last_seen_at = v.seen, stale_at = v.stale, "
            "last_seq = COALESCE(v.last_seq, d.last_seq), latest = COALESCE(v.latest, d.latest), "
            "latest_at = COALESCE(v.latest_at, d.latest_at), rule_state = v.rule_state "
            f"FROM (VALUES {values}) "
            "AS v(id, seen, stale, last_seq, latest, latest_at, rule_state) WHERE d.id = v.id"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return
    converted = [
        (
            _sqlite_dt(seen),
            _sqlite_dt(stale),
            last_seq,
            latest,
            _sqlite_dt(latest_at),
            rule_state,
            pk,
        )
        for pk, seen, stale, last_seq, latest, latest_at, rule_state in updates
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {DEVICE_TABLE} SET last_seen_at = %s, stale_at = %s, "
            "last_seq = COALESCE(%s, last_seq), latest = COALESCE(%s, latest), "
            "latest_at = COALESCE(%s, latest_at), rule_state = %s WHERE id = %s",
            converted,
        )


def add_to_tally(event_id: int, hour: dt.datetime, stored: int, duplicates: int) -> None:
    value = hour if is_postgresql() else _sqlite_dt(hour)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TALLY_TABLE} (event_id, hour, stored, duplicates) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (event_id, hour) DO UPDATE SET "
            f"stored = {TALLY_TABLE}.stored + excluded.stored, "
            f"duplicates = {TALLY_TABLE}.duplicates + excluded.duplicates",
            [event_id, value, stored, duplicates],
        )
