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
import json
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
    """A datetime as Django stores it in SQLite (naive UTC, ISO with a space)."""
    if value is None:
        return None
    if value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    return value.replace(tzinfo=None).isoformat(" ")


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
    received = {}  # one received_at for a whole batch: convert it once
    converted = []
    for e, d, s, k, ts, rec, v, p in rows:
        at = received.get(rec)
        if at is None:
            at = received[rec] = _sqlite_dt(rec)
        converted.append((e, d, s, k, _sqlite_dt(ts), at, v, p))
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


DEVICE_FIELDS = (
    "id",
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


def lock_devices(ids: Sequence[int]) -> dict[int, dict]:
    """The devices' current state, locked (in id order, so that workers never deadlock)
    until the transaction ends. ``rule_state`` is decoded only when it holds something."""
    if not ids:
        return {}
    ids = sorted(ids)
    columns = ", ".join(DEVICE_FIELDS)
    with connection.cursor() as cursor:
        if is_postgresql():
            text_columns = columns.replace("rule_state", "rule_state::text")
            cursor.execute(
                f"SELECT {text_columns} FROM {DEVICE_TABLE} "
                "WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
                [ids],
            )
            rows = cursor.fetchall()
        else:
            rows = []
            for start in range(0, len(ids), 900):
                chunk = ids[start : start + 900]
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"SELECT {columns} FROM {DEVICE_TABLE} WHERE id IN ({marks}) ORDER BY id",
                    chunk,
                )
                rows.extend(cursor.fetchall())
    devices = {}
    for row in rows:
        device = dict(zip(DEVICE_FIELDS, row, strict=True))
        state = device["rule_state"]
        device["rule_state"] = json.loads(state) if state and state != "{}" else {}
        device["is_active"] = bool(device["is_active"])
        device["pk"] = device["id"]
        devices[device["id"]] = device
    return devices


# (id, last_seen_at, stale_at, last_seq, latest JSON, latest_at, rule_state JSON); None in
# the last four keeps what is stored.
DeviceUpdate = tuple[
    int, dt.datetime, dt.datetime, int | None, str | None, dt.datetime | None, str | None
]


# The batch's device updates go to this temporary table by COPY, then into the devices
# with one UPDATE: far cheaper than binding thousands of parameters.
UPDATE_TABLE = "telemetry_device_update"


def _ensure_update_table() -> None:
    # Every time: the table goes away with a rolled-back transaction that created it, and
    # keeps the rows of an earlier batch written in the same (longer) transaction.
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {UPDATE_TABLE} (id bigint, "
            "seen timestamptz, stale timestamptz, last_seq bigint, latest jsonb, "
            f"latest_at timestamptz, rule_state jsonb) ON COMMIT DELETE ROWS; "
            f"DELETE FROM {UPDATE_TABLE}"
        )


def update_devices(updates: Sequence[DeviceUpdate]) -> None:
    """Write the devices' new state in one statement (PostgreSQL) or one executemany."""
    if not updates:
        return
    if is_postgresql():
        _ensure_update_table()
        with connection.cursor() as cursor, connection.wrap_database_errors:
            with cursor.cursor.copy(f"COPY {UPDATE_TABLE} FROM STDIN") as copy:
                for row in updates:
                    copy.write_row(row)
            cursor.execute(
                f"UPDATE {DEVICE_TABLE} AS d SET last_seen_at = v.seen, stale_at = v.stale, "
                "last_seq = COALESCE(v.last_seq, d.last_seq), "
                "latest = COALESCE(v.latest, d.latest), "
                "latest_at = COALESCE(v.latest_at, d.latest_at), "
                "rule_state = COALESCE(v.rule_state, d.rule_state) "
                f"FROM {UPDATE_TABLE} AS v WHERE d.id = v.id"
            )
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
            "latest_at = COALESCE(%s, latest_at), rule_state = COALESCE(%s, rule_state) "
            "WHERE id = %s",
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
