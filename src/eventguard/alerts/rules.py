"""The kinds of rule, the parameters each takes, and the default rule set of an event.

One table (:data:`KIND_PARAMS`) says which parameters a kind of rule takes; the rule
services validate against it, the rule form builds its fields from it and the API
documents it. :data:`DEFAULT_RULES` is what a new event (and the reference scenario)
starts with.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from eventguard.core import conditions
from eventguard.telemetry.contract import (
    CAMERA_EVENT,
    ELEVATOR_STATUS,
    TEMPERATURE,
    Detection,
    FaultCode,
)
from eventguard.telemetry.models import DeviceKind

from .models import RuleKind, Severity

# Readings a threshold or rate-of-change rule can watch, and the message kind carrying each.
READING_FIELDS = {
    "celsius": (TEMPERATURE, _("Temperature (°C)")),
    "humidity": (TEMPERATURE, _("Relative humidity (%)")),
    "speed": (ELEVATOR_STATUS, _("Elevator speed (m/s)")),
}
OPERATORS = [("above", _("above")), ("below", _("below"))]


def _condition_choices() -> list[tuple[str, str]]:
    return [(c.name, f"{c.name} · {c.label}") for c in conditions.registered()]


@dataclass(frozen=True)
class Param:
    name: str
    label: Promise
    type: str  # "choice", "choices", "float", "int", "text", "texts", "object"
    required: bool = True
    default: Any = None
    choices: list | Callable[[], list] | None = None
    minimum: float | None = None
    maximum: float | None = None
    help: Promise | str = ""

    def choice_list(self) -> list[tuple[str, str]]:
        choices = self.choices() if callable(self.choices) else (self.choices or [])
        return [(str(k), str(v)) for k, v in choices]


_DEVICE_KINDS = Param(
    "device_kinds",
    _("Only devices of these kinds"),
    "choices",
    required=False,
    default=[],
    choices=DeviceKind.choices,
)
_SUBJECT_TYPES = Param(
    "subject_types",
    _("Only subjects of these kinds"),
    "texts",
    required=False,
    default=[],
    help=_("Subject kind labels such as coldchain.box; empty: every subject."),
)

KIND_PARAMS: dict[str, list[Param]] = {
    RuleKind.FAULT_CODE: [
        Param("codes", _("Fault codes"), "choices", choices=FaultCode.choices),
        _DEVICE_KINDS,
    ],
    RuleKind.THRESHOLD: [
        Param(
            "field",
            _("Reading"),
            "choice",
            choices=[(k, v[1]) for k, v in READING_FIELDS.items()],
        ),
        Param("op", _("Alarm when the reading is"), "choice", choices=OPERATORS),
        Param("value", _("Limit"), "float", minimum=-1000, maximum=1000),
        Param(
            "hold_seconds",
            _("Held for at least (seconds)"),
            "int",
            required=False,
            default=0,
            minimum=0,
            maximum=7 * 86400,
        ),
        _DEVICE_KINDS,
        _SUBJECT_TYPES,
    ],
    RuleKind.RATE_OF_CHANGE: [
        Param(
            "field",
            _("Reading"),
            "choice",
            choices=[(k, v[1]) for k, v in READING_FIELDS.items()],
        ),
        Param("max_change", _("Largest allowed change"), "float", minimum=0.001, maximum=1000),
        Param(
            "per_seconds",
            _("Per (seconds)"),
            "int",
            required=False,
            default=60,
            minimum=1,
            maximum=86400,
        ),
        _DEVICE_KINDS,
        _SUBJECT_TYPES,
    ],
    RuleKind.CAMERA_DETECTION: [
        Param("detections", _("Detections"), "choices", choices=Detection.choices),
        Param(
            "min_confidence",
            _("Lowest confidence"),
            "float",
            required=False,
            default=0.8,
            minimum=0,
            maximum=1,
        ),
    ],
    RuleKind.DEVICE_OFFLINE: [_DEVICE_KINDS],
    RuleKind.RECORD: [
        Param(
            "event",
            _("Domain event"),
            "text",
            help=_("The name a domain publishes, e.g. coldchain.sample.result_recorded."),
        ),
        Param(
            "match",
            _("When the event's fields equal"),
            "object",
            required=False,
            default={},
            help=_('A JSON object, e.g. {"result": "positive"}.'),
        ),
        Param("subject_type", _("Subject kind"), "text", help=_("e.g. coldchain.box")),
        Param("subject_key", _("Field naming the subject"), "text", help=_("e.g. box_id")),
    ],
    RuleKind.CONDITION: [
        Param("condition", _("Condition"), "choice", choices=_condition_choices),
        Param(
            "options",
            _("Options of the condition"),
            "object",
            required=False,
            default={},
            help=_('A JSON object, e.g. {"hours": 24}.'),
        ),
    ],
}

POINT_KINDS = frozenset({RuleKind.CAMERA_DETECTION, RuleKind.RECORD})


def _coerce(param: Param, value):
    if param.type in {"float", "int"}:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError
        number = float(value) if param.type == "float" else int(value)
        if param.minimum is not None and number < param.minimum:
            raise ValueError
        if param.maximum is not None and number > param.maximum:
            raise ValueError
        return number
    if param.type == "choice":
        value = str(value)
        if param.name != "condition" and value not in dict(param.choice_list()):
            raise ValueError
        return value
    if param.type == "choices":
        if isinstance(value, str):
            value = [v for v in (p.strip() for p in value.split(",")) if v]
        allowed = dict(param.choice_list())
        if not isinstance(value, list | tuple) or any(str(v) not in allowed for v in value):
            raise ValueError
        return sorted({str(v) for v in value})
    if param.type == "texts":
        if isinstance(value, str):
            value = [v for v in (p.strip() for p in value.split(",")) if v]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValueError
        return sorted({v.strip().lower() for v in value if v.strip()})
    if param.type == "object":
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else {}
        if not isinstance(value, dict):
            raise ValueError
        return value
    value = str(value).strip()
    if not value or len(value) > 100:
        raise ValueError
    return value


def _empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def clean_params(kind: str, params: dict | None) -> dict:
    """The parameters of a rule of ``kind``, checked and completed with defaults."""
    specs = KIND_PARAMS.get(kind)
    if specs is None:
        raise ValidationError({"kind": gettext("Unknown kind of rule.")})
    params = dict(params or {})
    known = {p.name for p in specs}
    unknown = sorted(set(params) - known)
    errors: dict[str, list[str]] = {}
    if unknown:
        errors.setdefault("params", []).append(
            gettext("Unknown parameter: %(names)s.") % {"names": ", ".join(unknown)}
        )
    cleaned = {}
    for param in specs:
        value = params.get(param.name)
        if _empty(value):
            if param.required:
                errors.setdefault("params", []).append(
                    gettext("%(param)s: a value is required.") % {"param": param.label}
                )
            cleaned[param.name] = param.default
            continue
        try:
            cleaned[param.name] = _coerce(param, value)
        except (ValueError, TypeError):
            errors.setdefault("params", []).append(
                gettext("%(param)s: “%(value)s” is not allowed.")
                % {"param": param.label, "value": value}
            )
    if errors:
        raise ValidationError(errors)
    # A condition nobody has registered is accepted: its domain may not be installed yet,
    # and the rules page says so.
    return cleaned


def trigger_of(kind: str, params: dict) -> str:
    """What the rule listens to: a message kind, a domain-event name or a condition."""
    if kind == RuleKind.FAULT_CODE:
        return ELEVATOR_STATUS
    if kind in (RuleKind.THRESHOLD, RuleKind.RATE_OF_CHANGE):
        return READING_FIELDS[params["field"]][0]
    if kind == RuleKind.CAMERA_DETECTION:
        return CAMERA_EVENT
    if kind == RuleKind.DEVICE_OFFLINE:
        return "telemetry.device_offline"
    if kind == RuleKind.RECORD:
        return params["event"]
    return params["condition"]


def describe_params(kind: str, params: dict) -> str:
    """The parameters in a line a person reads on the rules page."""
    parts = []
    for param in KIND_PARAMS.get(kind, []):
        value = params.get(param.name)
        if _empty(value):
            continue
        if param.type in {"choice", "choices"}:
            labels = dict(param.choice_list())
            values = value if isinstance(value, list) else [value]
            text = ", ".join(labels.get(str(v), str(v)).split(" · ")[0] for v in values)
        elif param.type == "object":
            text = json.dumps(value, ensure_ascii=False)
        elif param.type == "texts":
            text = ", ".join(value)
        else:
            text = str(value)
        parts.append(f"{param.label}: {text}")
    return "; ".join(parts)


# ---------------------------------------------------------------- the default rule set


@dataclass(frozen=True)
class DefaultRule:
    code: str
    name_zh: str
    name_en: str
    kind: str
    severity: str
    domain: str
    params: dict
    interval_seconds: int = 60


DEFAULT_RULES = [
    DefaultRule(
        "lift-trapped",
        "电梯困人",
        "Passenger trapped in a lift",
        RuleKind.FAULT_CODE,
        Severity.CRITICAL,
        "equipment",
        {"codes": [FaultCode.TRAPPED_AT_FLOOR, FaultCode.TRAPPED_AWAY_FROM_FLOOR]},
    ),
    DefaultRule(
        "lift-dangerous-motion",
        "电梯危险运行（超速、冲顶蹲底、开门走车）",
        "Lift in dangerous motion (overspeed, over-travel, moving with door open)",
        RuleKind.FAULT_CODE,
        Severity.CRITICAL,
        "equipment",
        {
            "codes": [
                FaultCode.OVERSPEED,
                FaultCode.OVER_TRAVEL_TOP,
                FaultCode.OVER_TRAVEL_BOTTOM,
                FaultCode.MOVING_DOOR_OPEN,
            ]
        },
    ),
    DefaultRule(
        "lift-circuit",
        "电梯安全回路或门锁回路故障",
        "Lift safety or door-lock circuit fault",
        RuleKind.FAULT_CODE,
        Severity.MAJOR,
        "equipment",
        {
            "codes": [
                FaultCode.SAFETY_CIRCUIT_OPEN,
                FaultCode.DOOR_LOCK_CIRCUIT_OPEN,
                FaultCode.STOPPED_OUTSIDE_DOOR_ZONE,
            ]
        },
    ),
    DefaultRule(
        "lift-door-power",
        "电梯门故障或停电",
        "Lift door fault or power cut",
        RuleKind.FAULT_CODE,
        Severity.MINOR,
        "equipment",
        {"codes": [FaultCode.DOOR_FAULT, FaultCode.POWER_CUT]},
    ),
    DefaultRule(
        "escalator-critical",
        "扶梯危险故障（超速、逆转、缺级、制动）",
        "Escalator danger (overspeed, reversal, missing step, brake)",
        RuleKind.FAULT_CODE,
        Severity.CRITICAL,
        "equipment",
        {
            "codes": [
                FaultCode.ESCALATOR_OVERSPEED,
                FaultCode.ESCALATOR_REVERSAL,
                FaultCode.MISSING_STEP,
                FaultCode.BRAKE_FAULT,
            ]
        },
    ),
    DefaultRule(
        "escalator-handrail",
        "扶梯扶手带速度偏差",
        "Escalator handrail underspeed",
        RuleKind.FAULT_CODE,
        Severity.MINOR,
        "equipment",
        {"codes": [FaultCode.HANDRAIL_UNDERSPEED]},
    ),
    DefaultRule(
        "frozen-above-18",
        "冷冻展品温度高于−18 °C持续10分钟",
        "Frozen goods above −18 °C for 10 minutes",
        RuleKind.THRESHOLD,
        Severity.MAJOR,
        "coldchain",
        {
            "field": "celsius",
            "op": "above",
            "value": -18.0,
            "hold_seconds": 600,
            "device_kinds": [DeviceKind.TEMPERATURE_LOGGER],
        },
    ),
    DefaultRule(
        "temperature-rising-fast",
        "冷链温度快速上升",
        "Cold-chain temperature rising fast",
        RuleKind.RATE_OF_CHANGE,
        Severity.WARNING,
        "coldchain",
        {
            "field": "celsius",
            "max_change": 3.0,
            "per_seconds": 60,
            "device_kinds": [DeviceKind.TEMPERATURE_LOGGER],
        },
    ),
    DefaultRule(
        "device-offline",
        "设备离线",
        "Device offline",
        RuleKind.DEVICE_OFFLINE,
        Severity.WARNING,
        "monitoring",
        {},
        interval_seconds=15,
    ),
    DefaultRule(
        "kitchen-hygiene",
        "明厨亮灶：从业人员行为不规范",
        "Open kitchen: staff hygiene breach",
        RuleKind.CAMERA_DETECTION,
        Severity.MINOR,
        "food",
        {
            "detections": [
                Detection.NO_CHEF_HAT,
                Detection.NO_MASK,
                Detection.NO_UNIFORM,
                Detection.SMOKING,
                Detection.PHONE_USE,
                Detection.UNCOVERED_BIN,
            ],
            "min_confidence": 0.8,
        },
    ),
    DefaultRule(
        "kitchen-rodent",
        "明厨亮灶：发现鼠患",
        "Open kitchen: rodent seen",
        RuleKind.CAMERA_DETECTION,
        Severity.MAJOR,
        "food",
        {"detections": [Detection.RODENT], "min_confidence": 0.6},
    ),
    DefaultRule(
        "nat-positive",
        "冷链核酸检测阳性",
        "Positive nucleic-acid result on cold-chain goods",
        RuleKind.RECORD,
        Severity.CRITICAL,
        "coldchain",
        {
            "event": "coldchain.sample.result_recorded",
            "match": {"result": "positive"},
            "subject_type": "coldchain.box",
            "subject_key": "box_id",
        },
    ),
    DefaultRule(
        "rapid-test-failed",
        "食品快检不合格",
        "Food rapid test failed",
        RuleKind.RECORD,
        Severity.MAJOR,
        "food",
        {
            "event": "food.rapid_test.recorded",
            "match": {"passed": False},
            "subject_type": "core.unit",
            "subject_key": "unit_id",
        },
    ),
    DefaultRule(
        "major-hazard-reported",
        "上报重大隐患",
        "Major hidden danger reported",
        RuleKind.RECORD,
        Severity.MAJOR,
        "hazards",
        {
            "event": "hazards.hazard.reported",
            "match": {"grade": "major"},
            "subject_type": "hazards.hazard",
            "subject_key": "hazard_id",
        },
    ),
    DefaultRule(
        "patrol-overdue",
        "电梯巡查超时",
        "Elevator patrol overdue",
        RuleKind.CONDITION,
        Severity.MINOR,
        "equipment",
        {"condition": "equipment.patrol_overdue", "options": {}},
    ),
    DefaultRule(
        "hazard-overdue",
        "隐患超期未整改",
        "Hidden danger past its deadline",
        RuleKind.CONDITION,
        Severity.MAJOR,
        "hazards",
        {"condition": "hazards.overdue", "options": {}},
    ),
    DefaultRule(
        "box-at-risk",
        "冷链箱临近入馆截止仍未放行",
        "Cold-chain box not cleared before the entry deadline",
        RuleKind.CONDITION,
        Severity.CRITICAL,
        "coldchain",
        {"condition": "coldchain.box_at_risk", "options": {"hours": 24}},
        interval_seconds=300,
    ),
]
