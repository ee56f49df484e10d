"""The EPCIS events EventGuard writes for the steps of the loop, the repository's storage of
events, and the query documents it returns."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence
from decimal import Decimal
from urllib.parse import quote

from django.utils import timezone

from ..identifiers import canonical_key
from . import vocabulary as voc
from .formats import format_date_time, is_uri, time_zone_offset
from .model import EpcisEventData, parse_event

EXTENSION_CONTEXT = {voc.EXTENSION_PREFIX: voc.EXTENSION_NAMESPACE}

# ---------------------------------------------------------------- identifiers we mint


def urn(kind: str, value: str) -> str:
    """``urn:eventguard:<kind>:<value>``, the value percent-encoded."""
    return f"{voc.NAMESPACE}{kind}:{quote(str(value), safe='-._~')}"


def unit_uri(unit) -> str:
    """A supervised unit as a place or party: by its unified social credit code."""
    return urn("uscc", unit.credit_code)


def port_uri(port: str) -> str:
    return urn("port", port)


def venue_uri(event) -> str:
    return urn("venue", event.code)


def vehicle_uri(plate: str) -> str:
    return urn("vehicle", plate)


def unquote_urn(uri: str, kind: str) -> str | None:
    """The value of ``urn:eventguard:<kind>:<value>``, else None."""
    from urllib.parse import unquote

    prefix = f"{voc.NAMESPACE}{kind}:"
    return unquote(uri[len(prefix) :]) if uri.startswith(prefix) else None


# ---------------------------------------------------------------- events of the loop


def local_time(event, at: dt.datetime) -> dt.datetime:
    """``at`` in the event's time zone (EPCIS keeps the local offset of the event)."""
    return at.astimezone(zoneinfo.ZoneInfo(event.time_zone))


def temperature_element(readings: Iterable[tuple[dt.datetime, Decimal, str]], event) -> dict:
    """A sensorElement of Temperature reports in °C: (time, value, device) each."""
    reports = []
    for at, celsius, device in readings:
        report = {
            "type": "Temperature",
            "time": format_date_time(local_time(event, at)),
            "value": float(celsius),
            "uom": "CEL",
        }
        if device:
            report["deviceID"] = device if is_uri(device) else urn("device", device)
        reports.append(report)
    return {"sensorReport": reports}


def object_event(
    *,
    event,
    at: dt.datetime,
    epcs: Sequence[str] = (),
    action: str = "OBSERVE",
    biz_step: str = "",
    disposition: str = "",
    read_point: str = "",
    biz_location: str = "",
    biz_transactions: Sequence[tuple[str, str]] = (),
    sensor_elements: Sequence[dict] = (),
    extensions: dict | None = None,
) -> dict:
    """An ObjectEvent in the JSON binding (without eventID: the store assigns one)."""
    local = local_time(event, at)
    body: dict = {"type": "ObjectEvent"}
    if extensions:
        body["@context"] = [EXTENSION_CONTEXT]
    body["eventTime"] = format_date_time(local)
    body["eventTimeZoneOffset"] = time_zone_offset(local)
    if epcs or not sensor_elements:
        body["epcList"] = list(dict.fromkeys(epcs))
    body["action"] = action
    if biz_step:
        body["bizStep"] = biz_step
    if disposition:
        body["disposition"] = disposition
    if read_point:
        body["readPoint"] = {"id": read_point}
    if biz_location:
        body["bizLocation"] = {"id": biz_location}
    if biz_transactions:
        body["bizTransactionList"] = [
            {"type": kind, "bizTransaction": value} if kind else {"bizTransaction": value}
            for kind, value in dict.fromkeys(biz_transactions)
        ]
    if sensor_elements:
        body["sensorElementList"] = list(sensor_elements)
    for name, value in (extensions or {}).items():
        body[f"{voc.EXTENSION_PREFIX}:{name}"] = value
    return body


# ---------------------------------------------------------------- storage


def store_events(event, parsed: Sequence[EpcisEventData], *, capture=None, record_time=None):
    """Write parsed events and the identifiers they name; returns the EpcisEvent rows."""
    from ..models import EpcisEvent, EpcisObject

    record_time = record_time or timezone.now()
    rows = [
        EpcisEvent(
            event=event,
            capture=capture,
            identifier=p.event_id,
            event_type=p.type,
            event_time=p.event_time,
            record_time=record_time,
            action=p.action,
            biz_step=p.biz_step,
            disposition=p.disposition,
            read_point=p.read_point,
            biz_location=p.biz_location,
            body=p.body,
        )
        for p in parsed
    ]
    EpcisEvent.objects.bulk_create(rows, batch_size=500)
    objects = [
        EpcisObject(event=event, epcis_event=row, role=role, epc=value, key=canonical_key(value))
        for row, p in zip(rows, parsed, strict=True)
        for role, value in dict.fromkeys(p.identifiers)
    ]
    EpcisObject.objects.bulk_create(objects, batch_size=1000)
    return rows


def store_own_event(event, body: dict, *, capture=None, record_time=None):
    """Store one event EventGuard wrote itself (a step of the loop, readings). It is held to
    the same EPCIS rules as a captured one: what the interface returns must validate."""
    from .validation import Checker
    from .validation import event as check_event

    checker = Checker()
    if not check_event(checker, body, "$"):
        raise ValueError(f"an EPCIS event EventGuard wrote is not valid: {checker.problems}")
    return store_events(event, [parse_event("$", body)], capture=capture, record_time=record_time)[
        0
    ]


# ---------------------------------------------------------------- queries


def exported(row) -> dict:
    """An event as the interface returns it: its body plus the repository's record time."""
    body = dict(row.body)
    body["recordTime"] = format_date_time(row.record_time.astimezone(dt.UTC))
    return body


def query_document(rows: Iterable, *, query_name: str = "SimpleEventQuery") -> dict:
    return {
        "@context": [voc.EPCIS_CONTEXT],
        "type": "EPCISQueryDocument",
        "schemaVersion": voc.SCHEMA_VERSION,
        "creationDate": format_date_time(timezone.now().astimezone(dt.UTC)),
        "epcisBody": {
            "queryResults": {
                "queryName": query_name,
                "resultsBody": {"eventList": [exported(r) for r in rows]},
            }
        },
    }
