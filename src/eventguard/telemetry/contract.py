"""The telemetry contract: what a device may send, checked message by message.

Every payload is a JSON object ``{"ts", "seq", "kind", ...}``; ``ts`` is ISO-8601 with
an offset or epoch milliseconds, ``seq`` an integer that increases per device. The kinds
and their fields are documented in docs/telemetry.md. Validation is plain Python over
the decoded object (no per-message model ``full_clean()``): the hot path checks tens of
thousands of messages a second, and the database constraints back it up.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

ELEVATOR_STATUS = "elevator.status"
TEMPERATURE = "temperature"
CAMERA_EVENT = "camera.event"


class MessageKind(models.TextChoices):
    ELEVATOR_STATUS = ELEVATOR_STATUS, _("Elevator status")
    TEMPERATURE = TEMPERATURE, _("Temperature")
    CAMERA_EVENT = CAMERA_EVENT, _("Kitchen camera event")


class RunState(models.TextChoices):
    RUNNING = "running", _("Running")
    STOPPED = "stopped", _("Stopped")
    INSPECTION = "inspection", _("Inspection or maintenance")
    OUT_OF_SERVICE = "out_of_service", _("Out of service")


class FaultCode(models.TextChoices):
    """Faults an elevator controller reports, after GB/T 24476 practice."""

    # lifts
    TRAPPED_AT_FLOOR = "trapped_at_floor", _("Passenger trapped at a floor")
    TRAPPED_AWAY_FROM_FLOOR = "trapped_away_from_floor", _("Passenger trapped away from a floor")
    OVER_TRAVEL_TOP = "over_travel_top", _("Over-travel at the top")
    OVER_TRAVEL_BOTTOM = "over_travel_bottom", _("Over-travel at the bottom")
    OVERSPEED = "overspeed", _("Car overspeed")
    MOVING_DOOR_OPEN = "moving_door_open", _("Car moving with the door open")
    STOPPED_OUTSIDE_DOOR_ZONE = "stopped_outside_door_zone", _("Stopped outside the door zone")
    SAFETY_CIRCUIT_OPEN = "safety_circuit_open", _("Safety circuit open")
    DOOR_LOCK_CIRCUIT_OPEN = "door_lock_circuit_open", _("Door-lock circuit open")
    DOOR_FAULT = "door_fault", _("Door fault")
    POWER_CUT = "power_cut", _("Power cut")
    # escalators and moving walks
    ESCALATOR_OVERSPEED = "escalator_overspeed", _("Escalator overspeed")
    ESCALATOR_REVERSAL = "escalator_reversal", _("Unintended reversal")
    HANDRAIL_UNDERSPEED = "handrail_underspeed", _("Handrail underspeed")
    MISSING_STEP = "missing_step", _("Missing step or pallet")
    BRAKE_FAULT = "brake_fault", _("Brake fault")


LIFT_FAULTS = frozenset(
    {
        FaultCode.TRAPPED_AT_FLOOR,
        FaultCode.TRAPPED_AWAY_FROM_FLOOR,
        FaultCode.OVER_TRAVEL_TOP,
        FaultCode.OVER_TRAVEL_BOTTOM,
        FaultCode.OVERSPEED,
        FaultCode.MOVING_DOOR_OPEN,
        FaultCode.STOPPED_OUTSIDE_DOOR_ZONE,
        FaultCode.SAFETY_CIRCUIT_OPEN,
        FaultCode.DOOR_LOCK_CIRCUIT_OPEN,
        FaultCode.DOOR_FAULT,
        FaultCode.POWER_CUT,
    }
)
ESCALATOR_FAULTS = frozenset(
    {
        FaultCode.ESCALATOR_OVERSPEED,
        FaultCode.ESCALATOR_REVERSAL,
        FaultCode.HANDRAIL_UNDERSPEED,
        FaultCode.MISSING_STEP,
        FaultCode.BRAKE_FAULT,
    }
)


class Detection(models.TextChoices):
    """What an AI kitchen camera detects."""

    NO_CHEF_HAT = "no_chef_hat", _("No chef hat")
    NO_MASK = "no_mask", _("No mask")
    NO_UNIFORM = "no_uniform", _("No work clothes")
    SMOKING = "smoking", _("Smoking")
    PHONE_USE = "phone_use", _("Using a phone while cooking")
    RODENT = "rodent", _("Rodent")
    UNCOVERED_BIN = "uncovered_bin", _("Uncovered rubbish bin")


class Reason(models.TextChoices):
    """Why a message went to the dead-letter store."""

    OVERSIZED = "oversized", _("Too large")
    NOT_JSON = "not_json", _("Not a JSON object")
    INVALID = "invalid", _("Missing field or wrong type")
    BAD_TOPIC = "bad_topic", _("Topic does not follow the contract")
    UNKNOWN_DEVICE = "unknown_device", _("Unknown device")
    INACTIVE_DEVICE = "inactive_device", _("Device deactivated")
    REPLAYED_SEQ = "replayed_seq", _("Sequence number reused with other content")
    FUTURE_TIMESTAMP = "future_timestamp", _("Timestamp too far in the future")


class Invalid(Exception):
    """A message that breaks the contract, with the reason it is dead-lettered for."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class Reading:
    """A message that passed the contract."""

    seq: int
    kind: str
    ts: dt.datetime
    value: float | None  # the kind's principal number: speed, degrees, confidence
    data: dict


MAX_SEQ = 2**63 - 1
_EPOCH_MS_MIN = 946_684_800_000  # 2000-01-01
_EPOCH_MS_MAX = 4_102_444_800_000  # 2100-01-01
_UTC = dt.UTC


def _number(data: dict, name: str, low: float, high: float, *, required: bool) -> float | None:
    value = data.get(name)
    if value is None:
        if required:
            raise Invalid(Reason.INVALID, f"{name}: required")
        return None
    if type(value) is not int and type(value) is not float:
        raise Invalid(Reason.INVALID, f"{name}: must be a number")
    if not (low <= value <= high) or (type(value) is float and not math.isfinite(value)):
        raise Invalid(Reason.INVALID, f"{name}: must be between {low} and {high}")
    return float(value)


def _choice(data: dict, name: str, allowed, *, required: bool):
    value = data.get(name)
    if value is None:
        if required:
            raise Invalid(Reason.INVALID, f"{name}: required")
        return None
    if type(value) is not str or value not in allowed:
        raise Invalid(Reason.INVALID, f"{name}: must be one of {', '.join(sorted(allowed))}")
    return value


def _flag(data: dict, name: str) -> None:
    value = data.get(name)
    if value is not None and type(value) is not bool:
        raise Invalid(Reason.INVALID, f"{name}: must be true or false")


_RUN_STATES = frozenset(RunState.values)
_DIRECTIONS = frozenset({"up", "down", "none"})
_DOOR_STATES = frozenset({"open", "closed", "opening", "closing"})
_FAULTS = frozenset(FaultCode.values)
_DETECTIONS = frozenset(Detection.values)


def _elevator(data: dict) -> float | None:
    _choice(data, "run_state", _RUN_STATES, required=True)
    _choice(data, "direction", _DIRECTIONS, required=False)
    _choice(data, "door", _DOOR_STATES, required=False)
    _flag(data, "at_floor_level")
    _flag(data, "person_in_car")
    floor = data.get("floor")
    if floor is not None and (type(floor) is not int or not -20 <= floor <= 300):
        raise Invalid(Reason.INVALID, "floor: must be a whole number between -20 and 300")
    _choice(data, "fault", _FAULTS, required=False)
    return _number(data, "speed", 0, 20, required=False)


def _temperature(data: dict) -> float | None:
    _number(data, "humidity", 0, 100, required=False)
    return _number(data, "celsius", -100, 100, required=True)


def _camera(data: dict) -> float | None:
    _choice(data, "detection", _DETECTIONS, required=True)
    image = data.get("image")
    if image is not None and (type(image) is not str or len(image) > 500):
        raise Invalid(Reason.INVALID, "image: must be a text of at most 500 characters")
    return _number(data, "confidence", 0, 1, required=True)


KIND_CHECKS = {ELEVATOR_STATUS: _elevator, TEMPERATURE: _temperature, CAMERA_EVENT: _camera}


def parse_ts(value) -> dt.datetime:
    if type(value) is int:
        if not _EPOCH_MS_MIN <= value <= _EPOCH_MS_MAX:
            raise Invalid(Reason.INVALID, "ts: epoch milliseconds out of range")
        return dt.datetime.fromtimestamp(value / 1000, _UTC)
    if type(value) is str and 10 <= len(value) <= 40:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None and 2000 <= parsed.year < 2100:
            return parsed.astimezone(_UTC)
    raise Invalid(Reason.INVALID, "ts: must be ISO-8601 with a UTC offset, or epoch milliseconds")


def check(data, *, now: dt.datetime, max_skew: dt.timedelta) -> Reading:
    """A decoded payload as a Reading, or :class:`Invalid` naming what is wrong."""
    if type(data) is not dict:
        raise Invalid(Reason.NOT_JSON, "the payload must be a JSON object")
    seq = data.get("seq")
    if type(seq) is not int or not 0 <= seq <= MAX_SEQ:
        raise Invalid(Reason.INVALID, "seq: must be a whole number from 0 to 2^63-1")
    kind = data.get("kind")
    check_kind = KIND_CHECKS.get(kind) if type(kind) is str else None
    if check_kind is None:
        raise Invalid(Reason.INVALID, f"kind: must be one of {', '.join(sorted(KIND_CHECKS))}")
    ts = parse_ts(data.get("ts"))
    if ts > now + max_skew:
        raise Invalid(
            Reason.FUTURE_TIMESTAMP,
            f"ts {ts.isoformat()} is more than {int(max_skew.total_seconds())} s ahead",
        )
    value = check_kind(data)
    return Reading(seq, kind, ts, value, data)
