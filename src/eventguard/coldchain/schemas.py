"""Typed shapes of the cold-chain API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from ninja import Field, Schema
from pydantic import ConfigDict

from eventguard.core.schemas import UnitRef


class InputSchema(Schema):
    model_config = ConfigDict(extra="forbid")


BoxCodes = list[str]


# ---------------------------------------------------------------- consignments


class ConsignmentIn(InputSchema):
    event: str
    exhibitor: int = Field(..., description="Id of the exhibitor unit.")
    reference: str
    port_of_entry: str
    customs_declaration_no: str
    origin_country: str
    products: str
    iq_certificate_no: str = ""


class ConsignmentOut(Schema):
    id: int
    reference: str
    exhibitor: UnitRef
    port_of_entry: str
    customs_declaration_no: str
    iq_certificate_no: str
    origin_country: str
    products: str
    box_count: int = 0
    created_at: dt.datetime


class ConsignmentPage(Schema):
    count: int
    items: list[ConsignmentOut]


class PortReleaseIn(InputSchema):
    iq_certificate_no: str
    at: dt.datetime | None = None
    boxes: BoxCodes | None = Field(None, description="Box codes (default: all declared boxes).")


# ---------------------------------------------------------------- boxes


class BoxOut(Schema):
    id: int
    code: str
    epc: str
    gtin: str
    serial: str
    consignment: str
    exhibitor_id: int
    product: str
    temperature_class: str
    weight_kg: Decimal
    smallest_package: str
    state: str
    state_label: str
    state_changed_at: dt.datetime
    batch: str | None
    transport: str | None
    exit_certificate_no: str
    received_at: dt.datetime | None
    cleared_at: dt.datetime | None
    entered_at: dt.datetime | None
    disposal_outcome: str
    disposal_reason: str

    @staticmethod
    def resolve_consignment(obj) -> str:
        return obj.consignment.reference

    @staticmethod
    def resolve_exhibitor_id(obj) -> int:
        return obj.consignment.exhibitor_id

    @staticmethod
    def resolve_state_label(obj) -> str:
        return str(obj.get_state_display())

    @staticmethod
    def resolve_batch(obj) -> str | None:
        return obj.batch.number if obj.batch_id else None

    @staticmethod
    def resolve_transport(obj) -> str | None:
        return obj.transport.number if obj.transport_id else None


class BoxPage(Schema):
    count: int
    items: list[BoxOut]


class TimelineEntryOut(Schema):
    at: dt.datetime
    kind: str
    title: str
    place: str
    actor: str
    detail: str
    alert: bool
    state: str


class BoxDetailOut(BoxOut):
    timeline: list[TimelineEntryOut]


class BoxesMovedOut(Schema):
    moved: int = Field(..., description="Boxes that took the step.")
    boxes: list[str] = Field(..., description="Their codes.")


class BatchIn(InputSchema):
    event: str
    warehouse: int
    number: str
    received_at: dt.datetime
    boxes: BoxCodes
    temperatures: dict[str, Decimal] | None = Field(
        None, description="Temperature (°C) of some boxes on arrival, by box code."
    )


class BatchOut(Schema):
    id: int
    number: str
    warehouse: UnitRef
    received_at: dt.datetime
    box_count: int


Surface = Literal["outer_carton", "smallest_package"]


class DisinfectionIn(InputSchema):
    event: str
    boxes: BoxCodes
    agent: str
    operator: str
    performed_at: dt.datetime
    surfaces: list[Surface] = ["outer_carton", "smallest_package"]


class SamplesIn(InputSchema):
    event: str
    boxes: BoxCodes
    laboratory: int
    sampled_at: dt.datetime
    surfaces: list[Surface] = ["outer_carton", "smallest_package"]


class ResultIn(InputSchema):
    sample_code: str
    result: Literal["negative", "positive"]
    reported_at: dt.datetime
    report_no: str = ""


class ResultsIn(InputSchema):
    event: str
    results: list[ResultIn]


class ResultsOut(Schema):
    cleared: list[str]
    quarantined: list[str]
    pending: list[str]


class ReleaseIn(InputSchema):
    event: str
    boxes: BoxCodes
    certificate_no: str
    released_at: dt.datetime | None = None


class TransportIn(InputSchema):
    event: str
    number: str
    vehicle_plate: str
    departed_at: dt.datetime
    boxes: BoxCodes
    carrier: int | None = None


class TransportOut(Schema):
    id: int
    number: str
    vehicle_plate: str
    departed_at: dt.datetime
    arrived_at: dt.datetime | None
    box_count: int


class ArrivalIn(InputSchema):
    arrived_at: dt.datetime


class DisposeIn(InputSchema):
    event: str
    outcome: Literal["destroyed", "returned"]
    reason: str
    at: dt.datetime | None = None


class GateIn(InputSchema):
    event: str
    code: str = Field(..., description="Box code, GS1 Digital Link or SGTIN EPC URI as scanned.")
    celsius: Decimal | None = Field(None, description="Temperature taken at the gate, if any.")


class GateOut(Schema):
    verdict: Literal["PASS", "REFUSED"]
    code: str
    reasons: list[str]
    late: bool
    box: BoxOut | None


class ReadingIn(InputSchema):
    subject: Literal["box", "warehouse", "vehicle"]
    box: str | None = Field(None, description="Box code, for a box's reading.")
    warehouse: int | None = Field(None, description="Warehouse unit id.")
    vehicle_plate: str = ""
    compartment: Literal["", "frozen", "chilled"] = ""
    measured_at: dt.datetime
    celsius: Decimal
    device_id: str = ""


class ReadingsIn(InputSchema):
    event: str
    readings: list[ReadingIn] = Field(..., min_length=1, max_length=10000)


class ReadingOut(Schema):
    id: int
    subject: str
    measured_at: dt.datetime
    celsius: Decimal
    excursion: bool


class SettingsIn(InputSchema):
    event: str
    entry_deadline: dt.datetime | None
    at_risk_hours: int | None = Field(None, ge=0, le=24 * 30)


class SettingsOut(Schema):
    entry_deadline: dt.datetime | None
    at_risk_hours: int


class ExhibitorOut(Schema):
    id: int
    name: str
    credit_code: str
    box_count: int
    received_count: int
    entered_count: int


class ExhibitorPage(Schema):
    count: int
    items: list[ExhibitorOut]
