"""The hash-chained, append-only audit trail.

Each entry's hash covers its content and the previous entry's hash, so editing or
deleting any past entry breaks the chain from that point on. Writers lock the single
:class:`AuditHead` row, which keeps the chain linear with several processes writing.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from .context import current_request_id
from .models import AuditEntry, AuditHead

GENESIS = "0" * 64


def _json_safe(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if hasattr(value, "name") and hasattr(value, "url"):  # a stored file
        return value.name or ""
    return value


def snapshot(obj: models.Model, *, extra: dict | None = None) -> dict:
    """The concrete field values of ``obj``, JSON-safe, for before/after."""
    data = {}
    for field in obj._meta.concrete_fields:
        if field.name in {"password"}:
            continue
        data[field.attname] = _json_safe(getattr(obj, field.attname))
    if extra:
        data.update(_json_safe(extra))
    return data


def _canonical(entry: AuditEntry) -> bytes:
    payload = {
        "seq": entry.seq,
        "at": entry.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "event_code": entry.event_code,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "before": entry.before,
        "after": entry.after,
        "request_id": entry.request_id,
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(_canonical(entry)).hexdigest()


@dataclass
class Change:
    """One audited change, before it is chained."""

    action: str
    obj: models.Model | None = None
    object_type: str = ""
    object_id: str = ""
    object_repr: str = ""
    before: dict | None = None
    after: dict | None = None
    event_code: str = ""


def _event_code_of(obj: models.Model | None) -> str:
    if obj is None:
        return ""
    from .models import Event

    if isinstance(obj, Event):
        return obj.code
    event = getattr(obj, "event", None)
    return getattr(event, "code", "") if event is not None else ""


def _lock_head() -> AuditHead:
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        AuditHead.objects.get_or_create(pk=1)
        head = AuditHead.objects.select_for_update().get(pk=1)
    return head


def audit_many(*, actor, changes: list[Change]) -> list[AuditEntry]:
    """Append ``changes`` to the chain, in order, inside the caller's transaction."""
    if not changes:
        return []
    if not connection.in_atomic_block:
        raise RuntimeError("audit entries are written inside the service's transaction")
    head = _lock_head()
    now = timezone.now()
    request_id = current_request_id()
    actor_name = actor.get_username() if actor is not None else "system"
    entries = []
    prev = head.hash
    seq = head.seq
    for change in changes:
        seq += 1
        obj = change.obj
        entry = AuditEntry(
            seq=seq,
            at=now,
            actor=actor,
            actor_name=actor_name,
            event_code=change.event_code or _event_code_of(obj),
            action=change.action,
            object_type=change.object_type or (obj._meta.label_lower if obj is not None else ""),
            object_id=change.object_id or (str(obj.pk) if obj is not None else ""),
            object_repr=(change.object_repr or (str(obj) if obj is not None else ""))[:300],
            before=_json_safe(change.before),
            after=_json_safe(change.after),
            request_id=request_id,
            prev_hash=prev,
        )
        entry.hash = entry_hash(entry)
        prev = entry.hash
        entries.append(entry)
    AuditEntry.objects.bulk_create(entries, batch_size=1000)
    head.seq = seq
    head.hash = prev
    head.save(update_fields=["seq", "hash"])
    return entries


def audit(*, actor, action: str, obj: models.Model | None = None, **fields) -> AuditEntry:
    return audit_many(actor=actor, changes=[Change(action=action, obj=obj, **fields)])[0]


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problem: str = ""
    entry_seq: int | None = None
    entry_id: int | None = None


def audit_verify(*, chunk_size: int = 2000) -> VerifyResult:
    """Recompute the whole chain; report the first entry that does not fit."""
    prev = GENESIS
    expected_seq = 1
    checked = 0
    with transaction.atomic():
        for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=chunk_size):
            if entry.seq != expected_seq:
                return VerifyResult(
                    False,
                    checked,
                    f"entry #{expected_seq} is missing (next present entry is #{entry.seq})",
                    expected_seq,
                    None,
                )
            if entry.prev_hash != prev:
                return VerifyResult(
                    False,
                    checked,
                    f"entry #{entry.seq} (id {entry.pk}) does not link to entry #{entry.seq - 1}",
                    entry.seq,
                    entry.pk,
                )
            if entry_hash(entry) != entry.hash:
                return VerifyResult(
                    False,
                    checked,
                    f"entry #{entry.seq} (id {entry.pk}) was altered: its content does not "
                    f"match its hash",
                    entry.seq,
                    entry.pk,
                )
            prev = entry.hash
            expected_seq += 1
            checked += 1
        head = AuditHead.objects.filter(pk=1).first()
        if head is not None and (head.seq != checked or head.hash != prev):
            return VerifyResult(
                False,
                checked,
                f"the chain ends at entry #{checked} but its head records entry #{head.seq}: "
                f"entries after #{checked} were removed",
                checked + 1,
                None,
            )
    return VerifyResult(True, checked)
