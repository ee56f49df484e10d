"""Every write of the cold-chain loop.

Records (consignments, batches, disinfections, samples and results, transports,
temperatures) are written here; the steps they complete are applied through the box state
machine (``workflow.apply``), which keeps one set of rules for a single box and for ten
thousand. Bulk services validate every row first and write nothing unless every row is
valid; they write with ``bulk_create`` and audit with ``audit_many``, in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from eventguard.core.access import CHANGE, require
from eventguard.core.audit import Change, audit, audit_many, snapshot
from eventguard.core.bus import publish
from eventguard.core.models import Event, Unit, User
from eventguard.core.servicekit import apply_changes, error_dict, save_validated
from eventguard.core.tabular import RowError

from . import workflow
from .epcis import documents
from .identifiers import canonical_key, digital_link, is_valid_serial, normalise_gtin
from .models import (
    Box,
    BoxState,
    ColdChainSettings,
    Consignment,
    Disinfection,
    NatResult,
    NatSample,
    ReadingSubject,
    Surface,
    TemperatureClass,
    TemperatureReading,
    Transport,
    WarehouseBatch,
    is_excursion,
)
from .workflow import SURFACES, StepParams, require_loop_staff

S = BoxState


class RowsRefused(ValidationError):
    """A bulk write refused whole; ``rows`` says which row and column failed and why."""

    def __init__(self, rows: list[RowError]):
        self.rows = rows
        super().__init__(
            [
                _("row %(row)d, %(column)s: %(message)s")
                % {"row": e.row, "column": e.column or "—", "message": e.message}
                for e in rows[:100]
            ]
        )


def _require_unit_category(unit: Unit | None, event: Event, category: str, field: str) -> None:
    if unit is None or unit.event_id != event.pk or unit.category.code != category:
        raise ValidationError(
            {
                field: _("Choose a unit of category “%(category)s” of this event.")
                % {"category": category}
            }
        )


def load_boxes(ids: Sequence[int]) -> list[Box]:
    """Boxes with what the steps read (event, consignment, batch and warehouse, transport),
    in the order of ``ids``. The few related rows are loaded once and shared, not joined
    into every box row: thousands of boxes come in a handful of batches."""
    ids = list(ids)
    by_id = {}
    for start in range(0, len(ids), 2000):
        by_id.update(Box.objects.in_bulk(ids[start : start + 2000]))
    boxes = [by_id[i] for i in ids if i in by_id]
    related = {
        "event": (Event, {b.event_id for b in boxes}),
        "consignment": (Consignment, {b.consignment_id for b in boxes}),
        "batch": (WarehouseBatch, {b.batch_id for b in boxes if b.batch_id}),
        "transport": (Transport, {b.transport_id for b in boxes if b.transport_id}),
    }
    loaded = {}
    for name, (model, pks) in related.items():
        qs = model.objects.all()
        if model is WarehouseBatch:
            qs = qs.select_related("warehouse")
        loaded[name] = qs.in_bulk(list(pks)) if pks else {}
    for box in boxes:
        box.event = loaded["event"][box.event_id]
        box.consignment = loaded["consignment"][box.consignment_id]
        box.consignment.event = box.event
        if box.batch_id:
            box.batch = loaded["batch"][box.batch_id]
        if box.transport_id:
            box.transport = loaded["transport"][box.transport_id]
    return boxes


def _fresh(boxes: Sequence[Box]) -> list[Box]:
    return load_boxes([b.pk for b in boxes])


# ---------------------------------------------------------------- settings


def coldchain_settings_of(event: Event) -> ColdChainSettings:
    """The event's cold-chain settings (defaults, unsaved, if never set)."""
    found = ColdChainSettings.objects.filter(event=event).first()
    return found or ColdChainSettings(event=event)


def coldchain_settings_update(
    *,
    actor: User | None,
    event: Event,
    entry_deadline: dt.datetime | None,
    at_risk_hours: int | None = None,
) -> ColdChainSettings:
    with transaction.atomic():
        settings_row = coldchain_settings_of(event)
        require(actor, CHANGE, settings_row)
        require_loop_staff(actor, event)
        before = snapshot(settings_row) if settings_row.pk else None
        settings_row.entry_deadline = entry_deadline
        if at_risk_hours is not None:
            settings_row.at_risk_hours = at_risk_hours
        save_validated(settings_row)
        audit(
            actor=actor,
            action="coldchain.settings.update",
            obj=settings_row,
            before=before,
            after=snapshot(settings_row),
        )
        publish("coldchain.settings.updated", event_id=event.pk)
    return settings_row


# ---------------------------------------------------------------- consignments

CONSIGNMENT_EDITABLE = {
    "reference",
    "port_of_entry",
    "customs_declaration_no",
    "iq_certificate_no",
    "origin_country",
    "products",
}


def consignment_create(
    *,
    actor: User | None,
    event: Event,
    exhibitor: Unit,
    reference: str,
    port_of_entry: str,
    customs_declaration_no: str,
    origin_country: str,
    products: str,
    iq_certificate_no: str = "",
) -> Consignment:
    with transaction.atomic():
        _require_unit_category(exhibitor, event, "exhibitor", "exhibitor")
        consignment = Consignment(
            event=event,
            exhibitor=exhibitor,
            reference=reference.strip(),
            port_of_entry=port_of_entry.strip(),
            customs_declaration_no=customs_declaration_no.strip(),
            iq_certificate_no=iq_certificate_no.strip(),
            origin_country=origin_country.strip(),
            products=products.strip(),
        )
        require(actor, CHANGE, consignment)
        save_validated(consignment)
        audit(
            actor=actor,
            action="coldchain.consignment.create",
            obj=consignment,
            after=snapshot(consignment),
        )
        publish("coldchain.consignment.created", consignment_id=consignment.pk, event_id=event.pk)
    return consignment


def consignment_update(*, actor: User | None, consignment: Consignment, **changes) -> Consignment:
    with transaction.atomic():
        require(actor, CHANGE, consignment)
        if consignment.boxes.exclude(state=S.DECLARED).exists():
            raise ValidationError(
                _("Boxes of this consignment have passed the port: its declaration is closed.")
            )
        for name in (
            "reference",
            "port_of_entry",
            "customs_declaration_no",
            "iq_certificate_no",
            "origin_country",
            "products",
        ):
            if isinstance(changes.get(name), str):
                changes[name] = changes[name].strip()
        before = snapshot(consignment)
        changed = apply_changes(consignment, changes, editable=CONSIGNMENT_EDITABLE)
        if not changed:
            return consignment
        save_validated(consignment, update_fields=changed)
        audit(
            actor=actor,
            action="coldchain.consignment.update",
            obj=consignment,
            before=before,
            after=snapshot(consignment),
        )
        publish("coldchain.consignment.updated", consignment_id=consignment.pk, fields=changed)
    return consignment


# ---------------------------------------------------------------- declaring boxes


@dataclass
class BoxRow:
    """One box of a manifest, as read (``row``: its row number in the file, for errors)."""

    row: int
    code: str
    gtin: str
    product: str
    temperature_class: str
    weight_kg: Decimal | str
    smallest_package: str
    serial: str = ""


BOX_ROW_FIELDS = (
    "code",
    "gtin",
    "serial",
    "product",
    "temperature_class",
    "weight_kg",
    "smallest_package",
)


def _box_of_row(row: BoxRow, consignment: Consignment, at: dt.datetime) -> tuple[Box, list]:
    errors = []
    code = (row.code or "").strip().upper()
    gtin = normalise_gtin(row.gtin)
    if gtin is None:
        errors.append(RowError(row.row, "gtin", _("Not a GTIN with a valid check digit.")))
    serial = (row.serial or "").strip() or code
    if serial and not is_valid_serial(serial):
        errors.append(
            RowError(
                row.row,
                "serial",
                _("A serial no. has 1 to 20 letters, digits or GS1 punctuation marks."),
            )
        )
    weight = row.weight_kg
    if isinstance(weight, str):
        try:
            weight = Decimal(weight.strip().replace(",", "."))
        except InvalidOperation:
            errors.append(RowError(row.row, "weight_kg", _("Not a number.")))
            weight = None
    box = Box(
        event=consignment.event,
        consignment=consignment,
        code=code,
        gtin=gtin or "",
        serial=serial,
        epc=digital_link(gtin, serial) if gtin and serial else "",
        product=(row.product or "").strip(),
        temperature_class=(row.temperature_class or "").strip().lower(),
        weight_kg=weight,
        smallest_package=(row.smallest_package or "").strip(),
        state=S.DECLARED,
        state_changed_at=at,
    )
    failed = {e.column for e in errors}
    try:
        box.full_clean(
            exclude=["event", "consignment", "epc", *failed],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as exc:
        for name, messages in error_dict(exc).items():
            for message in messages:
                errors.append(RowError(row.row, name if name != "__all__" else "", message))
    if weight is not None and not errors and weight <= 0:
        errors.append(RowError(row.row, "weight_kg", _("The weight must be greater than zero.")))
    return box, errors


def box_declare_bulk(
    *,
    actor: User | None,
    consignment: Consignment,
    rows: Sequence[BoxRow],
    at: dt.datetime | None = None,
) -> list[Box]:
    """Declare the boxes of a consignment's manifest: every row valid, or nothing written."""
    at = at or timezone.now()
    event = consignment.event
    with transaction.atomic():
        require(actor, CHANGE, consignment)
        if not rows:
            raise RowsRefused([RowError(0, "", _("The manifest has no boxes."))])
        boxes, errors = [], []
        seen_codes: dict[str, int] = {}
        seen_epcs: dict[str, int] = {}
        for row in rows:
            box, row_errors = _box_of_row(row, consignment, at)
            errors.extend(row_errors)
            repeated_code = box.code in seen_codes
            if repeated_code:
                errors.append(
                    RowError(
                        row.row,
                        "code",
                        _("Box %(code)s appears twice in the manifest (also row %(row)d).")
                        % {"code": box.code, "row": seen_codes[box.code]},
                    )
                )
            elif box.code:
                seen_codes[box.code] = row.row
            if box.epc and box.epc in seen_epcs and not repeated_code:
                errors.append(
                    RowError(
                        row.row,
                        "serial",
                        _(
                            "This GTIN and serial no. appear twice in the manifest "
                            "(also row %(row)d)."
                        )
                        % {"row": seen_epcs[box.epc]},
                    )
                )
            elif box.epc:
                seen_epcs[box.epc] = row.row
            boxes.append(box)
        taken_codes, taken_epcs = set(), set()
        codes, epcs = list(seen_codes), list(seen_epcs)
        for start in range(0, max(len(codes), len(epcs)), 500):
            taken_codes.update(
                Box.objects.filter(event=event, code__in=codes[start : start + 500]).values_list(
                    "code", flat=True
                )
            )
            taken_epcs.update(
                Box.objects.filter(event=event, epc__in=epcs[start : start + 500]).values_list(
                    "epc", flat=True
                )
            )
        for row, box in zip(rows, boxes, strict=True):
            if box.code in taken_codes:
                errors.append(
                    RowError(
                        row.row,
                        "code",
                        _("A box with traceability code %(code)s is already declared.")
                        % {"code": box.code},
                    )
                )
            if box.epc in taken_epcs and box.code not in taken_codes:
                errors.append(
                    RowError(
                        row.row,
                        "serial",
                        _("A box with this GTIN and serial no. is already declared."),
                    )
                )
        if errors:
            raise RowsRefused(sorted(errors, key=lambda e: (e.row, e.column)))
        try:
            with transaction.atomic():
                Box.objects.bulk_create(boxes, batch_size=1000)
        except IntegrityError as exc:  # a box declared meanwhile by someone else
            raise RowsRefused(
                [
                    RowError(
                        0,
                        "",
                        _("The manifest conflicts with boxes declared meanwhile: %(error)s")
                        % {"error": exc},
                    )
                ]
            ) from exc
        workflow.record_step(
            actor=actor,
            event=event,
            boxes=boxes,
            name="declare",
            before={},
            at=at,
            params=StepParams(),
        )
    return boxes


# ---------------------------------------------------------------- port release


def consignment_port_release(
    *,
    actor: User | None,
    consignment: Consignment,
    iq_certificate_no: str,
    at: dt.datetime | None = None,
    boxes: Sequence[Box] | None = None,
    epcis_event=None,
) -> list[Box]:
    """Port inspection and quarantine released the consignment (or some of its boxes)."""
    at = at or timezone.now()
    with transaction.atomic():
        require_loop_staff(actor, consignment.event)
        certificate = (iq_certificate_no or "").strip()
        if certificate and certificate != consignment.iq_certificate_no:
            before = snapshot(consignment)
            consignment.iq_certificate_no = certificate
            save_validated(consignment, update_fields=["iq_certificate_no"])
            audit(
                actor=actor,
                action="coldchain.consignment.port_release",
                obj=consignment,
                before=before,
                after=snapshot(consignment),
            )
        if boxes is None:
            targets = list(consignment.boxes.filter(state=S.DECLARED).values_list("pk", flat=True))
            boxes = load_boxes(targets)
        else:
            boxes = _fresh(boxes)
        for box in boxes:
            box.consignment = consignment
        return workflow.apply(
            actor=actor,
            boxes=boxes,
            transition="port_release",
            at=at,
            params=StepParams(certificate_no=certificate),
            epcis_event=epcis_event,
        )


# ---------------------------------------------------------------- the warehouse


def batch_receive(
    *,
    actor: User | None,
    event: Event,
    warehouse: Unit,
    number: str,
    received_at: dt.datetime,
    boxes: Sequence[Box],
    readings: dict[int, Decimal] | None = None,
    epcis_event=None,
) -> WarehouseBatch:
    """A batch of boxes received at the central warehouse (temperatures taken on arrival)."""
    with transaction.atomic():
        require_loop_staff(actor, event)
        _require_unit_category(warehouse, event, "coldchain_warehouse", "warehouse")
        batch = WarehouseBatch(
            event=event, warehouse=warehouse, number=number.strip(), received_at=received_at
        )
        require(actor, CHANGE, batch)
        save_validated(batch)
        audit(actor=actor, action="coldchain.batch.create", obj=batch, after=snapshot(batch))
        if not boxes:
            raise ValidationError({"boxes": _("A batch holds at least one box.")})
        workflow.apply(
            actor=actor,
            boxes=_fresh(boxes),
            transition="receive",
            at=received_at,
            params=StepParams(batch=batch),
            readings=readings,
            epcis_event=epcis_event,
        )
        publish("coldchain.batch.received", batch_id=batch.pk, event_id=event.pk)
    return batch


def _records_refused_unless_state(boxes: Sequence[Box], step: str) -> None:
    transition = workflow.TRANSITIONS[step]
    problems = [
        workflow.wrong_state(b, transition) for b in boxes if b.state not in transition.sources
    ]
    if problems:
        workflow.refuse(problems)


def _surfaces(surfaces: Sequence[str]) -> list[str]:
    chosen = list(dict.fromkeys(surfaces))
    if not chosen or any(s not in Surface.values for s in chosen):
        raise ValidationError(
            {"surfaces": _("Choose the outer carton, the smallest package or both.")}
        )
    return chosen


def _advance(
    actor,
    boxes: Sequence[Box],
    step: str,
    at,
    *,
    epcis_event=None,
    strict=False,
    params: StepParams | None = None,
) -> list[Box]:
    """Apply ``step`` to the boxes whose preconditions now hold; with ``strict``, refuse
    unless all of them do."""
    params = params or StepParams()
    missing = workflow.PRECONDITIONS[step](boxes, params)
    if strict and missing:
        workflow.refuse(workflow.refusals(boxes, step, params))
    ready = [b for b in boxes if b.pk not in missing]
    return workflow.apply(
        actor=actor, boxes=ready, transition=step, at=at, params=params, epcis_event=epcis_event
    )


def disinfection_record_bulk(
    *,
    actor: User | None,
    boxes: Sequence[Box],
    agent: str,
    operator: str,
    performed_at: dt.datetime,
    surfaces: Sequence[str] = SURFACES,
    strict: bool = False,
    epcis_event=None,
) -> list[Box]:
    """Disinfection of the given surfaces of boxes in the warehouse. Boxes whose outer carton
    and smallest package are then both disinfected become “disinfected” (returned)."""
    if not boxes:
        return []
    surfaces = _surfaces(surfaces)
    with transaction.atomic():
        boxes = _fresh(boxes)
        event = boxes[0].event
        require_loop_staff(actor, event)
        for box in boxes:
            require(actor, CHANGE, box)
        _records_refused_unless_state(boxes, "disinfect")
        template = Disinfection(
            event=event,
            box=boxes[0],
            surface=surfaces[0],
            agent=agent.strip(),
            operator=operator.strip(),
            performed_at=performed_at,
        )
        template.full_clean(
            exclude=["event", "box"], validate_unique=False, validate_constraints=False
        )
        rows = [
            Disinfection(
                event=event,
                box=box,
                surface=surface,
                agent=template.agent,
                operator=template.operator,
                performed_at=performed_at,
            )
            for box in boxes
            for surface in surfaces
        ]
        Disinfection.objects.bulk_create(rows, batch_size=1000)
        audit_many(
            actor=actor,
            changes=[
                Change(
                    action="coldchain.disinfection.create",
                    object_type="coldchain.box",
                    object_id=str(box.pk),
                    object_repr=box.code,
                    event_code=event.code,
                    after={
                        "surfaces": surfaces,
                        "agent": template.agent,
                        "operator": template.operator,
                        "performed_at": performed_at,
                    },
                )
                for box in boxes
            ],
        )
        return _advance(
            actor, boxes, "disinfect", performed_at, epcis_event=epcis_event, strict=strict
        )


def sample_code_for(box: Box, surface: str) -> str:
    return f"{box.code}-{'O' if surface == Surface.OUTER_CARTON else 'S'}"


def sample_take_bulk(
    *,
    actor: User | None,
    boxes: Sequence[Box],
    laboratory: Unit,
    sampled_at: dt.datetime,
    surfaces: Sequence[str] = SURFACES,
    strict: bool = False,
    epcis_event=None,
) -> list[Box]:
    """NAT samples of the given surfaces, sent to ``laboratory``; sample numbers are the box
    code with -O (outer carton) or -S (smallest package). Boxes with both samples become
    “sampled” (returned)."""
    if not boxes:
        return []
    surfaces = _surfaces(surfaces)
    with transaction.atomic():
        boxes = _fresh(boxes)
        event = boxes[0].event
        require_loop_staff(actor, event)
        _require_unit_category(laboratory, event, "laboratory", "laboratory")
        for box in boxes:
            require(actor, CHANGE, box)
        _records_refused_unless_state(boxes, "sample")
        already = set(
            NatSample.objects.filter(
                box__in=[b.pk for b in boxes], surface__in=surfaces
            ).values_list("box__code", "surface")
        )
        if already:
            workflow.refuse(
                [
                    workflow.refusal(b, _("this surface has already been sampled"))
                    for b in boxes
                    for s in surfaces
                    if (b.code, s) in already
                ]
            )
        rows = [
            NatSample(
                event=event,
                box=box,
                surface=surface,
                sample_code=sample_code_for(box, surface),
                laboratory=laboratory,
                sampled_at=sampled_at,
            )
            for box in boxes
            for surface in surfaces
        ]
        NatSample.objects.bulk_create(rows, batch_size=1000)
        audit_many(
            actor=actor,
            changes=[
                Change(
                    action="coldchain.sample.create",
                    object_type="coldchain.box",
                    object_id=str(box.pk),
                    object_repr=box.code,
                    event_code=event.code,
                    after={
                        "samples": [sample_code_for(box, surface) for surface in surfaces],
                        "laboratory": laboratory.pk,
                        "sampled_at": sampled_at,
                    },
                )
                for box in boxes
            ],
        )
        return _advance(actor, boxes, "sample", sampled_at, epcis_event=epcis_event, strict=strict)


@dataclass
class ResultRow:
    """One line of a laboratory's result sheet."""

    row: int
    sample_code: str
    result: str
    reported_at: dt.datetime | None
    report_no: str = ""


@dataclass
class ResultsOutcome:
    cleared: list[Box] = field(default_factory=list)
    quarantined: list[Box] = field(default_factory=list)
    pending: list[Box] = field(default_factory=list)


def nat_results_record_bulk(
    *,
    actor: User | None,
    event: Event,
    rows: Sequence[ResultRow],
    epcis_event=None,
    expect: str = "",
) -> ResultsOutcome:
    """A laboratory's results, all or nothing. A box whose two results are negative is
    cleared; a box with a positive result is quarantined; others wait for their results.
    ``expect`` ("clear" or "quarantine"): refuse unless every box of the sheet takes it."""
    with transaction.atomic():
        require_loop_staff(actor, event)
        if not rows:
            raise RowsRefused([RowError(0, "", _("The result sheet has no rows."))])
        codes = [r.sample_code.strip().upper() for r in rows]
        samples = {
            s.sample_code: s
            for s in NatSample.objects.select_related("box").filter(
                event=event, sample_code__in=codes
            )
        }
        errors: list[RowError] = []
        seen: dict[str, int] = {}
        for row, code in zip(rows, codes, strict=True):
            sample = samples.get(code)
            if sample is None:
                errors.append(
                    RowError(
                        row.row,
                        "sample_code",
                        _("No sample %(code)s in this event.") % {"code": code},
                    )
                )
                continue
            if code in seen:
                errors.append(
                    RowError(
                        row.row,
                        "sample_code",
                        _("Sample %(code)s appears twice (also row %(row)d).")
                        % {"code": code, "row": seen[code]},
                    )
                )
                continue
            seen[code] = row.row
            if sample.result:
                errors.append(
                    RowError(
                        row.row,
                        "sample_code",
                        _("Sample %(code)s already has its result.") % {"code": code},
                    )
                )
            if row.result not in NatResult.values:
                errors.append(RowError(row.row, "result", _("The result is negative or positive.")))
            if row.reported_at is None:
                errors.append(RowError(row.row, "reported_at", _("A value is required.")))
            elif row.reported_at < sample.sampled_at:
                errors.append(
                    RowError(
                        row.row,
                        "reported_at",
                        _("A result cannot be reported before the sampling."),
                    )
                )
            elif row.reported_at > timezone.now() + dt.timedelta(minutes=5):
                errors.append(RowError(row.row, "reported_at", _("This time is in the future.")))
            if sample.box.state != S.SAMPLED:
                errors.append(
                    RowError(
                        row.row,
                        "sample_code",
                        _("Box %(box)s is “%(state)s”, not waiting for results.")
                        % {"box": sample.box.code, "state": S(sample.box.state).label},
                    )
                )
        if errors:
            raise RowsRefused(errors)
        updated = []
        for row, code in zip(rows, codes, strict=True):
            sample = samples[code]
            sample.result = row.result
            sample.reported_at = row.reported_at
            sample.report_no = (row.report_no or "").strip()
            updated.append(sample)
        _write_results(updated)
        audit_many(
            actor=actor,
            changes=[
                Change(
                    action="coldchain.sample.result",
                    object_type="coldchain.natsample",
                    object_id=str(s.pk),
                    object_repr=s.sample_code,
                    event_code=event.code,
                    before={"result": ""},
                    after={
                        "result": s.result,
                        "reported_at": s.reported_at,
                        "report_no": s.report_no,
                    },
                )
                for s in updated
            ],
        )
        box_ids = list(dict.fromkeys(s.box_id for s in updated))
        boxes = load_boxes(box_ids)
        at = max(s.reported_at for s in updated)
        not_clear = workflow.PRECONDITIONS["clear"](boxes, StepParams())
        not_quarantine = workflow.PRECONDITIONS["quarantine"](boxes, StepParams())
        to_clear = [b for b in boxes if b.pk not in not_clear]
        to_quarantine = [b for b in boxes if b.pk not in not_quarantine]
        outcome = ResultsOutcome()
        if expect:
            wanted = to_clear if expect == "clear" else to_quarantine
            if len(wanted) != len(boxes):
                workflow.refuse(workflow.refusals(boxes, expect, StepParams()))
        outcome.cleared = (
            workflow.apply(
                actor=actor, boxes=to_clear, transition="clear", at=at, epcis_event=epcis_event
            )
            if to_clear
            else []
        )
        outcome.quarantined = (
            workflow.apply(
                actor=actor,
                boxes=to_quarantine,
                transition="quarantine",
                at=at,
                epcis_event=epcis_event,
            )
            if to_quarantine
            else []
        )
        done = {b.pk for b in outcome.cleared} | {b.pk for b in outcome.quarantined}
        outcome.pending = [b for b in boxes if b.pk not in done]
    return outcome


def _write_results(samples: Sequence[NatSample]) -> None:
    """The results of checked samples, one prepared statement run for all rows
    (``bulk_update`` builds a CASE expression per field: seconds for a few thousand)."""
    table = NatSample._meta.db_table
    field = NatSample._meta.get_field("reported_at")
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET result = %s, reported_at = %s, report_no = %s WHERE id = %s",
            [
                (s.result, field.get_db_prep_save(s.reported_at, connection), s.report_no, s.pk)
                for s in samples
            ],
        )


def box_release_bulk(
    *,
    actor: User | None,
    boxes: Sequence[Box],
    certificate_no: str,
    released_at: dt.datetime | None = None,
    epcis_event=None,
) -> list[Box]:
    """Warehouse-exit release of cleared boxes under one exit certificate."""
    return workflow.apply(
        actor=actor,
        boxes=_fresh(boxes),
        transition="release",
        at=released_at,
        params=StepParams(certificate_no=certificate_no or ""),
        epcis_event=epcis_event,
    )


def box_dispose(
    *,
    actor: User | None,
    box: Box,
    outcome: str,
    reason: str,
    at: dt.datetime | None = None,
    epcis_event=None,
) -> Box:
    """A quarantined box destroyed or returned, with the reason."""
    return workflow.apply(
        actor=actor,
        boxes=_fresh([box]),
        transition="dispose",
        at=at,
        params=StepParams(outcome=outcome, reason=reason or ""),
        epcis_event=epcis_event,
    )[0]


def box_transition(
    *,
    actor: User | None,
    boxes: Sequence[Box],
    transition: str,
    at: dt.datetime | None = None,
    params: StepParams | None = None,
    note: str = "",
) -> list[Box]:
    """Apply one step of the state machine directly (the steps that need no new record)."""
    if transition not in workflow.TRANSITIONS or transition == "declare":
        raise ValidationError({"transition": _("Unknown step “%(name)s”.") % {"name": transition}})
    return workflow.apply(
        actor=actor, boxes=_fresh(boxes), transition=transition, at=at, params=params, note=note
    )


# ---------------------------------------------------------------- transport and the gate


def transport_depart(
    *,
    actor: User | None,
    event: Event,
    number: str,
    vehicle_plate: str,
    departed_at: dt.datetime,
    boxes: Sequence[Box],
    carrier: Unit | None = None,
    epcis_event=None,
) -> Transport:
    """A refrigerated vehicle leaves the warehouse for the venue with released boxes."""
    with transaction.atomic():
        require_loop_staff(actor, event)
        if carrier is not None:
            _require_unit_category(carrier, event, "coldchain_carrier", "carrier")
        trip = Transport(
            event=event,
            number=number.strip(),
            vehicle_plate=vehicle_plate.strip().upper(),
            carrier=carrier,
            departed_at=departed_at,
        )
        require(actor, CHANGE, trip)
        save_validated(trip)
        audit(actor=actor, action="coldchain.transport.depart", obj=trip, after=snapshot(trip))
        if not boxes:
            raise ValidationError({"boxes": _("A transport carries at least one box.")})
        workflow.apply(
            actor=actor,
            boxes=_fresh(boxes),
            transition="depart",
            at=departed_at,
            params=StepParams(transport=trip),
            epcis_event=epcis_event,
        )
        publish("coldchain.transport.departed", transport_id=trip.pk, event_id=event.pk)
    return trip


def transport_arrive(
    *, actor: User | None, transport: Transport, arrived_at: dt.datetime
) -> Transport:
    with transaction.atomic():
        require_loop_staff(actor, transport.event)
        require(actor, CHANGE, transport)
        before = snapshot(transport)
        transport.arrived_at = arrived_at
        save_validated(transport, update_fields=["arrived_at"])
        audit(
            actor=actor,
            action="coldchain.transport.arrive",
            obj=transport,
            before=before,
            after=snapshot(transport),
        )
        publish("coldchain.transport.arrived", transport_id=transport.pk)
    return transport


@dataclass
class GateResult:
    passed: bool
    code: str
    reasons: list[str]
    box: Box | None = None
    late: bool = False

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "REFUSED"


def gate_enter(
    *,
    actor: User | None,
    event: Event,
    scanned: str,
    at: dt.datetime | None = None,
    celsius: Decimal | None = None,
    device_id: str = "",
    epcis_event=None,
) -> GateResult:
    """The venue gate: a box whose closed loop is complete passes and its entry is recorded;
    any other is refused with the reasons. A temperature taken at the gate outside the
    box's class refuses it too."""
    from .selectors import gate_lookup

    require_loop_staff(actor, event)
    at = at or timezone.now()
    box = gate_lookup(event=event, scanned=scanned)
    code = (scanned or "").strip()
    if box is None:
        return GateResult(
            False, code, [_("No box %(code)s is declared for this event.") % {"code": code[:80]}]
        )
    reasons = workflow.explain(box)
    if celsius is not None and is_excursion(box.temperature_class, celsius):
        reasons.append(
            workflow.refusal(
                box,
                _("%(t)s °C at the gate is outside its class (%(cls)s)")
                % {"t": celsius, "cls": TemperatureClass(box.temperature_class).label},
            )
        )
    if reasons:
        return GateResult(False, box.code, reasons, box)
    deadline = coldchain_settings_of(event).entry_deadline
    late = deadline is not None and at > deadline
    readings = {box.pk: celsius} if celsius is not None else None
    workflow.apply(
        actor=actor,
        boxes=[box],
        transition="enter",
        at=at,
        readings=readings,
        device_id=device_id,
        epcis_event=epcis_event,
        note=_("after the entry deadline") if late else "",
    )
    reasons = (
        [workflow.refusal(box, _("entered after the cold-chain entry deadline"))] if late else []
    )
    return GateResult(True, box.code, reasons, box, late=late)


def gate_enter_bulk(
    *,
    actor: User | None,
    event: Event,
    boxes: Sequence[Box],
    at: dt.datetime | None = None,
) -> list[Box]:
    """A truckload through the gate at once: every box must pass, or none enters."""
    require_loop_staff(actor, event)
    at = at or timezone.now()
    boxes = _fresh(boxes)
    reasons = [reason for box in boxes for reason in workflow.explain(box)]
    if reasons:
        workflow.refuse(reasons)
    deadline = coldchain_settings_of(event).entry_deadline
    late = deadline is not None and at > deadline
    return workflow.apply(
        actor=actor,
        boxes=boxes,
        transition="enter",
        at=at,
        note=_("after the entry deadline") if late else "",
    )


# ---------------------------------------------------------------- temperatures


@dataclass
class ReadingIn:
    """One temperature of a box, a warehouse or a vehicle."""

    subject: str
    measured_at: dt.datetime
    celsius: Decimal
    box: Box | None = None
    warehouse: Unit | None = None
    vehicle_plate: str = ""
    compartment: str = ""
    device_id: str = ""


def temperature_record_bulk(
    *,
    actor: User | None,
    event: Event,
    readings: Sequence[ReadingIn],
    epcis_event=None,
    write_epcis: bool = True,
) -> list[TemperatureReading]:
    """Temperatures of boxes, warehouses and vehicles, all or nothing.

    A box's reading is an excursion outside the box's temperature class; a warehouse's or
    vehicle's, outside the class of the compartment it measures. Each subject's readings are
    written as one EPCIS sensor-reporting ObjectEvent. One audit entry records the batch
    (the service is the path telemetry takes, which may carry many thousand readings)."""
    if actor is not None and not getattr(actor, "is_superuser", False):
        require_loop_staff(actor, event)
    with transaction.atomic():
        rows, problems = [], []
        for index, reading in enumerate(readings):
            compartment = reading.compartment or ""
            if reading.subject == ReadingSubject.BOX and reading.box is not None:
                if reading.box.event_id != event.pk:
                    problems.append(f"[{index}] " + _("The box belongs to another event."))
                    continue
                excursion = is_excursion(reading.box.temperature_class, reading.celsius)
            else:
                if reading.subject == ReadingSubject.WAREHOUSE and reading.warehouse is not None:
                    try:
                        _require_unit_category(
                            reading.warehouse, event, "coldchain_warehouse", "warehouse"
                        )
                    except ValidationError:
                        problems.append(
                            f"[{index}] " + _("Not a cold-chain warehouse of this event.")
                        )
                        continue
                excursion = bool(compartment) and is_excursion(compartment, reading.celsius)
            row = TemperatureReading(
                event=event,
                subject=reading.subject,
                box=reading.box,
                warehouse=reading.warehouse,
                vehicle_plate=(reading.vehicle_plate or "").strip().upper(),
                compartment=compartment,
                measured_at=reading.measured_at,
                celsius=reading.celsius,
                excursion=excursion,
                device_id=reading.device_id or "",
            )
            try:
                row.full_clean(
                    exclude=["event", "box", "warehouse"],
                    validate_unique=False,
                    validate_constraints=False,
                )
            except ValidationError as exc:
                problems.extend(f"[{index}] {m}" for m in exc.messages)
                continue
            subject_problem = _reading_subject_problem(row)
            if subject_problem:
                problems.append(f"[{index}] {subject_problem}")
                continue
            if row.box is not None:
                require(actor, CHANGE, row.box)
            rows.append(row)
        if problems:
            workflow.refuse(problems)
        TemperatureReading.objects.bulk_create(rows, batch_size=1000)
        if write_epcis and epcis_event is None:
            _readings_to_epcis(event, rows)
        audit(
            actor=actor,
            action="coldchain.temperature.record",
            object_type="coldchain.temperaturereading",
            object_id=f"{rows[0].pk}-{rows[-1].pk}" if rows else "",
            object_repr=_("%(n)d temperature readings") % {"n": len(rows)},
            event_code=event.code,
            after={"count": len(rows), "excursions": sum(r.excursion for r in rows)},
        )
        publish(
            "coldchain.temperature.recorded",
            event_id=event.pk,
            reading_ids=[r.pk for r in rows],
            excursion_ids=[r.pk for r in rows if r.excursion],
        )
    return rows


def _reading_subject_problem(row: TemperatureReading) -> str:
    """The rule of ``coldchain_temperaturereading_subject_matches``, checked before writing."""
    subjects = {
        ReadingSubject.BOX: row.box is not None,
        ReadingSubject.WAREHOUSE: row.warehouse is not None,
        ReadingSubject.VEHICLE: bool(row.vehicle_plate),
    }
    named = [name for name, present in subjects.items() if present]
    if named != [row.subject]:
        return _("A reading is of one box, one warehouse or one vehicle, as its subject says.")
    if not -100 <= row.celsius <= 100:
        return _("A temperature must lie between −100 and 100 °C.")
    return ""


def temperature_record(
    *, actor: User | None, event: Event, reading: ReadingIn
) -> TemperatureReading:
    return temperature_record_bulk(actor=actor, event=event, readings=[reading])[0]


def _readings_to_epcis(event: Event, rows: Sequence[TemperatureReading]) -> None:
    groups: dict[tuple, list[TemperatureReading]] = defaultdict(list)
    for row in rows:
        if row.box is not None:
            key = ("box", row.box.epc)
        elif row.warehouse is not None:
            key = ("place", documents.unit_uri(row.warehouse))
        else:
            key = ("place", documents.vehicle_uri(row.vehicle_plate))
        groups[key].append(row)
    for (kind, identifier), group in groups.items():
        element = documents.temperature_element(
            [(r.measured_at, r.celsius, r.device_id) for r in group], event
        )
        body = documents.object_event(
            event=event,
            at=max(r.measured_at for r in group),
            epcs=[identifier] if kind == "box" else [],
            biz_step="sensor_reporting",
            read_point=identifier if kind == "place" else "",
            sensor_elements=[element],
        )
        documents.store_own_event(event, body)


def box_for_update(box: Box) -> Box:
    """The box again, with what the steps read."""
    found = load_boxes([box.pk])
    if not found:
        raise PermissionDenied
    return found[0]


# ---------------------------------------------------------------- EPCIS capture


class EpcisRefused(ValidationError):
    """A capture refused whole; ``problems`` are (JSON path, message) pairs."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__([f"{p.path}: {p.message}" for p in self.problems[:200]])


# Captured ObjectEvents whose business step and disposition record a step of the loop.
CAPTURE_STEPS = {
    (t.biz_step, t.disposition): name
    for name, t in workflow.TRANSITIONS.items()
    if name not in ("declare", "dispose")
}
CAPTURE_STEPS.update({pair: "dispose" for pair in workflow.DISPOSAL_EPCIS.values()})


def _expanded_extensions(parsed) -> dict:
    """The event's extension fields by full IRI, compact IRIs expanded with its context."""
    prefixes = {}
    context = parsed.body.get("@context") or []
    for entry in context if isinstance(context, list) else [context]:
        if isinstance(entry, dict):
            prefixes.update({k: v for k, v in entry.items() if isinstance(v, str)})
    expanded = {}
    for key, value in parsed.extensions.items():
        prefix, _sep, local = key.partition(":")
        expanded[prefixes[prefix] + local if prefix in prefixes else key] = value
    return expanded


def _extension(parsed, name: str, *, required: bool = False):
    from .epcis import vocabulary as voc

    value = _expanded_extensions(parsed).get(voc.EXTENSION_NAMESPACE + name)
    if required and (value is None or value == ""):
        raise ValidationError(
            _("This step needs the extension field %(field)s (namespace %(ns)s).")
            % {"field": f"{voc.EXTENSION_PREFIX}:{name}", "ns": voc.EXTENSION_NAMESPACE}
        )
    return value


def _transaction_value(parsed, kind: str, urn_kind: str) -> str:
    for item in parsed.biz_transactions:
        if item.type == kind:
            return documents.unquote_urn(item.value, urn_kind) or item.value
    return ""


def _unit_named(event: Event, uri_or_code: str, category: str) -> Unit | None:
    credit_code = documents.unquote_urn(uri_or_code or "", "uscc") or (uri_or_code or "")
    return Unit.objects.filter(
        event=event, category__code=category, credit_code=credit_code.strip().upper()
    ).first()


def _warehouse_of(event: Event, parsed) -> Unit:
    for uri in (parsed.biz_location, parsed.read_point):
        unit = _unit_named(event, uri, "coldchain_warehouse") if uri else None
        if unit is not None:
            return unit
    warehouses = list(Unit.objects.filter(event=event, category__code="coldchain_warehouse")[:2])
    if len(warehouses) == 1:
        return warehouses[0]
    raise ValidationError(_("The business location names no cold-chain warehouse of this event."))


def _celsius(value: Decimal, uom: str) -> Decimal | None:
    if uom in ("", "CEL"):
        return value
    if uom == "FAH":
        return ((value - 32) * 5 / 9).quantize(Decimal("0.01"))
    if uom == "KEL":
        return value - Decimal("273.15")
    return None


def _surface_list(value) -> list[str]:
    if value is None:
        return list(SURFACES)
    return [value] if isinstance(value, str) else list(value)


def _apply_captured_step(actor, event: Event, parsed, row) -> int:
    """Apply the loop step a captured ObjectEvent records, if it names known boxes. Returns
    the number of boxes moved (0 for an event kept for traceability only)."""
    if parsed.type != "ObjectEvent":
        return 0
    keys = list(dict.fromkeys(canonical_key(e) for e in parsed.epcs))
    box_ids = list(Box.objects.filter(event=event, epc__in=keys).values_list("pk", flat=True))
    if not box_ids:
        return 0
    boxes = load_boxes(box_ids)
    at = parsed.event_time
    if parsed.biz_step == "sensor_reporting":
        readings = [
            ReadingIn(
                subject=ReadingSubject.BOX,
                box=box,
                measured_at=r.time or at,
                celsius=_celsius(r.value, r.uom),
                device_id=r.device_id,
            )
            for r in parsed.sensor_readings
            if r.type == "Temperature"
            and r.value is not None
            and _celsius(r.value, r.uom) is not None
            for box in boxes
        ]
        if readings:
            temperature_record_bulk(
                actor=actor, event=event, readings=readings, epcis_event=row, write_epcis=False
            )
        return 0
    step = CAPTURE_STEPS.get((parsed.biz_step, parsed.disposition))
    if step is None or parsed.action != "OBSERVE":
        return 0
    if step == "port_release":
        certificate = _transaction_value(parsed, "cert", "iq_certificate")
        by_consignment = defaultdict(list)
        for box in boxes:
            by_consignment[box.consignment_id].append(box)
        for group in by_consignment.values():
            consignment_port_release(
                actor=actor,
                consignment=group[0].consignment,
                iq_certificate_no=certificate,
                at=at,
                boxes=group,
                epcis_event=row,
            )
    elif step == "receive":
        number = str(_extension(parsed, "batch") or f"EPCIS-{row.pk}")
        batch_receive(
            actor=actor,
            event=event,
            warehouse=_warehouse_of(event, parsed),
            number=number,
            received_at=at,
            boxes=boxes,
            epcis_event=row,
        )
    elif step == "disinfect":
        disinfection_record_bulk(
            actor=actor,
            boxes=boxes,
            agent=str(_extension(parsed, "agent", required=True)),
            operator=str(
                _extension(parsed, "operator") or (actor.get_username() if actor else "system")
            ),
            performed_at=at,
            surfaces=_surface_list(_extension(parsed, "surfaces")),
            strict=True,
            epcis_event=row,
        )
    elif step == "sample":
        laboratory = _unit_named(
            event, str(_extension(parsed, "laboratory", required=True)), "laboratory"
        )
        if laboratory is None:
            raise ValidationError(_("eg:laboratory names no laboratory of this event."))
        sample_take_bulk(
            actor=actor,
            boxes=boxes,
            laboratory=laboratory,
            sampled_at=at,
            surfaces=_surface_list(_extension(parsed, "surfaces")),
            strict=True,
            epcis_event=row,
        )
    elif step in ("clear", "quarantine"):
        positive = (
            set(_surface_list(_extension(parsed, "positiveSurfaces")))
            if step == "quarantine"
            else set()
        )
        report = _transaction_value(parsed, "testres", "nat_report")
        pending = NatSample.objects.filter(box__in=box_ids, result="").order_by("pk")
        rows = [
            ResultRow(
                row=index + 1,
                sample_code=s.sample_code,
                result=NatResult.POSITIVE if s.surface in positive else NatResult.NEGATIVE,
                reported_at=at,
                report_no=report,
            )
            for index, s in enumerate(pending)
            if step == "clear" or s.surface in positive
        ]
        if not rows:
            workflow.refuse(workflow.refusals(boxes, step, StepParams()))
        try:
            nat_results_record_bulk(
                actor=actor, event=event, rows=rows, epcis_event=row, expect=step
            )
        except RowsRefused as exc:
            raise ValidationError([e.message for e in exc.rows]) from exc
    elif step == "release":
        box_release_bulk(
            actor=actor,
            boxes=boxes,
            certificate_no=_transaction_value(parsed, "cert", "exit_certificate"),
            released_at=at,
            epcis_event=row,
        )
    elif step == "depart":
        number = _transaction_value(parsed, "bol", "transport") or f"EPCIS-{row.pk}"
        transport_depart(
            actor=actor,
            event=event,
            number=number,
            vehicle_plate=str(_extension(parsed, "vehicle", required=True)),
            departed_at=at,
            boxes=boxes,
            epcis_event=row,
        )
    elif step == "enter":
        reasons = []
        for box in boxes:
            result = gate_enter(actor=actor, event=event, scanned=box.code, at=at, epcis_event=row)
            if not result.passed:
                reasons.extend(result.reasons)
        if reasons:
            workflow.refuse(reasons)
    elif step == "dispose":
        outcome = "destroyed" if parsed.disposition == "destroyed" else "returned"
        reason = str(_extension(parsed, "disposalReason", required=True))
        for box in boxes:
            box_dispose(
                actor=actor, box=box, outcome=outcome, reason=reason, at=at, epcis_event=row
            )
    return len(boxes)


def epcis_capture(
    *,
    actor: User | None,
    event: Event,
    document,
    media_type: str = "application/ld+json",
):
    """Capture an EPCIS 2.0 document (or a single event): validated by the rules of the
    EPCIS 2.0 JSON schema, stored whole or refused whole. An ObjectEvent about known boxes
    whose business step and disposition record a step of the loop applies that step through
    the services; any refused step refuses the document."""
    from .epcis.model import parse_event
    from .epcis.validation import Problem, events_of, validate
    from .models import EPCIS_TEXT, EpcisCapture

    require_loop_staff(actor, event)
    problems = validate(document)
    if problems:
        raise EpcisRefused(problems)
    if document["type"] == "EPCISQueryDocument":
        raise EpcisRefused([Problem("$.type", _("A capture takes an EPCISDocument or one event."))])
    context = document.get("@context") if document["type"] == "EPCISDocument" else None
    parsed = [
        parse_event(path, item, document_context=context) for path, item in events_of(document)
    ]
    for p in parsed:
        for name, value in (
            ("eventID", p.event_id),
            ("type", p.type),
            ("bizStep", p.biz_step),
            ("disposition", p.disposition),
            ("readPoint", p.read_point),
            ("bizLocation", p.biz_location),
            *((role, value) for role, value in p.identifiers),
        ):
            if len(value) > EPCIS_TEXT:
                problems.append(
                    Problem(
                        f"{p.path}.{name}",
                        _("Longer than %(n)d characters: this repository cannot index it.")
                        % {"n": EPCIS_TEXT},
                    )
                )
    if problems:
        raise EpcisRefused(problems)
    with transaction.atomic():
        capture = EpcisCapture(
            event=event, actor=actor, media_type=media_type[:40], event_count=len(parsed)
        )
        save_validated(capture)
        rows = documents.store_events(event, parsed, capture=capture)
        applied = 0
        ordered = sorted(zip(parsed, rows, strict=True), key=lambda pair: pair[0].event_time)
        for p, row in ordered:
            try:
                with transaction.atomic():
                    applied += _apply_captured_step(actor, event, p, row)
            except ValidationError as exc:
                problems.extend(Problem(p.path, message) for message in exc.messages)
            except PermissionDenied as exc:
                problems.append(Problem(p.path, str(exc)))
        if problems:
            raise EpcisRefused(problems)
        capture.steps_applied = applied
        capture.save(update_fields=["steps_applied"])
        audit(
            actor=actor,
            action="coldchain.epcis.capture",
            obj=capture,
            event_code=event.code,
            after={"events": len(parsed), "boxes_moved": applied, "media_type": media_type},
        )
        publish("coldchain.epcis.captured", capture_id=str(capture.pk), event_id=event.pk)
    return capture
