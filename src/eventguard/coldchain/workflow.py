"""The box state machine: one table of transitions and one function that applies them.

declared -> port_released -> in_warehouse -> disinfected -> sampled -> cleared -> released
-> in_transit -> entered_venue; a positive NAT result sends a sampled box to quarantined
-> disposed. :func:`apply` checks every box (its state and the transition's preconditions,
read from the records), refuses the whole call naming what is missing for each box, and
otherwise moves the boxes, records the step on each box's timeline with actor, time and
place, writes the step as one GS1 EPCIS ObjectEvent, audits every box, and publishes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from eventguard.core import access
from eventguard.core.access import CHANGE, require
from eventguard.core.audit import Change, audit_many
from eventguard.core.bus import publish

from .epcis import documents
from .epcis import vocabulary as voc
from .models import (
    Box,
    BoxState,
    BoxTransition,
    Disinfection,
    DisposalOutcome,
    NatResult,
    NatSample,
    Surface,
    TemperatureReading,
)

S = BoxState


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple[str, ...]  # empty: the step that creates the box
    target: str
    label: Promise
    biz_step: str  # the EPCIS business step and disposition that record it
    disposition: str
    action: str = "OBSERVE"


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        Transition(
            "declare", (), S.DECLARED, gettext_lazy("Declared"), "commissioning", "active", "ADD"
        ),
        Transition(
            "port_release",
            (S.DECLARED,),
            S.PORT_RELEASED,
            gettext_lazy("Released by port inspection and quarantine"),
            "inspecting",
            "conformant",
        ),
        Transition(
            "receive",
            (S.PORT_RELEASED,),
            S.IN_WAREHOUSE,
            gettext_lazy("Received at the central warehouse"),
            "receiving",
            "in_progress",
        ),
        Transition(
            "disinfect",
            (S.IN_WAREHOUSE,),
            S.DISINFECTED,
            gettext_lazy("Disinfected (outer carton and smallest package)"),
            voc.BIZ_STEP_DISINFECTING,
            "in_progress",
        ),
        Transition(
            "sample",
            (S.DISINFECTED,),
            S.SAMPLED,
            gettext_lazy("NAT samples taken (outer carton and smallest package)"),
            "sampling",
            "in_progress",
        ),
        Transition(
            "clear",
            (S.SAMPLED,),
            S.CLEARED,
            gettext_lazy("Cleared: both NAT results negative"),
            "sampling",
            "conformant",
        ),
        Transition(
            "quarantine",
            (S.SAMPLED,),
            S.QUARANTINED,
            gettext_lazy("Quarantined: NAT result positive"),
            "holding",
            "non_conformant",
        ),
        Transition(
            "release",
            (S.CLEARED,),
            S.RELEASED,
            gettext_lazy("Released from the warehouse"),
            "staging_outbound",
            "in_progress",
        ),
        Transition(
            "depart",
            (S.RELEASED,),
            S.IN_TRANSIT,
            gettext_lazy("Departed for the venue"),
            "shipping",
            "in_transit",
        ),
        Transition(
            "enter",
            (S.IN_TRANSIT,),
            S.ENTERED_VENUE,
            gettext_lazy("Entered the venue"),
            "arriving",
            "in_progress",
        ),
        Transition(
            "dispose",
            (S.QUARANTINED,),
            S.DISPOSED,
            gettext_lazy("Disposed"),
            "destroying",
            "destroyed",
        ),
    )
}

# A disposal is written with the business step and disposition of its outcome.
DISPOSAL_EPCIS = {
    DisposalOutcome.DESTROYED: ("destroying", "destroyed"),
    DisposalOutcome.RETURNED: ("shipping", "returned"),
}

# The path of a box that goes well, for explaining what a box still lacks.
FORWARD = {
    S.DECLARED: "port_release",
    S.PORT_RELEASED: "receive",
    S.IN_WAREHOUSE: "disinfect",
    S.DISINFECTED: "sample",
    S.SAMPLED: "clear",
    S.CLEARED: "release",
    S.RELEASED: "depart",
    S.IN_TRANSIT: "enter",
}

_SURFACE_MISSING = {
    "disinfection": {
        Surface.OUTER_CARTON: gettext_lazy("outer-carton disinfection missing"),
        Surface.SMALLEST_PACKAGE: gettext_lazy("smallest-package disinfection missing"),
    },
    "sample": {
        Surface.OUTER_CARTON: gettext_lazy("outer-carton NAT sample missing"),
        Surface.SMALLEST_PACKAGE: gettext_lazy("smallest-package NAT sample missing"),
    },
    "result": {
        Surface.OUTER_CARTON: gettext_lazy("outer-carton NAT result missing"),
        Surface.SMALLEST_PACKAGE: gettext_lazy("smallest-package NAT result missing"),
    },
    "positive": {
        Surface.OUTER_CARTON: gettext_lazy("outer-carton NAT result is positive"),
        Surface.SMALLEST_PACKAGE: gettext_lazy("smallest-package NAT result is positive"),
    },
}

SURFACES = (Surface.OUTER_CARTON, Surface.SMALLEST_PACKAGE)


@dataclass
class StepParams:
    """What a step needs besides the boxes; unused fields stay empty."""

    batch: object = None
    transport: object = None
    certificate_no: str = ""
    outcome: str = ""
    reason: str = ""


# ---------------------------------------------------------------- preconditions

Missing = dict[int, list[str]]


def _surfaces_missing(boxes, model, kind: str, extra_filter: dict | None = None) -> Missing:
    present = defaultdict(set)
    rows = model.objects.filter(box__in=[b.pk for b in boxes], **(extra_filter or {}))
    for box_id, surface in rows.values_list("box_id", "surface"):
        present[box_id].add(surface)
    missing: Missing = {}
    for box in boxes:
        lacking = [str(_SURFACE_MISSING[kind][s]) for s in SURFACES if s not in present[box.pk]]
        if lacking:
            missing[box.pk] = lacking
    return missing


def _results(boxes) -> dict[int, dict[str, str]]:
    results: dict[int, dict[str, str]] = defaultdict(dict)
    rows = NatSample.objects.filter(box__in=[b.pk for b in boxes])
    for box_id, surface, result in rows.values_list("box_id", "surface", "result"):
        results[box_id][surface] = result
    return results


def _need_port_release(boxes, params: StepParams) -> Missing:
    return {
        b.pk: [_("inspection-and-quarantine certificate missing")]
        for b in boxes
        if not (params.certificate_no or b.consignment.iq_certificate_no)
    }


def _need_batch(boxes, params: StepParams) -> Missing:
    if params.batch is not None:
        return {}
    return {b.pk: [_("warehouse batch missing")] for b in boxes}


def _need_disinfections(boxes, params: StepParams) -> Missing:
    return _surfaces_missing(boxes, Disinfection, "disinfection")


def _need_samples(boxes, params: StepParams) -> Missing:
    return _surfaces_missing(boxes, NatSample, "sample")


def _need_negative_results(boxes, params: StepParams) -> Missing:
    results = _results(boxes)
    missing: Missing = {}
    for box in boxes:
        lacking = []
        for surface in SURFACES:
            result = results[box.pk].get(surface, "")
            if not result:
                lacking.append(str(_SURFACE_MISSING["result"][surface]))
            elif result == NatResult.POSITIVE:
                lacking.append(str(_SURFACE_MISSING["positive"][surface]))
        if lacking:
            missing[box.pk] = lacking
    return missing


def _need_positive_result(boxes, params: StepParams) -> Missing:
    results = _results(boxes)
    return {
        b.pk: [_("no positive NAT result")]
        for b in boxes
        if NatResult.POSITIVE not in results[b.pk].values()
    }


def _need_exit_certificate(boxes, params: StepParams) -> Missing:
    if params.certificate_no.strip():
        return {}
    return {b.pk: [_("warehouse-exit certificate missing")] for b in boxes}


def _need_transport(boxes, params: StepParams) -> Missing:
    if params.transport is not None:
        return {}
    return {b.pk: [_("transport (vehicle and departure) missing")] for b in boxes}


def _need_disposal(boxes, params: StepParams) -> Missing:
    lacking = []
    if params.outcome not in DisposalOutcome.values:
        lacking.append(_("disposal outcome (destroyed or returned) missing"))
    if not params.reason.strip():
        lacking.append(_("disposal reason missing"))
    return {b.pk: lacking for b in boxes} if lacking else {}


def _nothing(boxes, params: StepParams) -> Missing:
    return {}


PRECONDITIONS: dict[str, Callable[[Sequence[Box], StepParams], Missing]] = {
    "declare": _nothing,
    "port_release": _need_port_release,
    "receive": _need_batch,
    "disinfect": _need_disinfections,
    "sample": _need_samples,
    "clear": _need_negative_results,
    "quarantine": _need_positive_result,
    "release": _need_exit_certificate,
    "depart": _need_transport,
    "enter": _nothing,
    "dispose": _need_disposal,
}


def refusal(box: Box, what: str) -> str:
    return _("box %(code)s: %(what)s") % {"code": box.code, "what": what}


def wrong_state(box: Box, transition: Transition) -> str:
    if not transition.sources:
        return refusal(box, _("is already declared"))
    return refusal(
        box,
        _("cannot be “%(step)s” while “%(state)s” (needs “%(needed)s”)")
        % {
            "step": transition.label,
            "state": S(box.state).label,
            "needed": " / ".join(str(S(s).label) for s in transition.sources),
        },
    )


def refusals(boxes: Sequence[Box], name: str, params: StepParams) -> list[str]:
    """Why ``name`` may not be applied to each of ``boxes``: empty when it may."""
    transition = TRANSITIONS[name]
    problems = [wrong_state(b, transition) for b in boxes if b.state not in transition.sources]
    in_state = [b for b in boxes if b.state in transition.sources]
    missing = PRECONDITIONS[name](in_state, params) if in_state else {}
    for box in in_state:
        problems.extend(refusal(box, what) for what in missing.get(box.pk, []))
    return problems


def explain(box: Box) -> list[str]:
    """What keeps ``box`` out of the venue: its state and the next step's missing
    preconditions. Empty when the box may enter."""
    if box.state == S.IN_TRANSIT:
        return []
    state = S(box.state)
    if box.state == S.ENTERED_VENUE:
        when = timezone.localtime(box.entered_at).strftime("%Y-%m-%d %H:%M")
        return [refusal(box, _("already entered the venue at %(when)s") % {"when": when})]
    if box.state == S.QUARANTINED:
        return [refusal(box, _("is quarantined after a positive NAT result"))]
    if box.state == S.DISPOSED:
        return [
            refusal(
                box,
                _("was disposed of (%(outcome)s)")
                % {"outcome": DisposalOutcome(box.disposal_outcome).label},
            )
        ]
    reasons = [
        refusal(
            box,
            _("the closed loop is not complete: the box is “%(state)s”") % {"state": state.label},
        )
    ]
    step = FORWARD[box.state]
    params = StepParams(
        certificate_no=box.exit_certificate_no, batch=box.batch, transport=box.transport
    )
    missing = PRECONDITIONS[step]([box], params).get(box.pk, [])
    reasons.extend(refusal(box, what) for what in missing)
    return reasons


# ---------------------------------------------------------------- who may run the loop


def require_loop_staff(actor, event) -> None:
    """The loop's steps are the bureau's work: staff holding a cold-chain change grant in
    the event (not exhibitors, whose grant is bound to their own unit)."""
    if actor is None or access.is_superuser(actor):
        return
    for grant in access.grants(actor, event=event, action=CHANGE):
        if "coldchain" in grant.domains and grant.unit_id is None:
            return
    raise PermissionDenied(_("Only cold-chain staff of this event may record steps of the loop."))


# ---------------------------------------------------------------- applying a step


def _place(box: Box, name: str, params: StepParams, event) -> tuple[str, str, str]:
    """(label, read point URI, business location URI) where ``name`` happens to ``box``."""
    if name in ("declare", "port_release"):
        port = box.consignment.port_of_entry
        uri = documents.port_uri(port)
        return port, uri, uri
    if name == "enter":
        uri = documents.venue_uri(event)
        return str(event.name), uri, uri
    batch = params.batch if name == "receive" else box.batch
    if batch is None:
        return "", "", ""
    uri = documents.unit_uri(batch.warehouse)
    return batch.warehouse.name, uri, uri


def _biz_transactions(name: str, boxes: Sequence[Box], params: StepParams) -> list[tuple[str, str]]:
    if name == "declare":
        return [
            (
                voc.BIZ_TRANSACTION_CUSTOMS_DECLARATION,
                documents.urn("customs_declaration", b.consignment.customs_declaration_no),
            )
            for b in boxes
        ]
    if name == "port_release":
        return [
            (
                "cert",
                documents.urn(
                    "iq_certificate", params.certificate_no or b.consignment.iq_certificate_no
                ),
            )
            for b in boxes
        ]
    if name in ("clear", "quarantine"):
        samples = NatSample.objects.filter(box__in=[b.pk for b in boxes]).order_by("pk")
        return [
            ("testres", documents.urn("nat_report", s.report_no or s.sample_code)) for s in samples
        ]
    if name == "release":
        return [("cert", documents.urn("exit_certificate", params.certificate_no))]
    if name == "depart":
        return [("bol", documents.urn("transport", params.transport.number))]
    return []


def _extensions(name: str, params: StepParams) -> dict:
    if name == "depart":
        return {"vehicle": params.transport.vehicle_plate}
    if name == "dispose":
        return {"disposalReason": params.reason}
    return {}


def _box_fields(name: str, at: dt.datetime, params: StepParams) -> dict:
    if name == "receive":
        return {"batch": params.batch, "received_at": at}
    if name == "clear":
        return {"cleared_at": at}
    if name == "release":
        return {"exit_certificate_no": params.certificate_no.strip()}
    if name == "depart":
        return {"transport": params.transport}
    if name == "enter":
        return {"entered_at": at}
    if name == "dispose":
        return {"disposal_outcome": params.outcome, "disposal_reason": params.reason.strip()}
    return {}


MAX_LISTED_REFUSALS = 100


def refuse(problems: list[str]) -> None:
    if len(problems) > MAX_LISTED_REFUSALS:
        more = len(problems) - MAX_LISTED_REFUSALS
        problems = [*problems[:MAX_LISTED_REFUSALS], _("… and %(n)d more.") % {"n": more}]
    raise ValidationError(problems)


def apply(
    *,
    actor,
    boxes: Sequence[Box],
    transition: str,
    at: dt.datetime | None = None,
    params: StepParams | None = None,
    note: str = "",
    epcis_event=None,
    readings: dict[int, Decimal] | None = None,
    device_id: str = "",
) -> list[Box]:
    """Apply ``transition`` to every box of ``boxes``, all or none.

    ``boxes`` come with their consignment and batch (``select_related``). ``epcis_event``:
    the captured EPCIS event that records this step (none: one is written).
    ``readings``: temperatures measured at this step, by box id, stored and written into
    the EPCIS event as sensor reports.
    """
    if transition not in TRANSITIONS or transition == "declare":
        raise ValueError(transition)
    step = TRANSITIONS[transition]
    params = params or StepParams()
    at = at or timezone.now()
    boxes = list(boxes)
    if not boxes:
        return boxes
    event = boxes[0].event
    with transaction.atomic():
        require_loop_staff(actor, event)
        for box in boxes:
            require(actor, CHANGE, box)
        problems = refusals(boxes, transition, params)
        if problems:
            refuse(problems)
        fields = _box_fields(transition, at, params)
        ids = [b.pk for b in boxes]
        try:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                moved = Box.objects.filter(pk__in=chunk, state__in=step.sources).update(
                    state=step.target, state_changed_at=at, **fields
                )
                if moved != len(chunk):
                    raise ValidationError(
                        _("Some of the boxes changed meanwhile; load them again and retry.")
                    )
        except IntegrityError as exc:
            raise ValidationError(
                _("The step conflicts with the records: %(error)s") % {"error": exc}
            ) from exc
        before = {b.pk: b.state for b in boxes}
        for box in boxes:
            box.state = step.target
            box.state_changed_at = at
            for name, value in fields.items():
                setattr(box, name, value)
        record_step(
            actor=actor,
            event=event,
            boxes=boxes,
            name=transition,
            before=before,
            at=at,
            params=params,
            note=note,
            epcis_event=epcis_event,
            readings=readings,
            device_id=device_id,
        )
    return boxes


def record_step(
    *,
    actor,
    event,
    boxes: Sequence[Box],
    name: str,
    before: dict[int, str],
    at: dt.datetime,
    params: StepParams,
    note: str = "",
    epcis_event=None,
    readings: dict[int, Decimal] | None = None,
    device_id: str = "",
) -> None:
    """The records of a step that happened: the EPCIS event (one per place), each box's
    timeline entry, temperatures taken at the step, the audit entries, the domain event."""
    step = TRANSITIONS[name]
    actor_name = actor.get_username() if actor is not None else "system"
    groups: dict[tuple[str, str, str], list[Box]] = defaultdict(list)
    for box in boxes:
        groups[_place(box, name, params, event)].append(box)
    timeline = []
    reading_rows = []
    for (label, read_point, biz_location), group in groups.items():
        row = epcis_event
        if row is None:
            biz_step, disposition = step.biz_step, step.disposition
            if name == "dispose":
                biz_step, disposition = DISPOSAL_EPCIS[params.outcome]
            sensors = []
            if readings:
                values = [(at, readings[b.pk], device_id) for b in group if b.pk in readings]
                if values and len(group) == 1:
                    sensors = [documents.temperature_element(values, event)]
            body = documents.object_event(
                event=event,
                at=at,
                epcs=[b.epc for b in group],
                action=step.action,
                biz_step=biz_step,
                disposition=disposition,
                read_point=read_point,
                biz_location=biz_location,
                biz_transactions=_biz_transactions(name, group, params),
                sensor_elements=sensors,
                extensions=_extensions(name, params),
            )
            row = documents.store_own_event(event, body)
        for box in group:
            timeline.append(
                BoxTransition(
                    box=box,
                    transition=name,
                    from_state=before.get(box.pk, ""),
                    to_state=step.target,
                    at=at,
                    actor=actor,
                    actor_name=actor_name,
                    place=label[:200],
                    note=note[:300],
                    epcis_event=row,
                )
            )
            if readings and box.pk in readings:
                reading_rows.append(
                    TemperatureReading(
                        event=event,
                        subject="box",
                        box=box,
                        measured_at=at,
                        celsius=readings[box.pk],
                        excursion=_excursion(box, readings[box.pk]),
                        device_id=device_id,
                    )
                )
    BoxTransition.objects.bulk_create(timeline, batch_size=1000)
    if reading_rows:
        TemperatureReading.objects.bulk_create(reading_rows, batch_size=1000)
    audit_many(
        actor=actor,
        changes=[
            Change(
                action=f"coldchain.box.{name}",
                object_type="coldchain.box",
                object_id=str(box.pk),
                object_repr=box.code,
                event_code=event.code,
                before={"state": before[box.pk]} if before.get(box.pk) else None,
                after={"state": step.target, "at": at, **_audit_fields(name, params)},
            )
            for box in boxes
        ],
    )
    publish(
        f"coldchain.box.{name}",
        event_id=event.pk,
        box_ids=[b.pk for b in boxes],
        state=step.target,
    )


def _excursion(box: Box, celsius: Decimal) -> bool:
    from .models import is_excursion

    return is_excursion(box.temperature_class, celsius)


def _audit_fields(name: str, params: StepParams) -> dict:
    if name == "receive":
        return {"batch": params.batch.number}
    if name == "port_release" and params.certificate_no:
        return {"iq_certificate_no": params.certificate_no}
    if name == "release":
        return {"exit_certificate_no": params.certificate_no}
    if name == "depart":
        return {"transport": params.transport.number}
    if name == "dispose":
        return {"outcome": params.outcome, "reason": params.reason}
    return {}
