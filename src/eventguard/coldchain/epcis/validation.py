"""An EPCIS 2.0 JSON / JSON-LD document checked against the rules of the EPCIS 2.0 JSON schema.

The rules are written here as tables and small typed checks, not loaded from the schema:
the structure of documents and of the five event types (and of extension event types),
required fields, the "what" of each event type (an ObjectEvent names objects by EPC, by
quantity, or is a sensor report at a read point; ...), the ``uri`` and ``date-time``
formats, the CBV vocabularies, and namespaced extensions (a field that is not a standard
field must be named by a URI or compact URI such as ``example:myField``).

:func:`validate` returns every problem found, each as a JSON path and a message; an empty
list means the document is valid.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from . import vocabulary as voc
from .formats import is_date_time, is_uri


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def as_dict(self) -> dict:
        return {"field": self.path, "message": self.message}


_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def child_path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _IDENTIFIER.fullmatch(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


class Checker:
    """Collects problems while the check functions walk a document."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str) -> bool:
        self.problems.append(Problem(path, message))
        return False


Check = Callable[[Checker, object, str], bool]

# ---------------------------------------------------------------- JSON types


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPE_TESTS: dict[str, Callable[[object], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
}


def _type_name(kind: str) -> str:
    return {
        "object": _("an object"),
        "array": _("an array"),
        "string": _("a string"),
        "number": _("a number"),
        "boolean": _("true or false"),
    }[kind]


def _expect(c: Checker, value, path: str, kind: str) -> bool:
    if _TYPE_TESTS[kind](value):
        return True
    return c.fail(path, _("Must be %(kind)s.") % {"kind": _type_name(kind)})


def _short(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


# ---------------------------------------------------------------- scalar checks


def any_value(c: Checker, value, path: str) -> bool:
    return True


def string(c: Checker, value, path: str) -> bool:
    return _expect(c, value, path, "string")


def number(c: Checker, value, path: str) -> bool:
    return _expect(c, value, path, "number")


def boolean(c: Checker, value, path: str) -> bool:
    return _expect(c, value, path, "boolean")


def uri(c: Checker, value, path: str) -> bool:
    if not _expect(c, value, path, "string"):
        return False
    if not is_uri(value):
        return c.fail(path, _("%(value)s is not an absolute URI.") % {"value": _short(value)})
    return True


def time(c: Checker, value, path: str) -> bool:
    if not _expect(c, value, path, "string"):
        return False
    if not is_date_time(value):
        return c.fail(
            path,
            _("%(value)s is not an RFC 3339 date-time (such as 2021-10-21T09:30:00+08:00).")
            % {"value": _short(value)},
        )
    return True


def _pattern(regex: str, description: str) -> Check:
    compiled = re.compile(regex)

    def check(c: Checker, value, path: str) -> bool:
        if not _expect(c, value, path, "string"):
            return False
        if not compiled.fullmatch(value):
            return c.fail(
                path,
                _("%(value)s is not %(what)s.") % {"value": _short(value), "what": description},
            )
        return True

    return check


def _lazy_pattern(regex: str, describe: Callable[[], str]) -> Check:
    compiled = re.compile(regex)

    def check(c: Checker, value, path: str) -> bool:
        if not _expect(c, value, path, "string"):
            return False
        if not compiled.fullmatch(value):
            return c.fail(
                path, _("%(value)s is not %(what)s.") % {"value": _short(value), "what": describe()}
            )
        return True

    return check


time_zone_offset = _lazy_pattern(
    r"[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00)",
    lambda: _("a time zone offset from -14:00 to +14:00 (such as +08:00)"),
)
version = _lazy_pattern(r"\d+(?:\.\d+)*", lambda: _("a version number (such as 2.0)"))
hex_binary = _lazy_pattern(r"[A-Fa-f0-9]+", lambda: _("hexadecimal digits"))
unit_of_measure = _lazy_pattern(
    r"[A-Z0-9]{2,3}", lambda: _("a UN/CEFACT unit code of 2 or 3 capitals or digits (such as KGM)")
)


def _vocabulary(terms: frozenset[str], refused_prefixes: tuple[str, ...], name: str) -> Check:
    """A bare term of ``terms``, or a URI outside ``refused_prefixes``."""

    def check(c: Checker, value, path: str) -> bool:
        if not _expect(c, value, path, "string"):
            return False
        if value in terms:
            return True
        if is_uri(value) and not value.startswith(refused_prefixes):
            return True
        if value.startswith(refused_prefixes):
            return c.fail(
                path,
                _(
                    "%(value)s: in the JSON binding a standard %(name)s is written as its bare "
                    "term, not as a URI of the GS1 vocabulary."
                )
                % {"value": _short(value), "name": name},
            )
        return c.fail(
            path,
            _("%(value)s is neither a standard %(name)s nor a URI of another vocabulary.")
            % {"value": _short(value), "name": name},
        )

    return check


biz_step = _vocabulary(voc.BIZ_STEPS, voc.CBV_URI_PREFIXES, "bizStep")
disposition = _vocabulary(voc.DISPOSITIONS, voc.CBV_URI_PREFIXES, "disposition")
error_reason = _vocabulary(voc.ERROR_REASONS, voc.CBV_URI_PREFIXES, "error reason")
biz_transaction_type = _vocabulary(
    voc.BIZ_TRANSACTION_TYPES, voc.CBV_URI_PREFIXES, "business transaction type"
)
source_destination_type = _vocabulary(
    voc.SOURCE_DESTINATION_TYPES, voc.CBV_URI_PREFIXES, "source or destination type"
)
component = _vocabulary(voc.COMPONENTS, voc.CBV_URI_PREFIXES, "component")
measurement_type = _vocabulary(
    voc.MEASUREMENT_TYPES, voc.GS1_WEB_VOCABULARY_PREFIXES, "measurement type"
)
sensor_alert_type = _vocabulary(
    voc.SENSOR_ALERT_TYPES, voc.GS1_WEB_VOCABULARY_PREFIXES, "sensor alert type"
)


def action(c: Checker, value, path: str) -> bool:
    if not _expect(c, value, path, "string"):
        return False
    if value not in voc.ACTIONS:
        return c.fail(
            path,
            _("%(value)s is not an action: use ADD, OBSERVE or DELETE.") % {"value": _short(value)},
        )
    return True


# ---------------------------------------------------------------- structures


def _canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def array_of(item: Check, *, min_items: int = 0, unique: bool = False) -> Check:
    def check(c: Checker, value, path: str) -> bool:
        if not _expect(c, value, path, "array"):
            return False
        ok = True
        if len(value) < min_items:
            ok = c.fail(path, _("Must hold at least %(n)d item(s).") % {"n": min_items})
        if unique:
            seen: set[str] = set()
            for index, element in enumerate(value):
                key = _canonical_json(element)
                if key in seen:
                    ok = c.fail(
                        child_path(path, index),
                        _("%(value)s appears twice: the items must be unique.")
                        % {"value": _short(element)},
                    )
                seen.add(key)
        for index, element in enumerate(value):
            ok = item(c, element, child_path(path, index)) and ok
        return ok

    return check


@dataclass(frozen=True)
class Shape:
    """An object: the checks of its known fields, its required fields, and what other
    field names it admits (``names``: None admits any; "uri" admits namespaced names;
    "none" admits no others)."""

    fields: dict[str, Check]
    required: tuple[str, ...] = ()
    others: str = "uri"  # "uri" | "any" | "none"
    allowed_names: frozenset[str] = frozenset()  # names admitted without a check

    def __call__(self, c: Checker, value, path: str) -> bool:
        if not _expect(c, value, path, "object"):
            return False
        ok = True
        for name in self.required:
            if name not in value:
                ok = c.fail(child_path(path, name), _("This field is required."))
        for name, element in value.items():
            check = self.fields.get(name)
            if check is not None:
                ok = check(c, element, child_path(path, name)) and ok
            elif name in self.allowed_names or self.others == "any":
                continue
            elif self.others == "uri" and is_uri(name):
                continue
            elif self.others == "uri":
                ok = c.fail(
                    child_path(path, name),
                    _(
                        "%(name)s is not a field of this structure; an extension field must be "
                        "named by a URI or a compact URI with a namespace prefix "
                        "(such as example:%(name)s)."
                    )
                    % {"name": _short(name)},
                )
            else:
                ok = c.fail(
                    child_path(path, name),
                    _("%(name)s is not a field of this structure.") % {"name": _short(name)},
                )
        return ok


def any_of(*checks: Check, message: Callable[[], str]) -> Check:
    """Valid when one of ``checks`` accepts the value; else one message for all."""

    def check(c: Checker, value, path: str) -> bool:
        for candidate in checks:
            if candidate(Checker(), value, path):
                return True
        return c.fail(path, message())

    return check


def _json_object(c: Checker, value, path: str) -> bool:
    return _expect(c, value, path, "object")


def _uri_string(c: Checker, value, path: str) -> bool:
    return isinstance(value, str) and is_uri(value)


def context(c: Checker, value, path: str) -> bool:
    """``@context``: a URI, an object, or an array of unique URIs and objects."""
    if isinstance(value, str):
        return uri(c, value, path)
    if isinstance(value, dict):
        return True
    if isinstance(value, list):
        item = any_of(
            _uri_string,
            lambda c2, v, p: isinstance(v, dict),
            message=lambda: _("A context entry must be a URI or an object."),
        )
        return array_of(item, unique=True)(c, value, path)
    return c.fail(path, _("The JSON-LD context must be a URI, an object or an array of them."))


def certification_info(c: Checker, value, path: str) -> bool:
    if isinstance(value, list):
        return array_of(uri)(c, value, path)
    return uri(c, value, path)


def ilmd(c: Checker, value, path: str) -> bool:
    """Instance/lot master data: every field named by a URI or compact URI."""
    return Shape({}, others="uri")(c, value, path)


quantity_element = Shape(
    {"epcClass": uri, "quantity": number, "uom": unit_of_measure},
    required=("epcClass",),
    others="none",
)
quantity_list = array_of(quantity_element)
epc_list = array_of(uri, unique=True)
uri_list = array_of(uri)

biz_transaction = Shape(
    {"type": biz_transaction_type, "bizTransaction": uri},
    required=("bizTransaction",),
    others="none",
)
biz_transaction_list = array_of(biz_transaction)

source = Shape(
    {"type": source_destination_type, "source": uri}, required=("type", "source"), others="none"
)
destination = Shape(
    {"type": source_destination_type, "destination": uri},
    required=("type", "destination"),
    others="none",
)

# readPoint and bizLocation admit any further fields (the schema leaves them open).
location = Shape({"id": uri}, required=("id",), others="any")

sensor_metadata = Shape(
    {
        "time": time,
        "deviceID": uri,
        "deviceMetadata": uri,
        "rawData": uri,
        "startTime": time,
        "endTime": time,
        "dataProcessingMethod": uri,
        "bizRules": uri,
    }
)

sensor_report = Shape(
    {
        "type": measurement_type,
        "exception": sensor_alert_type,
        "deviceID": uri,
        "deviceMetadata": uri,
        "rawData": uri,
        "dataProcessingMethod": uri,
        "bizRules": uri,
        "time": time,
        "microorganism": uri,
        "chemicalSubstance": uri,
        "coordinateReferenceSystem": uri,
        "value": number,
        "component": component,
        "stringValue": string,
        "booleanValue": boolean,
        "hexBinaryValue": hex_binary,
        "uriValue": uri,
        "minValue": number,
        "maxValue": number,
        "meanValue": number,
        "sDev": number,
        "percRank": number,
        "percValue": number,
        "uom": string,
    },
    required=("type",),
)

sensor_element = Shape(
    {"sensorMetadata": sensor_metadata, "sensorReport": array_of(sensor_report, min_items=1)},
    required=("sensorReport",),
)
sensor_element_list = array_of(sensor_element)

error_declaration = Shape(
    {"declarationTime": time, "reason": error_reason, "correctiveEventIDs": uri_list},
    required=("declarationTime",),
)


def persistent_disposition(c: Checker, value, path: str) -> bool:
    dispositions = array_of(disposition, min_items=1, unique=True)
    shape = Shape({"set": dispositions, "unset": dispositions}, others="none")
    if not shape(c, value, path):
        return False
    if "set" not in value and "unset" not in value:
        return c.fail(path, _("A persistent disposition sets or unsets at least one disposition."))
    return True


# ---------------------------------------------------------------- events

COMMON_FIELDS: dict[str, Check] = {
    "@context": context,
    "eventTime": time,
    "recordTime": time,
    "eventTimeZoneOffset": time_zone_offset,
    "eventID": uri,
    "certificationInfo": certification_info,
    "errorDeclaration": error_declaration,
}
COMMON_REQUIRED = ("eventTime", "eventTimeZoneOffset")


def _type_is(name: str) -> Check:
    def check(c: Checker, value, path: str) -> bool:
        if value != name:
            return c.fail(path, _("Must be %(name)s.") % {"name": name})
        return True

    return check


_WHAT_FIELDS = {
    "sourceList": array_of(source),
    "destinationList": array_of(destination),
    "sensorElementList": sensor_element_list,
    "readPoint": location,
    "bizLocation": location,
    "bizStep": biz_step,
    "disposition": disposition,
    "bizTransactionList": biz_transaction_list,
}

# The fields of each standard event type; persistentDisposition is admitted unchecked on
# the three types whose schema names it without describing it.
EVENT_FIELDS: dict[str, dict[str, Check]] = {
    "ObjectEvent": {
        "action": action,
        "epcList": epc_list,
        "quantityList": quantity_list,
        "persistentDisposition": persistent_disposition,
        "ilmd": ilmd,
        **_WHAT_FIELDS,
    },
    "AggregationEvent": {
        "parentID": uri,
        "childEPCs": uri_list,
        "childQuantityList": quantity_list,
        "action": action,
        "persistentDisposition": any_value,
        **_WHAT_FIELDS,
    },
    "AssociationEvent": {
        "parentID": uri,
        "childEPCs": uri_list,
        "childQuantityList": quantity_list,
        "action": action,
        "persistentDisposition": any_value,
        **_WHAT_FIELDS,
    },
    "TransactionEvent": {
        "bizTransactionList": array_of(biz_transaction, min_items=1),
        "parentID": uri,
        "epcList": uri_list,
        "quantityList": quantity_list,
        "action": action,
        "persistentDisposition": any_value,
        **{k: v for k, v in _WHAT_FIELDS.items() if k != "bizTransactionList"},
    },
    "TransformationEvent": {
        "inputEPCList": epc_list,
        "inputQuantityList": quantity_list,
        "outputEPCList": epc_list,
        "outputQuantityList": quantity_list,
        "transformationID": uri,
        "persistentDisposition": persistent_disposition,
        "ilmd": ilmd,
        **_WHAT_FIELDS,
    },
}

EVENT_REQUIRED: dict[str, tuple[str, ...]] = {
    "ObjectEvent": ("action",),
    "AggregationEvent": ("action",),
    "AssociationEvent": ("action", "parentID"),
    "TransactionEvent": ("bizTransactionList", "action"),
    "TransformationEvent": (),
}


def _non_empty(event: dict, name: str) -> bool:
    value = event.get(name)
    return isinstance(value, list) and len(value) > 0


def _object_event_what(c: Checker, event: dict, path: str) -> bool:
    ok = True
    names_objects = (
        "epcList" in event
        or _non_empty(event, "quantityList")
        or (_non_empty(event, "sensorElementList") and "readPoint" in event)
    )
    if not names_objects:
        ok = c.fail(
            path,
            _(
                "An ObjectEvent names its objects: an epcList, a non-empty quantityList, or "
                "sensor reports (sensorElementList) with a readPoint."
            ),
        )
    if "ilmd" in event and event.get("action") != "ADD":
        ok = c.fail(
            child_path(path, "ilmd"), _("Instance/lot master data (ilmd) is only allowed with ADD.")
        )
    return ok


def _children_what(kind: str) -> Callable[[Checker, dict, str], bool]:
    def check(c: Checker, event: dict, path: str) -> bool:
        if (
            _non_empty(event, "childEPCs")
            or _non_empty(event, "childQuantityList")
            or event.get("action") == "DELETE"
        ):
            return True
        return c.fail(
            path,
            _(
                "An %(kind)s names its children (childEPCs or childQuantityList) unless it is a "
                "DELETE."
            )
            % {"kind": kind},
        )

    return check


def _transaction_what(c: Checker, event: dict, path: str) -> bool:
    if "epcList" in event or _non_empty(event, "quantityList") or event.get("action") == "DELETE":
        return True
    return c.fail(
        path,
        _(
            "A TransactionEvent names its objects (epcList or a non-empty quantityList) unless it "
            "is a DELETE."
        ),
    )


def _transformation_what(c: Checker, event: dict, path: str) -> bool:
    has_input = _non_empty(event, "inputEPCList") or _non_empty(event, "inputQuantityList")
    has_output = _non_empty(event, "outputEPCList") or _non_empty(event, "outputQuantityList")
    if has_input and has_output:
        return True
    if (has_input or has_output) and "transformationID" in event:
        return True
    return c.fail(
        path,
        _(
            "A TransformationEvent names both its inputs and its outputs, or one of them and a "
            "transformationID."
        ),
    )


EVENT_WHAT: dict[str, Callable[[Checker, dict, str], bool]] = {
    "ObjectEvent": _object_event_what,
    "AggregationEvent": _children_what("AggregationEvent"),
    "AssociationEvent": _children_what("AssociationEvent"),
    "TransactionEvent": _transaction_what,
    "TransformationEvent": _transformation_what,
}


def event(c: Checker, value, path: str, *, top_level: bool = False) -> bool:
    """One event of any type: the five standard types, or an extension type named by a URI."""
    if not _expect(c, value, path, "object"):
        return False
    ok = True
    if top_level and "@context" not in value:
        ok = c.fail(child_path(path, "@context"), _("This field is required."))
    kind = value.get("type")
    if "type" not in value:
        return c.fail(child_path(path, "type"), _("This field is required."))
    if not isinstance(kind, str):
        return c.fail(child_path(path, "type"), _("Must be a string."))
    if kind in voc.EVENT_TYPES:
        fields = {**COMMON_FIELDS, "type": _type_is(kind), **EVENT_FIELDS[kind]}
        shape = Shape(fields, required=(*COMMON_REQUIRED, *EVENT_REQUIRED[kind]))
        if not shape(c, value, path):
            return False
        return EVENT_WHAT[kind](c, value, path) and ok
    # An extension event type: the common fields, a type named by a URI, anything else.
    if not is_uri(kind):
        ok = c.fail(
            child_path(path, "type"),
            _(
                "%(value)s is not an event type: use one of %(types)s, or a URI for an extension "
                "event type."
            )
            % {"value": _short(kind), "types": ", ".join(sorted(voc.EVENT_TYPES))},
        )
    shape = Shape(COMMON_FIELDS, required=COMMON_REQUIRED, others="any")
    return shape(c, value, path) and ok


def event_list(c: Checker, value, path: str) -> bool:
    if not _expect(c, value, path, "array"):
        return False
    ok = True
    for index, element in enumerate(value):
        ok = event(c, element, child_path(path, index)) and ok
    return ok


attribute = Shape(
    {
        "id": uri,
        "attribute": any_of(
            lambda c, v, p: _is_number(v) or isinstance(v, str | dict),
            message=lambda: _("An attribute's value must be a number, a string or an object."),
        ),
    },
    required=("id",),
    others="any",
)
vocabulary_element = Shape(
    {"id": uri, "attributes": array_of(attribute), "children": uri_list},
    required=("id",),
    others="any",
)
vocabulary = Shape(
    {"type": uri, "vocabularyElementList": array_of(vocabulary_element)},
    required=("type",),
    others="any",
)
epcis_header = Shape(
    {"epcisMasterData": Shape({"vocabularyList": array_of(vocabulary)}, others="any")}
)

epcis_document = Shape(
    {
        "@context": context,
        "id": uri,
        "type": _type_is("EPCISDocument"),
        "schemaVersion": version,
        "creationDate": time,
        "instanceIdentifier": string,
        "sender": string,
        "receiver": string,
        "epcisHeader": epcis_header,
        "epcisBody": Shape({"eventList": event_list}, required=("eventList",), others="any"),
    },
    required=("@context", "type", "schemaVersion", "creationDate", "epcisBody"),
)

results_body = Shape(
    {"eventList": event_list, "vocabularyList": array_of(vocabulary)}, required=("eventList",)
)
query_results = Shape(
    {"queryName": string, "subscriptionID": string, "resultsBody": results_body},
    required=("queryName", "resultsBody"),
)
epcis_query_document = Shape(
    {
        "@context": context,
        "id": uri,
        "type": _type_is("EPCISQueryDocument"),
        "schemaVersion": version,
        "creationDate": time,
        "epcisBody": Shape({"queryResults": query_results}, required=("queryResults",)),
    },
    required=("@context", "type", "epcisBody"),
)


# ---------------------------------------------------------------- entry points

DOCUMENT_TYPES = ("EPCISDocument", "EPCISQueryDocument")


def validate(document) -> list[Problem]:
    """Every problem of an EPCIS document, an EPCIS query document or a single event."""
    c = Checker()
    if not isinstance(document, dict):
        c.fail("$", _("An EPCIS document is a JSON object."))
        return c.problems
    if "type" not in document:
        c.fail("$.type", _("This field is required."))
        return c.problems
    kind = document["type"]
    if not isinstance(kind, str):
        c.fail("$.type", _("Must be a string."))
    elif kind == "EPCISDocument":
        epcis_document(c, document, "$")
    elif kind == "EPCISQueryDocument":
        epcis_query_document(c, document, "$")
    else:
        event(c, document, "$", top_level=True)
    return c.problems


def events_of(document: dict) -> Iterable[tuple[str, dict]]:
    """(JSON path, event) of every event of a valid document or single event."""
    kind = document.get("type")
    if kind == "EPCISDocument":
        for index, item in enumerate(document["epcisBody"]["eventList"]):
            yield f"$.epcisBody.eventList[{index}]", item
    elif kind == "EPCISQueryDocument":
        events = document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        for index, item in enumerate(events):
            yield f"$.epcisBody.queryResults.resultsBody.eventList[{index}]", item
    else:
        yield "$", document
