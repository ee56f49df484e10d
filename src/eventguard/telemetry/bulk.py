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


NULL = "\\N"


def _text(value: str) -> str:
    """A text field in COPY's text format (backslash, tab and line ends escaped)."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def _copy(sql: str, text: str, meanwhile=None) -> None:
    """COPY ``text`` in; ``meanwhile()`` runs once the data is sent, while the server is
    still writing it (the end of the COPY is awaited after it)."""
    with connection.cursor() as cursor, connection.wrap_database_errors:
        # psycopg's own cursor: Django's wrapper has no COPY; errors are wrapped as Django's.
        with cursor.cursor.copy(sql) as copy:
            copy.write(text)
            if meanwhile is not None:
                meanwhile()


def _copy_messages(rows: Sequence[MessageRow], meanwhile=None) -> None:
    # The rows formatted here, in one string: psycopg's write_row per row costs more than
    # all the rest of a message's COPY.
    received: dict = {}
    lines = []
    for event_id, device_id, seq, kind, ts, rec, value, payload in rows:
        at = received.get(rec)
        if at is None:
            at = received[rec] = rec.isoformat()
        number = NULL if value is None else repr(value)
        lines.append(
            f"{event_id}\t{device_id}\t{seq}\t{kind}\t{ts.isoformat()}\t{at}\t{number}\t"
            f"{_text(payload)}\n"
        )
    columns = ", ".join(MESSAGE_COLUMNS)
    _copy(f"COPY {MESSAGE_TABLE} ({columns}) FROM STDIN", "".join(lines), meanwhile)


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


def _write(rows: Sequence[MessageRow], meanwhile=None) -> None:
    """Write ``rows``; ``meanwhile()`` runs while PostgreSQL writes them, or after SQLite
    wrote them."""
    if is_postgresql():
        _copy_messages(rows, meanwhile)
    else:
        _executemany_messages(rows)
        if meanwhile is not None:
            meanwhile()


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


class RowsRefused(Exception):
    """The optimistic write of a batch hit a stored (device, seq) or a row the database
    refuses: the transaction is spoilt; store the batch again, carefully."""


def insert_messages(
    rows: Sequence[MessageRow], *, careful: bool = False, meanwhile=None
) -> tuple[list[int], list[int], list[int]]:
    """Write ``rows``; returns the positions of the rows written, of those whose
    (device, seq) was already stored, and of those the database refused.

    Optimistically (no savepoint, one statement) unless ``careful``; an optimistic write
    that fails raises :class:`RowsRefused` and leaves the transaction to be rolled back.
    ``meanwhile()`` (optimistic writes only) runs while PostgreSQL writes the rows, or
    after SQLite wrote them; it may not use the database."""
    if careful:  # (which rows were written is known only at its end: no meanwhile)
        return _insert_carefully(rows) if rows else ([], [], [])
    if not rows:
        if meanwhile is not None:
            meanwhile()
        return [], [], []
    try:
        _write(rows, meanwhile)
    except (IntegrityError, DataError) as exc:
        raise RowsRefused from exc
    return list(range(len(rows))), [], []


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


# What a batch reads of its devices under the lock, and what it takes from a cache of the
# devices' registration (valid while the row's updated_at is the same: the ingest's own
# updates do not touch it, a change of the device through its services does).
STATE_FIELDS = ("id", "is_active", "last_seq", "rule_state", "updated_at")
STATIC_FIELDS = (
    "event_id",
    "code",
    "kind",
    "subject_type",
    "subject_id",
    "subject_name",
    "domain",
    "zone_id",
    "unit_id",
    "offline_after",
)
_registrations: dict[int, tuple] = {}  # id -> (updated_at, {static fields})


def _select(cursor, columns: str, ids: list[int], *, lock: bool) -> list:
    if is_postgresql():
        suffix = " FOR NO KEY UPDATE" if lock else ""
        cursor.execute(
            f"SELECT {columns} FROM {DEVICE_TABLE} WHERE id = ANY(%s) ORDER BY id{suffix}", [ids]
        )
        return cursor.fetchall()
    rows = []
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        marks = ", ".join(["%s"] * len(chunk))
        cursor.execute(
            f"SELECT {columns} FROM {DEVICE_TABLE} WHERE id IN ({marks}) ORDER BY id", chunk
        )
        rows.extend(cursor.fetchall())
    return rows


def lock_devices(ids: Sequence[int]) -> dict[int, dict]:
    """The devices' current state, locked (in id order, so that workers never deadlock)
    until the transaction ends. ``rule_state`` is decoded only when it holds something."""
    if not ids:
        return {}
    ids = sorted(ids)
    state_columns = "id, is_active, last_seq, rule_state" + (
        "::text, updated_at" if is_postgresql() else ", updated_at"
    )
    with connection.cursor() as cursor:
        rows = _select(cursor, state_columns, ids, lock=True)
        stale = [row[0] for row in rows if _registrations.get(row[0], (None,))[0] != row[4]]
        if stale:
            for row in _select(
                cursor, "id, updated_at, " + ", ".join(STATIC_FIELDS), stale, lock=False
            ):
                _registrations[row[0]] = (row[1], dict(zip(STATIC_FIELDS, row[2:], strict=True)))
    devices = {}
    for pk, is_active, last_seq, state, _updated_at in rows:
        device = dict(_registrations[pk][1])
        device["id"] = device["pk"] = pk
        device["is_active"] = bool(is_active)
        device["last_seq"] = last_seq
        device["rule_state"] = json.loads(state) if state and state != "{}" else {}
        devices[pk] = device
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
    """The temporary table, empty. Known so once a transaction that used it committed (ON
    COMMIT DELETE ROWS empties it); else (a rolled-back transaction takes a table it
    created with it, an earlier batch of the same transaction left rows) made so."""
    raw = connection.connection
    if getattr(connection, "_telemetry_update_table", None) is raw:
        connection._telemetry_update_table = None  # in use until this transaction commits
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {UPDATE_TABLE} (id bigint, "
                "seen timestamptz, stale timestamptz, last_seq bigint, latest jsonb, "
                f"latest_at timestamptz, rule_state jsonb) ON COMMIT DELETE ROWS; "
                f"DELETE FROM {UPDATE_TABLE}"
            )

    def ready():
        # Only after a real commit (hooks run outside any atomic block); callbacks run
        # early inside an enclosing transaction (as a test's are) prove nothing.
        if not connection.in_atomic_block:
            connection._telemetry_update_table = raw

    transaction.on_commit(ready)


def update_devices(updates: Sequence[DeviceUpdate]) -> None:
    """Write the devices' new state in one statement (PostgreSQL) or one executemany."""
    if not updates:
        return
    if is_postgresql():
        _ensure_update_table()
        lines = []
        for pk, seen, stale, last_seq, latest, latest_at, rule_state in updates:
            lines.append(
                f"{pk}\t{seen.isoformat()}\t{stale.isoformat()}\t"
                f"{NULL if last_seq is None else last_seq}\t"
                f"{NULL if latest is None else _text(latest)}\t"
                f"{NULL if latest_at is None else latest_at.isoformat()}\t"
                f"{NULL if rule_state is None else _text(rule_state)}\n"
            )
        _copy(f"COPY {UPDATE_TABLE} FROM STDIN", "".join(lines))
        with connection.cursor() as cursor:
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
