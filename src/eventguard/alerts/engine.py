"""The rules engine: evaluates rules and says what happened, never writes.

Telemetry rules run in memory over a batch of readings, device by device, with the
state each device carries (``Device.rule_state``: whether a rule's condition holds for
it, since when a threshold is breached, the last reading for a rate of change). Record
and time rules are evaluated by :mod:`.services` and :mod:`.tasks`. What comes out are
:class:`Occurrence` and :class:`Ending` values that ``alarms_apply`` turns into alarms.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Max

from eventguard.core.subjects import SubjectRef

from .models import Rule, RuleKind, Source


@dataclass(slots=True)
class Occurrence:
    """A rule's condition began (or a point event happened) for a subject."""

    rule_id: int
    subject: SubjectRef
    at: dt.datetime
    details: dict = field(default_factory=dict)
    point: bool = False  # a point event: nothing lasts, nothing ends by itself


@dataclass(slots=True)
class Ending:
    """A rule's condition ended for a subject."""

    rule_id: int
    subject: SubjectRef
    at: dt.datetime
    details: dict = field(default_factory=dict)


@dataclass(slots=True)
class Observation:
    """One stored reading as the rules see it."""

    seq: int
    kind: str
    ts: dt.datetime
    data: dict


class CompiledRule:
    """A telemetry rule reduced to what the hot path needs."""

    __slots__ = (
        "id",
        "kind",
        "key",
        "device_kinds",
        "subject_types",
        "codes",
        "field",
        "above",
        "limit",
        "hold_ms",
        "max_change",
        "per_ms",
        "detections",
        "min_confidence",
    )

    def __init__(self, rule: Rule):
        p = rule.params or {}
        self.id = rule.pk
        self.key = str(rule.pk)
        self.kind = rule.kind
        self.device_kinds = frozenset(p.get("device_kinds") or ()) or None
        self.subject_types = frozenset(p.get("subject_types") or ()) or None
        self.codes = frozenset(p.get("codes") or ())
        self.field = p.get("field")
        self.above = p.get("op", "above") == "above"
        self.limit = float(p.get("value") or 0)
        self.hold_ms = int(p.get("hold_seconds") or 0) * 1000
        self.max_change = float(p.get("max_change") or 0)
        self.per_ms = int(p.get("per_seconds") or 60) * 1000
        self.detections = frozenset(p.get("detections") or ())
        self.min_confidence = float(p.get("min_confidence") or 0)

    def applies_to(self, device_kind: str, subject_type: str) -> bool:
        if self.device_kinds is not None and device_kind not in self.device_kinds:
            return False
        return self.subject_types is None or subject_type in self.subject_types


def _ms(ts: dt.datetime) -> int:
    return int(ts.timestamp() * 1000)


class RuleBook:
    """The enabled telemetry rules of every event, indexed by (event, message kind)."""

    def __init__(self, rules: Iterable[Rule]):
        self._by_trigger: dict[tuple[int, str], list[CompiledRule]] = {}
        for rule in rules:
            if rule.kind == RuleKind.DEVICE_OFFLINE:
                continue
            compiled = CompiledRule(rule)
            self._by_trigger.setdefault((rule.event_id, rule.trigger), []).append(compiled)
        self._for_device: dict[tuple, list[CompiledRule]] = {}

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_trigger.values())

    def rules_for(
        self, event_id: int, message_kind: str, device_kind: str, subject_type: str
    ) -> list[CompiledRule]:
        key = (event_id, message_kind, device_kind, subject_type)
        found = self._for_device.get(key)
        if found is None:
            found = [
                r
                for r in self._by_trigger.get((event_id, message_kind), ())
                if r.applies_to(device_kind, subject_type)
            ]
            self._for_device[key] = found
        return found

    def evaluate(
        self,
        *,
        event_id: int,
        device_code: str,
        device_kind: str,
        subject: SubjectRef,
        observations: list[Observation],
        state: dict,
    ) -> tuple[bool, list[Occurrence | Ending]]:
        """Run the device's rules over its new readings (in sequence order).

        ``state`` is updated in place; returns whether it changed, and what began and
        ended, in the order it happened."""
        found: list[Occurrence | Ending] = []
        changed = False
        for obs in observations:
            rules = self.rules_for(event_id, obs.kind, device_kind, subject.type)
            if not rules:
                continue
            data = obs.data
            ts_ms = None
            for rule in rules:
                kind = rule.kind
                if kind == RuleKind.CAMERA_DETECTION:
                    if (
                        data.get("detection") in rule.detections
                        and data.get("confidence", 0) >= rule.min_confidence
                    ):
                        found.append(
                            Occurrence(
                                rule.id,
                                subject,
                                obs.ts,
                                {
                                    "device": device_code,
                                    "seq": obs.seq,
                                    "detection": data.get("detection"),
                                    "confidence": data.get("confidence"),
                                    "image": data.get("image") or "",
                                },
                                point=True,
                            )
                        )
                    continue
                st = state.get(rule.key)
                on = bool(st and st.get("on"))
                if kind == RuleKind.FAULT_CODE:
                    fault = data.get("fault")
                    hit = fault in rule.codes
                    details = {"device": device_code, "seq": obs.seq, "fault": fault or ""}
                elif kind == RuleKind.THRESHOLD:
                    value = data.get(rule.field)
                    if value is None:
                        continue
                    if ts_ms is None:
                        ts_ms = _ms(obs.ts)
                    breach = value > rule.limit if rule.above else value < rule.limit
                    since = st.get("since") if st else None
                    if breach:
                        if since is None or ts_ms < since:
                            since = ts_ms
                            st = state.setdefault(rule.key, {})
                            st["since"] = since
                            changed = True
                        hit = on or ts_ms - since >= rule.hold_ms
                    else:
                        hit = False
                        if since is not None:
                            st["since"] = None
                            changed = True
                    details = {
                        "device": device_code,
                        "seq": obs.seq,
                        "value": value,
                        "limit": rule.limit,
                        "since": dt.datetime.fromtimestamp(since / 1000, dt.UTC).isoformat()
                        if breach
                        else None,
                    }
                elif kind == RuleKind.RATE_OF_CHANGE:
                    value = data.get(rule.field)
                    if value is None:
                        continue
                    if ts_ms is None:
                        ts_ms = _ms(obs.ts)
                    st = state.setdefault(rule.key, {})
                    last_v, last_t = st.get("v"), st.get("t")
                    if last_t is not None and ts_ms <= last_t:
                        continue  # late or repeated reading: no rate to compute
                    st["v"], st["t"] = value, ts_ms
                    changed = True
                    if last_t is None:
                        continue
                    rate = (value - last_v) * rule.per_ms / (ts_ms - last_t)
                    hit = abs(rate) > rule.max_change
                    details = {
                        "device": device_code,
                        "seq": obs.seq,
                        "value": value,
                        "change": round(rate, 3),
                        "per_seconds": rule.per_ms // 1000,
                    }
                else:
                    continue
                if hit and not on:
                    st = state.setdefault(rule.key, {})
                    st["on"] = True
                    changed = True
                    found.append(Occurrence(rule.id, subject, obs.ts, details))
                elif on and not hit:
                    st["on"] = False
                    changed = True
                    found.append(Ending(rule.id, subject, obs.ts, details))
        return changed, found


class _Cache:
    """The process's rule book, reloaded when rules change (checked every few seconds)."""

    CHECK_EVERY = 2.0

    def __init__(self):
        self._lock = threading.Lock()
        self._book: RuleBook | None = None
        self._signature = None
        self._checked = 0.0

    def get(self) -> RuleBook:
        now = time.monotonic()
        if self._book is not None and now - self._checked < self.CHECK_EVERY:
            return self._book
        with self._lock:
            rules = Rule.objects.filter(source=Source.TELEMETRY)
            signature = tuple(rules.aggregate(n=Count("pk"), at=Max("updated_at")).values())
            if self._book is None or signature != self._signature:
                self._book = RuleBook(rules.filter(enabled=True))
                self._signature = signature
            self._checked = now
            return self._book

    def forget(self) -> None:
        with self._lock:
            self._book = None


_cache = _Cache()


def rulebook() -> RuleBook:
    return _cache.get()


def forget_rulebook() -> None:
    _cache.forget()
