"""The GS1 EPCIS 2.0 interface, held to the ratified schema and the OpenEPCIS test vectors.

The reference material lives in ``shared/epcis`` beside the repository (not in the
package): every vector gets the same verdict from the ratified JSON schema and from
EventGuard's own validator; every valid one is captured and queried back; every invalid one
is refused whole; every document the interface returns validates against the schema.
"""

from __future__ import annotations

import copy
import json
import os
import random
from pathlib import Path
from urllib.parse import quote

import pytest

from eventguard.coldchain.epcis.validation import validate
from eventguard.coldchain.identifiers import digital_link, parse_sgtin
from eventguard.coldchain.models import BoxState, BoxTransition, EpcisCapture, EpcisEvent
from eventguard.coldchain.testing import advance, declare_boxes
from eventguard.core.testing import api_client_for, make_event, make_member

REPOSITORY = Path(__file__).resolve().parents[4]
SHARED = REPOSITORY.parent / "shared" / "epcis"
IN_CI = os.environ.get("CI", "").lower() == "true"


def _vectors(kind: str) -> list[Path]:
    folder = SHARED / f"openepcis-{kind}"
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


VALID = _vectors("valid")
INVALID = _vectors("invalid")


def _need(condition: bool, reason: str) -> None:
    if not condition:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)


def test_reference_material_is_present():
    _need(SHARED.is_dir(), f"the EPCIS reference material is missing at {SHARED}")
    assert VALID and INVALID
    assert (SHARED / "schema" / "epcis-json-schema.json").is_file()


@pytest.fixture(scope="module")
def schema():
    """The ratified schema with format checking on (uri and date-time need rfc3987 and
    rfc3339-validator, else several invalid documents pass)."""
    try:
        import jsonschema
        import rfc3339_validator  # noqa: F401
        import rfc3987  # noqa: F401
    except ImportError:
        _need(False, "jsonschema, rfc3987 and rfc3339-validator are needed (test extra)")
    _need(SHARED.is_dir(), f"the EPCIS reference material is missing at {SHARED}")
    document = json.loads((SHARED / "schema" / "epcis-json-schema.json").read_text())
    return jsonschema.Draft7Validator(
        document, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )


def load(path: Path):
    return json.loads(path.read_text())


def events_in(document: dict) -> list[dict]:
    if document["type"] == "EPCISDocument":
        return document["epcisBody"]["eventList"]
    return [document]


@pytest.fixture
def epcis(site):
    """A client of the EPCIS interface, with a cold-chain inspector's token."""
    client, headers = api_client_for(site.staff)

    class Client:
        base = f"/epcis/{site.event.code}"

        def capture(self, document, content_type="application/ld+json", raw=None):
            body = raw if raw is not None else json.dumps(document)
            return client.post(f"{self.base}/capture", body, content_type=content_type, **headers)

        def events(self, **params):
            return client.get(f"{self.base}/events", params, **headers)

        def event(self, event_id: str):
            return client.get(f"{self.base}/events/{quote(event_id, safe='')}", **headers)

        def get(self, url):
            return client.get(url, **headers)

    return Client()


def assert_exports_valid(schema, response):
    document = response.json()
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in schema.iter_errors(document)]
    assert not errors, errors
    assert not validate(document)
    return document


# ---------------------------------------------------------------- the vectors


@pytest.mark.parametrize("path", [*VALID, *INVALID], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_vector_gets_the_schema_verdict(schema, path):
    document = load(path)
    schema_accepts = schema.is_valid(document)
    problems = validate(document)
    assert schema_accepts == (not problems), problems
    for problem in problems:
        assert problem.path.startswith("$") and problem.message


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_every_valid_vector_is_captured_and_queried_back(schema, epcis, path):
    document = load(path)
    if not schema.is_valid(document):
        pytest.skip("the ratified schema refuses this vector: see the next test")
    response = epcis.capture(document)
    assert response.status_code == 201, response.content
    body = response.json()
    originals = events_in(document)
    assert body["eventCount"] == len(originals)
    assert response["Location"].endswith(f"/capture/{body['captureID']}")
    status = epcis.get(response["Location"])
    assert status.status_code == 200 and status.json()["success"] is True

    listed = assert_exports_valid(schema, epcis.events(perPage="1000"))
    returned = listed["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert len(returned) == len(originals)
    for original in originals:
        if "eventID" in original:
            found = assert_exports_valid(schema, epcis.event(original["eventID"]))
            candidates = found["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        else:
            candidates = returned
        assert any(same_event(original, candidate) for candidate in candidates), original


def same_event(original: dict, returned: dict) -> bool:
    """The returned event is the captured one: every field as sent, plus the repository's
    recordTime, an eventID if it had none, and the JSON-LD context it relied on."""
    if "eventID" in original and returned.get("eventID") != original["eventID"]:
        return False
    for key, value in original.items():
        if key in ("recordTime", "@context"):
            continue
        if returned.get(key) != value:
            return False
    if "@context" in original:
        own = (
            original["@context"]
            if isinstance(original["@context"], list)
            else [original["@context"]]
        )
        if not all(entry in returned.get("@context", []) for entry in own):
            return False
    return "recordTime" in returned and "eventID" in returned


SCHEMA_REFUSED = [
    "SensorData_with_combined_events.json",
    "TransactionEvent_with_userExtensions.json",
]


@pytest.mark.parametrize("name", SCHEMA_REFUSED)
def test_vectors_the_schema_refuses_are_refused_with_reasons(schema, epcis, name):
    """Two 'valid' OpenEPCIS vectors use measurement types outside GS1's list
    (EffectiveDoseRate, Molar_concentration); the schema is the contract, so they are
    refused, naming the field."""
    _need((SHARED / "openepcis-valid" / name).is_file(), f"{name} is missing")
    document = load(SHARED / "openepcis-valid" / name)
    assert not schema.is_valid(document)
    response = epcis.capture(document)
    assert response.status_code == 400
    fields = [e["field"] for e in response.json()["errors"]]
    assert any(f.endswith(".type") and "sensorReport" in f for f in fields)
    assert not EpcisEvent.objects.exists()


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_every_invalid_vector_is_refused_whole(epcis, path):
    response = epcis.capture(load(path))
    assert response.status_code == 400
    body = response.json()
    assert body["errors"], body
    for error in body["errors"]:
        assert error["field"].startswith("$") and error["message"]
    assert not EpcisEvent.objects.exists()
    assert not EpcisCapture.objects.exists()


def test_a_document_with_one_bad_event_stores_none(epcis):
    _need(bool(VALID), "vectors missing")
    document = load(SHARED / "openepcis-valid" / "Combination_of_different_event.json")
    good = len(events_in(document))
    document["epcisBody"]["eventList"][-1]["action"] = "CREATE"
    response = epcis.capture(document)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == f"$.epcisBody.eventList[{good - 1}].action"
    assert not EpcisEvent.objects.exists()


def test_urn_spelling_of_cbv_terms_is_refused(epcis):
    document = object_event(bizStep="urn:epcglobal:cbv:bizstep:receiving")
    response = epcis.capture(document)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "$.epcisBody.eventList[0].bizStep"


# ---------------------------------------------------------------- the validator against the
# schema beyond the vectors: mutations of every vector get the same verdict from both.

MUTANT_VALUES = [
    None,
    True,
    0,
    1.5,
    -3,
    "",
    "x",
    "urn:x",
    "a b",
    "http://ex.com/a b",
    "ADD",
    "OBSERVE",
    "DELETE",
    "receiving",
    "urn:epcglobal:cbv:bizstep:receiving",
    "in_progress",
    "2021-10-21T09:30:00+08:00",
    "2021-02-30T09:30:00Z",
    "2021-10-21T09:30:00",
    "+08:00",
    "+14:01",
    [],
    {},
    ["urn:a", "urn:a"],
    ["urn:a"],
    [{}],
    [{"epcClass": "urn:c"}],
    {"id": "urn:x"},
    {"set": ["active"]},
    {"set": []},
    "KGM",
    "kg",
    "Temperature",
    "gs1:X",
    "https://gs1.org/voc/X",
    "ex:field",
    "http://[::1]/x",
    "http://[zz]/x",
    "urn:%zz",
    [{"sensorReport": [{"type": "Temperature"}]}],
    "ObjectEvent",
    "urn:my:type",
]
MUTANT_KEYS = [
    "foo",
    "ex:foo",
    "urn:x:y",
    "action",
    "ilmd",
    "epcList",
    "type",
    "readPoint",
    "persistentDisposition",
    "uom",
    "time",
    "quantityList",
    "childEPCs",
]


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


def _mutate(document, rng):
    for _ in range(rng.randint(1, 2)):
        path = rng.choice(list(_paths(document)))
        if not path:
            continue
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        roll = rng.random()
        if roll < 0.3 and isinstance(parent, dict):
            del parent[path[-1]]
        elif roll < 0.4 and isinstance(parent, list):
            parent.pop(path[-1])
        elif roll < 0.5 and isinstance(parent, dict):
            parent[rng.choice(MUTANT_KEYS)] = copy.deepcopy(rng.choice(MUTANT_VALUES))
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(MUTANT_VALUES))
    return document


def test_mutated_vectors_get_the_schema_verdict(schema):
    rng = random.Random(2021)
    documents = [load(p) for p in [*VALID, *INVALID]]
    disagreements = []
    for _ in range(1500):
        document = _mutate(copy.deepcopy(rng.choice(documents)), rng)
        if schema.is_valid(document) != (not validate(document)):
            disagreements.append(json.dumps(document)[:300])
    assert not disagreements, disagreements[:3]


# ---------------------------------------------------------------- queries


def object_event(**fields) -> dict:
    event = {
        "type": "ObjectEvent",
        "eventTime": "2021-10-21T09:30:00+08:00",
        "eventTimeZoneOffset": "+08:00",
        "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"],
        "action": "OBSERVE",
        "bizStep": "receiving",
    }
    event.update(fields)
    return document_of([event])


def document_of(events: list[dict], context=None) -> dict:
    return {
        "@context": context or ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2021-10-21T10:00:00Z",
        "epcisBody": {"eventList": events},
    }


def _events(response) -> list[dict]:
    document = response if isinstance(response, dict) else response.json()
    return document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def test_query_filters(schema, epcis):
    base = object_event()["epcisBody"]["eventList"][0]
    events = [
        {
            **base,
            "eventTime": f"2021-10-2{i}T09:30:00+08:00",
            "eventID": f"urn:uuid:0000000{i}-0000-4000-8000-000000000000",
        }
        for i in range(1, 6)
    ]
    events[1]["bizStep"] = "shipping"
    same_box = digital_link(*parse_sgtin("urn:epc:id:sgtin:0614141.107346.2017"))
    events[2]["epcList"] = [same_box]  # the same object, by its GS1 Digital Link
    events[3]["epcList"] = ["urn:epc:id:sgtin:0614141.107346.9999"]
    events.append(
        {
            "type": "AggregationEvent",
            "eventTime": "2021-10-26T09:30:00+08:00",
            "eventTimeZoneOffset": "+08:00",
            "parentID": "urn:epc:id:sscc:0614141.1234567890",
            "childEPCs": ["urn:epc:id:sgtin:0614141.107346.2017"],
            "action": "ADD",
        }
    )
    assert epcis.capture(document_of(events)).status_code == 201

    assert len(_events(assert_exports_valid(schema, epcis.events()))) == 6
    assert len(_events(epcis.events(eventType="AggregationEvent"))) == 1
    assert len(_events(epcis.events(EQ_bizStep="shipping"))) == 1
    assert len(_events(epcis.events(EQ_bizStep="shipping|receiving"))) == 5
    window = epcis.events(
        GE_eventTime="2021-10-22T09:30:00+08:00", LT_eventTime="2021-10-24T09:30:00+08:00"
    )
    assert [e["eventTime"][:10] for e in _events(window)] == ["2021-10-22", "2021-10-23"]
    # MATCH_epc finds the object under either spelling, in epcList and childEPCs
    by_urn = _events(epcis.events(MATCH_epc="urn:epc:id:sgtin:0614141.107346.2017"))
    by_link = _events(epcis.events(MATCH_epc=same_box))
    assert len(by_urn) == len(by_link) == 5
    pattern = _events(epcis.events(MATCH_epc="urn:epc:idpat:sgtin:0614141.107346.*"))
    assert len(pattern) == 5  # the Digital Link spelling is not an EPC URI: not matched
    assert len(_events(epcis.events(MATCH_epc="urn:epc:id:sgtin:0614141.107346.9999"))) == 1


def test_query_pages_follow_the_link_header(schema, epcis):
    base = object_event()["epcisBody"]["eventList"][0]
    events = [{**base, "eventTime": f"2021-10-21T09:{m:02d}:00+08:00"} for m in range(7)]
    assert epcis.capture(document_of(events)).status_code == 201
    seen = []
    response = epcis.events(perPage="3")
    while True:
        assert_exports_valid(schema, response)
        seen.extend(e["eventTime"] for e in _events(response))
        if "Link" not in response:
            break
        url = response["Link"].split(";")[0].strip("<>")
        assert "nextPageToken=" in url
        response = epcis.get(url.split("testserver", 1)[-1])
    assert seen == sorted(seen) and len(seen) == 7


def test_a_page_token_belongs_to_its_query(epcis):
    base = object_event()["epcisBody"]["eventList"][0]
    events = [{**base, "eventTime": f"2021-10-21T09:{m:02d}:00+08:00"} for m in range(3)]
    epcis.capture(document_of(events))
    token = epcis.events(perPage="1")["Link"].split("nextPageToken=")[1].split(">")[0]
    other = epcis.events(perPage="1", EQ_bizStep="receiving", nextPageToken=token)
    assert other.status_code == 400
    assert other.json()["errors"][0]["field"] == "nextPageToken"
    assert epcis.events(nextPageToken="forged").status_code == 400
    assert epcis.events(GE_eventTime="yesterday").status_code == 400


def test_unknown_event_id_is_404(epcis):
    assert epcis.event("urn:uuid:11111111-1111-4111-8111-111111111111").status_code == 404


def test_capture_needs_json(epcis):
    assert epcis.capture(None, content_type="text/plain", raw="{}").status_code == 415
    bad = epcis.capture(None, content_type="application/json", raw="{not json")
    assert bad.status_code == 400
    nan = epcis.capture(None, content_type="application/json", raw='{"type": NaN}')
    assert nan.status_code == 400


def test_capture_takes_no_query_document(epcis, schema):
    epcis.capture(object_event())
    query_document = epcis.events().json()
    response = epcis.capture(query_document)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "$.type"


def test_interface_needs_a_token_and_a_staff_role(site):
    from django.test import Client

    url = f"/epcis/{site.event.code}/events"
    assert Client().get(url).status_code == 401
    client, headers = api_client_for(site.exhibitor_user)
    response = client.post(
        f"/epcis/{site.event.code}/capture",
        json.dumps(object_event()),
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 403
    outsider = make_member(make_event(), "inspector", domains=["coldchain"])
    client, headers = api_client_for(outsider)
    assert client.get(url, **headers).status_code == 404


# ---------------------------------------------------------------- the loop through EPCIS


def test_the_loop_writes_events_that_validate(schema, site, consignment, epcis):
    (box,) = advance(site, declare_boxes(consignment, 1), BoxState.ENTERED_VENUE)
    document = assert_exports_valid(schema, epcis.events(MATCH_epc=box.epc))
    steps = [(e.get("bizStep"), e.get("disposition")) for e in _events(document)]
    assert steps == [
        ("commissioning", "active"),
        ("inspecting", "conformant"),
        ("receiving", "in_progress"),
        ("urn:eventguard:bizstep:disinfecting", "in_progress"),
        ("sampling", "in_progress"),
        ("sampling", "conformant"),
        ("staging_outbound", "in_progress"),
        ("shipping", "in_transit"),
        ("arriving", "in_progress"),
    ]
    cleared = _events(document)[5]
    assert {t["type"] for t in cleared["bizTransactionList"]} == {"testres"}


def test_a_captured_step_moves_known_boxes(schema, site, consignment, epcis):
    boxes = advance(site, declare_boxes(consignment, 2), BoxState.PORT_RELEASED)
    document = object_event(
        epcList=[
            boxes[0].epc,
            f"urn:epc:id:sgtin:9521234.054321.{boxes[1].serial}",
            "urn:epc:id:sgtin:0614141.107346.2017",
        ],
        bizStep="receiving",
        disposition="in_progress",
        bizLocation={"id": f"urn:eventguard:uscc:{site.warehouse.credit_code}"},
    )
    response = epcis.capture(document)
    assert response.status_code == 201, response.content
    assert response.json()["stepsApplied"] == 2
    for box in boxes:
        box.refresh_from_db()
        assert box.state == BoxState.IN_WAREHOUSE
        assert box.batch.warehouse == site.warehouse
        step = BoxTransition.objects.get(box=box, transition="receive")
        assert step.epcis_event.capture_id is not None  # recorded by the captured event
    # the step wrote no second event: the captured one is the record
    assert EpcisEvent.objects.filter(biz_step="receiving").count() == 1


def test_an_illegal_captured_step_refuses_the_document(site, consignment, epcis):
    boxes = advance(site, declare_boxes(consignment, 1), BoxState.IN_WAREHOUSE)
    before = EpcisEvent.objects.count()
    document = document_of(
        [
            object_event(epcList=["urn:epc:id:sgtin:0614141.107346.1"])["epcisBody"]["eventList"][
                0
            ],
            object_event(
                epcList=[boxes[0].epc],
                bizStep="shipping",
                disposition="in_transit",
                **{"eg:vehicle": "沪A12345"},
            )["epcisBody"]["eventList"][0],
        ],
        context=[
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
            {"eg": "urn:eventguard:epcis:"},
        ],
    )
    response = epcis.capture(document)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "$.epcisBody.eventList[1]"
    assert boxes[0].code in error["message"]
    assert EpcisEvent.objects.count() == before
    boxes[0].refresh_from_db()
    assert boxes[0].state == BoxState.IN_WAREHOUSE


def test_captured_steps_with_our_extensions(site, consignment, epcis):
    (box,) = advance(site, declare_boxes(consignment, 1), BoxState.IN_WAREHOUSE)
    context = [
        "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
        {"x": "urn:eventguard:epcis:"},
    ]
    disinfect = object_event(
        epcList=[box.epc],
        bizStep="urn:eventguard:bizstep:disinfecting",
        disposition="in_progress",
        **{"x:agent": "Peracetic acid 0.2 %"},
    )
    disinfect["@context"] = context
    assert epcis.capture(disinfect).status_code == 201
    box.refresh_from_db()
    assert box.state == BoxState.DISINFECTED
    missing_lab = object_event(
        epcList=[box.epc],
        bizStep="sampling",
        disposition="in_progress",
        eventTime="2021-10-21T11:00:00+08:00",
    )
    response = epcis.capture(missing_lab)
    assert response.status_code == 400
    assert "eg:laboratory" in response.json()["errors"][0]["message"]


def test_captured_temperatures_of_a_box(site, consignment, epcis):
    (box,) = declare_boxes(consignment, 1)
    document = object_event(
        epcList=[box.epc],
        bizStep="sensor_reporting",
        sensorElementList=[
            {
                "sensorReport": [
                    {"type": "Temperature", "value": -21.5, "uom": "CEL"},
                    {"type": "Temperature", "value": 14, "uom": "FAH"},
                ]
            }
        ],
    )
    assert epcis.capture(document).status_code == 201
    values = sorted(float(r.celsius) for r in box.readings.all())
    assert values == [-21.5, -10.0]
    assert [r.excursion for r in box.readings.order_by("celsius")] == [False, True]
