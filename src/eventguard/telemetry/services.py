"""Every write of the telemetry app: devices, and the one ingest path for their messages.

``telemetry_ingest`` is the only way telemetry reaches the database, for the MQTT
worker and the HTTP batch endpoint alike: it checks each message against the contract,
drops duplicates by (device, seq), stores the batch in bulk, updates each device's latest
state, evaluates the telemetry rules on the batch and raises or clears alarms, all in
one transaction. The caller acknowledges the messages only after it returns.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from eventguard.alerts import engine
from eventguard.alerts.services import ApplyResult, alarms_apply
from eventguard.core import subjects
from eventguard.core.access import CHANGE, require
from eventguard.core.audit import Change, audit, audit_many, snapshot
from eventguard.core.bus import publish
from eventguard.core.models import Event, User
from eventguard.core.servicekit import apply_changes, save_validated

from . import bulk, contract
from .contract import Invalid, Reason
from .models import DeadLetter, Device

SECRET_PREFIX = "egd_"
DEAD_LETTER_PAYLOAD_CHARS = 4096


def secret_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(24)


def secret_matches(device: Device, raw: str) -> bool:
    return hmac.compare_digest(device.secret_digest, secret_digest(raw or ""))


def default_offline_after() -> int:
    return settings.TELEMETRY_DEVICE_OFFLINE_SECONDS


# ---------------------------------------------------------------- devices

DEVICE_EDITABLE = {"name", "offline_after", "is_active"}


def _attach(device: Device, subject_type: str, subject_id: int) -> None:
    ref = subjects.resolve(subject_type, subject_id)
    if ref.event_id != device.event_id:
        raise ValidationError({"subject": _("The subject belongs to another event.")})
    device.subject_type, device.subject_id, device.subject_name = ref.type, ref.id, ref.name
    device.domain, device.zone_id, device.unit_id = ref.domain, ref.zone_id, ref.unit_id


def device_create(
    *,
    actor: User | None,
    event: Event,
    code: str,
    kind: str,
    subject_type: str,
    subject_id: int,
    name: str = "",
    offline_after: int | None = None,
) -> tuple[Device, str]:
    """Register a device; returns it and its secret, which is shown this once."""
    return devices_register(
        actor=actor,
        event=event,
        specs=[
            {
                "code": code,
                "kind": kind,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "name": name,
                "offline_after": offline_after,
            }
        ],
    )[0]


def devices_register(
    *, actor: User | None, event: Event, specs: Sequence[dict]
) -> list[tuple[Device, str]]:
    """Register many devices at once (the bulk form of :func:`device_create`): each is
    checked like one, all are written or none."""
    created: list[tuple[Device, str]] = []
    with transaction.atomic():
        codes = [s["code"] for s in specs]
        repeated = sorted(c for c, n in Counter(codes).items() if n > 1)
        if repeated:
            raise ValidationError(
                {"code": _("Device ids repeated: %(codes)s.") % {"codes": ", ".join(repeated)}}
            )
        taken = set(
            Device.objects.filter(event=event, code__in=codes).values_list("code", flat=True)
        )
        if taken:
            raise ValidationError(
                {
                    "code": _("A device with id %(codes)s is already registered.")
                    % {"codes": ", ".join(sorted(taken))}
                }
            )
        for spec in specs:
            raw = _new_secret()
            device = Device(
                event=event,
                code=spec["code"],
                kind=spec["kind"],
                name=spec.get("name") or "",
                offline_after=spec.get("offline_after"),
                secret_digest=secret_digest(raw),
            )
            _attach(device, spec["subject_type"], spec["subject_id"])
            require(actor, CHANGE, device)
            device.full_clean(validate_unique=False, validate_constraints=False)
            created.append((device, raw))
        try:
            Device.objects.bulk_create([d for d, _raw in created], batch_size=500)
        except Exception as exc:  # a concurrent registration of the same id
            raise ValidationError(
                _("The record conflicts with an existing one: %(error)s") % {"error": exc}
            ) from exc
        if created[0][0].pk is None:  # backends that do not return ids from bulk inserts
            ids = dict(Device.objects.filter(event=event, code__in=codes).values_list("code", "pk"))
            for device, _raw in created:
                device.pk = ids[device.code]
        audit_many(
            actor=actor,
            changes=[
                Change(action="device.create", obj=d, after=snapshot(d, extra={"secret": "***"}))
                for d, _raw in created
            ],
        )
        for device, _raw in created:
            publish("telemetry.device.created", device_id=device.pk, event_id=event.pk)
    return created


def device_update(*, actor: User | None, device: Device, **changes) -> Device:
    with transaction.atomic():
        device = Device.objects.select_for_update(no_key=True).get(pk=device.pk)
        require(actor, CHANGE, device)
        before = snapshot(device)
        changed = apply_changes(device, changes, editable=DEVICE_EDITABLE)
        if not changed:
            return device
        save_validated(device, update_fields=changed)
        audit(
            actor=actor, action="device.update", obj=device, before=before, after=snapshot(device)
        )
        publish("telemetry.device.updated", device_id=device.pk, event_id=device.event_id)
    directory.forget(device.event.code, device.code)
    return device


def device_attach(*, actor: User | None, device: Device, subject_type: str, subject_id: int):
    """Move a device to another subject (a logger moved to another box)."""
    with transaction.atomic():
        device = Device.objects.select_for_update(no_key=True).get(pk=device.pk)
        require(actor, CHANGE, device)
        before = snapshot(device)
        _attach(device, subject_type, subject_id)
        require(actor, CHANGE, device)  # the new subject must be in the actor's scope too
        device.rule_state = {}
        fields = ["subject_type", "subject_id", "subject_name", "domain", "zone", "unit"]
        save_validated(device, update_fields=[*fields, "rule_state"])
        audit(
            actor=actor, action="device.attach", obj=device, before=before, after=snapshot(device)
        )
        publish("telemetry.device.updated", device_id=device.pk, event_id=device.event_id)
    return device


def device_rotate_secret(*, actor: User | None, device: Device) -> tuple[Device, str]:
    """A new secret for the device (the old one stops working); shown this once."""
    with transaction.atomic():
        device = Device.objects.select_for_update(no_key=True).get(pk=device.pk)
        require(actor, CHANGE, device)
        raw = _new_secret()
        device.secret_digest = secret_digest(raw)
        save_validated(device, update_fields=["secret_digest"])
        audit(actor=actor, action="device.rotate_secret", obj=device)
    return device, raw


def device_deactivate(*, actor: User | None, device: Device) -> Device:
    return device_update(actor=actor, device=device, is_active=False)


def device_activate(*, actor: User | None, device: Device) -> Device:
    return device_update(actor=actor, device=device, is_active=True)


# ---------------------------------------------------------------- ingest


@dataclass(slots=True)
class Inbound:
    """One message as it arrived, before any check."""

    event_code: str
    device_code: str
    body: bytes | None = None  # the raw payload (MQTT)
    data: object = None  # an already decoded payload (an item of an HTTP batch)
    topic: str = ""
    source: str = DeadLetter.Source.MQTT
    refusal: str = ""  # refused before the contract is checked: a bad topic, say
    refusal_detail: str = ""


STORED, DUPLICATE, DEAD = "stored", "duplicate", "dead_letter"


@dataclass
class IngestResult:
    outcomes: list[tuple[str, str, str]]  # per message: (outcome, reason, detail)
    alarms: ApplyResult = field(default_factory=ApplyResult)
    # Seconds spent locking the devices, writing the messages, updating the devices and the
    # alarms, and committing (the worker logs a batch that took long).
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def stored(self) -> int:
        return sum(1 for o in self.outcomes if o[0] == STORED)

    @property
    def duplicates(self) -> int:
        return sum(1 for o in self.outcomes if o[0] == DUPLICATE)

    @property
    def dead_letters(self) -> Counter:
        return Counter(o[1] for o in self.outcomes if o[0] == DEAD)


class DeviceDirectory:
    """(event code, device id) -> device primary key, cached for the process.

    Device ids are never reused within an event (devices are deactivated, not deleted),
    so a known mapping stays true; an unknown one is asked again after a short while."""

    RETRY_UNKNOWN_AFTER = 10.0

    def __init__(self):
        self._known: dict[tuple[str, str], int] = {}
        self._unknown: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def resolve(
        self, keys: Iterable[tuple[str, str]], *, lookup: bool = True
    ) -> dict[tuple[str, str], int]:
        """The primary keys of the known devices among ``keys``; with ``lookup`` those not
        yet known are asked of the database (else they are left out of the answer)."""
        now = time.monotonic()
        found, ask = {}, set()
        for key in keys:
            pk = self._known.get(key)
            if pk is not None:
                found[key] = pk
            elif lookup and now - self._unknown.get(key, -1e9) >= self.RETRY_UNKNOWN_AFTER:
                ask.add(key)
        if ask:
            by_event: dict[str, set[str]] = defaultdict(set)
            for event_code, device_code in ask:
                by_event[event_code].add(device_code)
            with self._lock:
                for event_code, codes in by_event.items():
                    rows = Device.objects.filter(event__code=event_code, code__in=codes)
                    for code, pk in rows.values_list("code", "pk"):
                        self._known[(event_code, code)] = pk
                        found[(event_code, code)] = pk
                for key in ask - found.keys():
                    self._unknown[key] = now
                if len(self._unknown) > 100_000:
                    self._unknown.clear()
        return found

    def forget(self, event_code: str, device_code: str) -> None:
        with self._lock:
            self._known.pop((event_code, device_code), None)
            self._unknown.pop((event_code, device_code), None)

    def clear(self) -> None:
        with self._lock:
            self._known.clear()
            self._unknown.clear()


directory = DeviceDirectory()


def _decode(message: Inbound, max_bytes: int) -> tuple[object, str]:
    """The decoded payload and its JSON text."""
    if message.data is not None:
        text = json.dumps(message.data, ensure_ascii=False, separators=(",", ":"))
        if len(text) > max_bytes:
            raise Invalid(Reason.OVERSIZED, f"{len(text)} bytes, more than {max_bytes}")
        return message.data, text
    body = message.body or b""
    if len(body) > max_bytes:
        raise Invalid(Reason.OVERSIZED, f"{len(body)} bytes, more than {max_bytes}")
    try:
        text = body.decode()
        data = _JSON.decode(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Invalid(Reason.NOT_JSON, f"not JSON: {exc}"[:200]) from None
    if "\\u0000" in text:
        raise Invalid(Reason.INVALID, "text may not contain the NUL character")
    return data, text


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


# One decoder for every message (json.loads with options builds a new one each call).
_JSON = json.JSONDecoder(parse_constant=_refuse_constant)


def _dead_letter(message: Inbound, reason: str, detail: str, now: dt.datetime) -> DeadLetter:
    if message.body is not None:
        payload = message.body[: DEAD_LETTER_PAYLOAD_CHARS * 4].decode("utf-8", "replace")
        size = len(message.body)
    else:
        try:
            payload = json.dumps(message.data, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            payload = repr(message.data)
        size = len(payload.encode())
    return DeadLetter(
        received_at=now,
        source=message.source,
        event_code=message.event_code[:50],
        device_code=message.device_code[:64],
        topic=message.topic[:300],
        reason=reason,
        detail=detail[:500],
        payload=payload[:DEAD_LETTER_PAYLOAD_CHARS].replace("\x00", "\ufffd"),
        payload_bytes=size,
    )


def _hour(value: dt.datetime) -> dt.datetime:
    return value.replace(minute=0, second=0, microsecond=0)


@dataclass
class CheckedBatch:
    """A batch through the contract, ready to be stored (see :func:`telemetry_check`)."""

    messages: Sequence[Inbound]
    now: dt.datetime
    outcomes: list  # per message: None (to store) or (DEAD, reason, detail)
    dead: list[DeadLetter]
    checked: list  # (position, (event code, device id), reading, JSON text)
    ids: dict  # (event code, device id) -> device pk, for the known devices
    unresolved: set = field(default_factory=set)  # keys not yet looked up (lookup=False)

    def resolve(self) -> None:
        """Look up the devices that the check left to the store (``lookup=False``)."""
        if self.unresolved:
            self.ids.update(directory.resolve(self.unresolved))
            self.unresolved = set()


def telemetry_ingest(
    *, messages: Sequence[Inbound], actor: User | None = None, now: dt.datetime | None = None
) -> IngestResult:
    """Check, store and evaluate a batch of messages (see :func:`telemetry_store`)."""
    return telemetry_store(checked=telemetry_check(messages=messages, now=now), actor=actor)


def telemetry_check(
    *, messages: Sequence[Inbound], now: dt.datetime | None = None, lookup: bool = True
) -> CheckedBatch:
    """The contract, message by message: decoded, checked, its device looked up. Writes
    nothing. With ``lookup=False`` it does not touch the database either: devices this
    process does not know yet are looked up by the store (so that the worker can check the
    next batch while the database is busy with the last one, on the same connection)."""
    now = now or timezone.now()
    max_bytes = settings.TELEMETRY_MAX_PAYLOAD_BYTES
    max_skew = dt.timedelta(seconds=settings.TELEMETRY_MAX_CLOCK_SKEW_SECONDS)
    outcomes: list[tuple[str, str, str] | None] = [None] * len(messages)
    dead: list[DeadLetter] = []
    checked = []
    for i, message in enumerate(messages):
        if message.refusal:
            outcomes[i] = (DEAD, message.refusal, message.refusal_detail or message.topic)
            dead.append(_dead_letter(message, *outcomes[i][1:], now))
            continue
        try:
            data, text = _decode(message, max_bytes)
            reading = contract.check(data, now=now, max_skew=max_skew)
        except Invalid as invalid:
            outcomes[i] = (DEAD, invalid.reason, invalid.detail)
            dead.append(_dead_letter(message, invalid.reason, invalid.detail, now))
            continue
        checked.append((i, (message.event_code, message.device_code), reading, text))
    keys = {key for _i, key, _r, _t in checked}
    ids = directory.resolve(keys, lookup=lookup) if keys else {}
    unresolved = set() if lookup else keys - ids.keys()
    return CheckedBatch(messages, now, outcomes, dead, checked, ids, unresolved)


def telemetry_store(
    *, checked: CheckedBatch, actor: User | None = None, meanwhile=None
) -> IngestResult:
    """Store a checked batch and evaluate it, in one transaction (see :func:`_store`).

    ``meanwhile``, if given, is called once while the database writes the batch's messages
    (the worker checks its next batch then); it may not use the database."""
    checked.resolve()
    once = _Once(meanwhile)
    try:
        return _store(checked, careful=False, meanwhile=once)
    except bulk.RowsRefused:
        # A (device, seq) already stored, or a row the database refuses: the optimistic
        # write spoilt the transaction, which was rolled back. Again, carefully.
        return _store(checked, careful=True, meanwhile=once)


class _Once:
    """A callable that calls ``function`` the first time only (None: nothing)."""

    def __init__(self, function):
        self.function = function

    def __call__(self) -> None:
        function, self.function = self.function, None
        if function is not None:
            function()


def _store(checked: CheckedBatch, *, careful: bool, meanwhile) -> IngestResult:
    """Store a checked batch and evaluate it, in one transaction.

    Each message ends stored, dropped as a duplicate of a stored (device, seq), or in the
    dead-letter store with its reason. Messages are measurements, not edits of records:
    they are not written to the audit trail one by one (that would double every row);
    the alarms they raise are. ``actor`` is None: devices act as the system. A batch that
    fails may be stored again: nothing of a failed attempt stays.

    Written optimistically (not ``careful``), every row is stored or the write fails as a
    whole; the rules are then evaluated while the database is still writing the rows (on
    PostgreSQL the COPY's end is awaited only after), since they need nothing it returns.
    """
    messages, now, ids = checked.messages, checked.now, checked.ids
    outcomes = list(checked.outcomes)
    dead = list(checked.dead)

    def refuse(i: int, reason: str, detail: str) -> None:
        outcomes[i] = (DEAD, reason, detail)
        dead.append(_dead_letter(messages[i], reason, detail, now))

    alarms = ApplyResult()
    with transaction.atomic():
        began = time.perf_counter()
        devices = bulk.lock_devices({ids[k] for _i, k, _r, _t in checked.checked if k in ids})
        locked = time.perf_counter()
        rows: list[bulk.MessageRow] = []
        placed = []  # (position, device, reading, text) for each row
        first_of: dict[tuple[int, int], tuple[int, dict]] = {}
        for i, key, reading, text in checked.checked:
            device = devices.get(ids.get(key))
            if device is None:
                refuse(i, Reason.UNKNOWN_DEVICE, f"no device {key[1]} in event {key[0]}")
                continue
            if not device["is_active"]:
                refuse(i, Reason.INACTIVE_DEVICE, f"device {key[1]} is deactivated")
                continue
            same = first_of.get((device["pk"], reading.seq))
            if same is not None:  # the same (device, seq) twice in one batch
                if same[1] == reading.data:
                    outcomes[i] = (DUPLICATE, "", "")
                else:
                    refuse(i, Reason.REPLAYED_SEQ, f"seq {reading.seq} already used")
                continue
            first_of[(device["pk"], reading.seq)] = (i, reading.data)
            rows.append(
                (
                    device["event_id"],
                    device["pk"],
                    reading.seq,
                    reading.kind,
                    reading.ts,
                    now,
                    reading.value,
                    text,
                )
            )
            placed.append((i, device, reading, text))
        book = engine.rulebook()  # before the write: it may ask the database
        evaluation: list = []

        def evaluate_meanwhile() -> None:
            # Only for an optimistic write, in which every row is written or none.
            evaluation.append(_evaluate(book, devices, _per_device(placed), now))
            meanwhile()

        written, conflicts, refused = bulk.insert_messages(
            rows, careful=careful, meanwhile=None if careful else evaluate_meanwhile
        )
        written_at = time.perf_counter()
        if conflicts:
            stored_payloads = bulk.existing_payloads([(rows[j][1], rows[j][2]) for j in conflicts])
            for j in conflicts:
                i, device, reading, _text = placed[j]
                if stored_payloads.get((device["pk"], reading.seq)) == reading.data:
                    outcomes[i] = (DUPLICATE, "", "")
                else:
                    refuse(i, Reason.REPLAYED_SEQ, f"seq {reading.seq} already used")
        for j in refused:
            refuse(placed[j][0], Reason.INVALID, "the database refused the payload")
        stored_in: Counter = Counter()  # event id -> messages stored
        duplicates_in: Counter = Counter()
        for j in written:
            i, device, _reading, _text = placed[j]
            outcomes[i] = (STORED, "", "")
            stored_in[device["event_id"]] += 1
        for i, outcome in enumerate(outcomes):
            if outcome is not None and outcome[0] == DUPLICATE:
                device = devices[ids[(messages[i].event_code, messages[i].device_code)]]
                duplicates_in[device["event_id"]] += 1
        if not evaluation:  # written carefully: the rules see the rows written
            per_device = _per_device([placed[j] for j in written])
            evaluation.append(_evaluate(book, devices, per_device, now))
            meanwhile()
        applying: dict[str, float] = {}
        alarms = _update_and_apply(*evaluation[0], applying)
        if dead:
            DeadLetter.objects.bulk_create(dead, batch_size=500)
        for event_id in sorted(set(stored_in) | set(duplicates_in)):
            bulk.add_to_tally(event_id, _hour(now), stored_in[event_id], duplicates_in[event_id])
        applied = time.perf_counter()
    # The devices' update, the endings' check and the alarms in their own parts (what is
    # left after the write: the rules of a careful write, the dead letters, the tallies).
    timings = {
        "devices": locked - began,
        "write": written_at - locked,
        **applying,
        "other": max(0.0, applied - written_at - sum(applying.values())),
        "commit": time.perf_counter() - applied,
    }
    return IngestResult(
        outcomes=[o or (DEAD, Reason.INVALID, "") for o in outcomes], alarms=alarms, timings=timings
    )


def _per_device(placed: Iterable[tuple]) -> dict[int, list]:
    """The (reading, JSON text) pairs of the rows ``placed``, by device."""
    per_device: dict[int, list] = defaultdict(list)
    for _i, device, reading, text in placed:
        per_device[device["pk"]].append((reading, text))
    return per_device


def _evaluate(book: engine.RuleBook, devices: dict, per_device: dict, now: dt.datetime):
    """Run the telemetry rules on each device's new readings (no database): what began and
    ended, the endings among them (by device), and each device's new state."""
    changes, endings = [], []
    updates: list[bulk.DeviceUpdate] = []
    default_after = default_offline_after()
    for device_pk, items in per_device.items():
        device = devices[device_pk]
        items.sort(key=lambda item: item[0].seq)
        state = device["rule_state"] or {}
        subject = subjects.SubjectRef(
            type=device["subject_type"],
            id=device["subject_id"],
            event_id=device["event_id"],
            zone_id=device["zone_id"],
            unit_id=device["unit_id"],
            domain=device["domain"],
            name=device["subject_name"],
        )
        changed, found = book.evaluate(
            event_id=device["event_id"],
            device_code=device["code"],
            device_kind=device["kind"],
            subject=subject,
            observations=[engine.Observation(r.seq, r.kind, r.ts, r.data) for r, _t in items],
            state=state,
        )
        for item in found:
            if isinstance(item, engine.Ending):
                endings.append((device_pk, item))
            changes.append(item)
        newest, newest_text = items[-1]
        newer = device["last_seq"] is None or newest.seq > device["last_seq"]
        updates.append(
            (
                device_pk,
                now,
                now + dt.timedelta(seconds=device["offline_after"] or default_after),
                newest.seq if newer else None,
                newest_text if newer else None,
                newest.ts if newer else None,
                json.dumps(state, separators=(",", ":")) if changed else None,
            )
        )
    return changes, endings, updates


def _update_and_apply(changes: list, endings: list, updates: list, timings: dict) -> ApplyResult:
    """Update each device that was heard from, and apply what began and ended to the
    alarms."""
    began = time.perf_counter()
    bulk.update_devices(updates)
    updated = time.perf_counter()
    held = _still_held(endings)
    checked = time.perf_counter()
    result = alarms_apply(changes=[c for c in changes if id(c) not in held])
    timings.update(
        {
            "update": updated - began,
            "endings": checked - updated,
            "alarms": time.perf_counter() - checked,
        }
    )
    return result


def _still_held(endings: list[tuple[int, engine.Ending]]) -> set[int]:
    """The endings (by id) whose subject has another device on which the rule's condition
    still holds: a warehouse stays in alarm while any of its loggers is too warm.

    One query for all the endings of a batch: a batch in which hundreds of conditions end
    (loggers cooling down together) asked once per ending before, seconds on PostgreSQL."""
    if not endings:
        return set()
    ids_by_type: dict[str, set[int]] = defaultdict(set)
    for _device_pk, ending in endings:
        ids_by_type[ending.subject.type].add(ending.subject.id)
    where = Q()
    for subject_type, subject_ids in ids_by_type.items():
        where |= Q(subject_type=subject_type, subject_id__in=sorted(subject_ids))
    devices_of: dict[tuple[str, int], list[tuple[int, dict]]] = defaultdict(list)
    for pk, subject_type, subject_id, state in Device.objects.filter(
        where, is_active=True
    ).values_list("pk", "subject_type", "subject_id", "rule_state"):
        devices_of[(subject_type, subject_id)].append((pk, state or {}))
    held = set()
    for device_pk, ending in endings:
        key = str(ending.rule_id)
        others = devices_of[(ending.subject.type, ending.subject.id)]
        if any(pk != device_pk and state.get(key, {}).get("on") for pk, state in others):
            held.add(id(ending))
    return held


def dead_letters_purge(*, actor: User | None, before: dt.datetime) -> int:
    """Delete the dead letters received before ``before`` (housekeeping, by the system)."""
    if actor is not None and not actor.is_superuser:
        raise PermissionDenied(_("Only the system purges the dead-letter store."))
    deleted = 0
    with transaction.atomic():
        ids = list(
            DeadLetter.objects.filter(received_at__lt=before).values_list("pk", flat=True)[:50_000]
        )
        if ids:
            deleted, _details = DeadLetter.objects.filter(pk__in=ids).delete()
            audit(
                actor=actor,
                action="dead_letter.purge",
                object_type="telemetry.deadletter",
                object_repr=f"{deleted}",
                after={"before": before.isoformat(), "deleted": deleted},
            )
    return deleted
