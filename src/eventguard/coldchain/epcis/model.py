"""A validated EPCIS event in typed form: what the repository indexes and the loop reads."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .formats import parse_date_time

STANDARD_CONTEXT_PREFIX = "https://ref.gs1.org/standards/epcis/"

# (role of the identifier, the field naming it, whether it is a list)
IDENTIFIER_FIELDS = (
    ("epc", "epcList", True),
    ("child", "childEPCs", True),
    ("parent", "parentID", False),
    ("input", "inputEPCList", True),
    ("output", "outputEPCList", True),
)


@dataclass(frozen=True)
class BizTransaction:
    type: str
    value: str


@dataclass(frozen=True)
class SensorReading:
    type: str
    value: Decimal | None
    uom: str
    time: dt.datetime | None
    device_id: str


@dataclass
class EpcisEventData:
    """One event of a valid document."""

    path: str  # its JSON path in the document it came in
    type: str
    event_id: str
    event_id_assigned: bool
    event_time: dt.datetime
    time_zone_offset: str
    action: str
    biz_step: str
    disposition: str
    read_point: str
    biz_location: str
    identifiers: list[tuple[str, str]]  # (role, identifier)
    biz_transactions: list[BizTransaction]
    sensor_readings: list[SensorReading]
    extensions: dict  # fields named by a URI or compact URI
    body: dict  # the event as it will be stored and returned
    errors: list = field(default_factory=list)

    @property
    def epcs(self) -> list[str]:
        return [value for role, value in self.identifiers if role == "epc"]


def _decimal(value) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _sensor_readings(event: dict) -> list[SensorReading]:
    readings = []
    for element in event.get("sensorElementList") or []:
        metadata = element.get("sensorMetadata") or {}
        for report in element.get("sensorReport") or []:
            when = report.get("time") or metadata.get("time")
            readings.append(
                SensorReading(
                    type=report.get("type", ""),
                    value=_decimal(report.get("value")),
                    uom=report.get("uom", ""),
                    time=parse_date_time(when.upper()) if when else None,
                    device_id=report.get("deviceID") or metadata.get("deviceID") or "",
                )
            )
    return readings


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _location_id(value) -> str:
    return _text(value.get("id")) if isinstance(value, dict) else ""


def _extra_context(document_context) -> list:
    """The entries of a document's @context besides the standard EPCIS context."""
    if document_context is None:
        return []
    entries = document_context if isinstance(document_context, list) else [document_context]
    return [
        e for e in entries if not (isinstance(e, str) and e.startswith(STANDARD_CONTEXT_PREFIX))
    ]


def _merged_context(document_extra: list, event_context) -> list:
    """The document's own context entries followed by the event's, without repeats."""
    entries = list(document_extra)
    if event_context is not None:
        own = event_context if isinstance(event_context, list) else [event_context]
        entries.extend(own)
    unique = []
    for entry in entries:
        if entry not in unique:
            unique.append(entry)
    return unique


def parse_event(path: str, event: dict, *, document_context=None) -> EpcisEventData:
    """A valid event in typed form. Its stored body keeps every field as it came, carries the
    document-level JSON-LD context it relied on, and gets an eventID if it had none."""
    body = dict(event)
    body.pop("recordTime", None)  # the repository sets the record time
    context = _merged_context(_extra_context(document_context), event.get("@context"))
    if context:
        body["@context"] = context
    else:
        body.pop("@context", None)
    assigned = "eventID" not in event
    if assigned:
        body["eventID"] = f"urn:uuid:{uuid.uuid4()}"
    identifiers = []
    for role, name, is_list in IDENTIFIER_FIELDS:
        value = event.get(name)
        items = value if is_list and isinstance(value, list) else [value]
        # Extension event types may use these names with other shapes: index strings only.
        identifiers.extend((role, item) for item in items if isinstance(item, str))
    extensions = {k: v for k, v in event.items() if ":" in k and not k.startswith("@")}
    return EpcisEventData(
        path=path,
        type=event["type"],
        event_id=body["eventID"],
        event_id_assigned=assigned,
        event_time=parse_date_time(event["eventTime"].upper()),
        time_zone_offset=event["eventTimeZoneOffset"],
        action=_text(event.get("action")),
        biz_step=_text(event.get("bizStep")),
        disposition=_text(event.get("disposition")),
        read_point=_location_id(event.get("readPoint")),
        biz_location=_location_id(event.get("bizLocation")),
        identifiers=identifiers,
        biz_transactions=[
            BizTransaction(t.get("type", ""), t["bizTransaction"])
            for t in event.get("bizTransactionList") or []
            if isinstance(t, dict) and "bizTransaction" in t
        ]
        if isinstance(event.get("bizTransactionList"), list)
        else [],
        sensor_readings=_sensor_readings(event)
        if event.get("type")
        in (
            "ObjectEvent",
            "AggregationEvent",
            "AssociationEvent",
            "TransactionEvent",
            "TransformationEvent",
        )
        else [],
        extensions=extensions,
        body=body,
    )
