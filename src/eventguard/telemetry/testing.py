"""Factories for tests of telemetry and alerts: devices made through the services,
messages as devices send them."""

from __future__ import annotations

import datetime as dt
import itertools
import json

from django.utils import timezone

from eventguard.core.models import Event, Unit

from . import services
from .models import Device

_counter = itertools.count(1)


def forget_process_caches() -> None:
    """Empty the caches a process keeps between batches (the rule book, the device directory,
    the tally registrations): a test's rows must not be seen by the next test."""
    from eventguard.alerts.engine import forget_rulebook

    from . import bulk
    from .services import directory

    forget_rulebook()
    directory.clear()
    bulk._registrations.clear()


def make_device(
    event: Event,
    *,
    subject: Unit,
    kind: str = "temperature_logger",
    code: str | None = None,
    **fields,
) -> tuple[Device, str]:
    """A device reporting on ``subject`` (any record of a registered subject kind)."""
    return services.device_create(
        actor=None,
        event=event,
        code=code or f"dev-{next(_counter)}",
        kind=kind,
        subject_type=subject._meta.label_lower,
        subject_id=subject.pk,
        **fields,
    )


def epoch_ms(at: dt.datetime | None = None) -> int:
    return int((at or timezone.now()).timestamp() * 1000)


def temperature(seq: int, celsius: float, *, at: dt.datetime | None = None, **extra) -> dict:
    return {"ts": epoch_ms(at), "seq": seq, "kind": "temperature", "celsius": celsius, **extra}


def elevator(seq: int, *, fault: str | None = None, at: dt.datetime | None = None, **extra):
    data = {
        "ts": epoch_ms(at),
        "seq": seq,
        "kind": "elevator.status",
        "run_state": "stopped" if fault else "running",
        "direction": "none",
        "door": "closed",
        "at_floor_level": True,
        "speed": 0.0 if fault else 1.5,
        "floor": 3,
        "person_in_car": bool(fault),
        **extra,
    }
    if fault:
        data["fault"] = fault
    return data


def camera(seq: int, detection: str, confidence: float = 0.95, *, at=None) -> dict:
    return {
        "ts": epoch_ms(at),
        "seq": seq,
        "kind": "camera.event",
        "detection": detection,
        "confidence": confidence,
    }


def inbound(device: Device, data, *, raw: bytes | None = None) -> services.Inbound:
    body = raw if raw is not None else json.dumps(data).encode()
    return services.Inbound(device.event.code, device.code, body=body)


def ingest(device: Device, *payloads, now: dt.datetime | None = None) -> services.IngestResult:
    """Messages from one device, through the one ingest service."""
    return services.telemetry_ingest(messages=[inbound(device, p) for p in payloads], now=now)
