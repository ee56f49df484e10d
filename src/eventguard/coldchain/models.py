"""The cold-chain closed loop for imported food exhibits.

Consignments declared by exhibitors, their boxes, the warehouse batches, disinfection and
nucleic-acid (NAT) samples of the outer carton and the smallest package, the warehouse-exit
release, transport into the venue and the venue gate. Every step of a box is a transition of
its state machine (``workflow.py``), recorded on its timeline and as a GS1 EPCIS 2.0 event.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from eventguard.core.access import ScopeSpec
from eventguard.core.models import Domain, Event, Unit

# ---------------------------------------------------------------- choices


class TemperatureClass(models.TextChoices):
    FROZEN = "frozen", _("Frozen (at or below −18 °C)")
    CHILLED = "chilled", _("Chilled (0 to 4 °C)")


# (lowest, highest) allowed temperature in °C of each class; None: no bound.
TEMPERATURE_LIMITS: dict[str, tuple[Decimal | None, Decimal | None]] = {
    TemperatureClass.FROZEN: (None, Decimal("-18")),
    TemperatureClass.CHILLED: (Decimal("0"), Decimal("4")),
}


def is_excursion(temperature_class: str, celsius: Decimal) -> bool:
    """Whether ``celsius`` lies outside the range of ``temperature_class``."""
    low, high = TEMPERATURE_LIMITS[temperature_class]
    return (low is not None and celsius < low) or (high is not None and celsius > high)


class Surface(models.TextChoices):
    OUTER_CARTON = "outer_carton", _("Outer carton")
    SMALLEST_PACKAGE = "smallest_package", _("Smallest package")


class NatResult(models.TextChoices):
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")


class BoxState(models.TextChoices):
    DECLARED = "declared", _("Declared")
    PORT_RELEASED = "port_released", _("Port released")
    IN_WAREHOUSE = "in_warehouse", _("In warehouse")
    DISINFECTED = "disinfected", _("Disinfected")
    SAMPLED = "sampled", _("Sampled")
    CLEARED = "cleared", pgettext_lazy("box state", "Cleared")
    RELEASED = "released", pgettext_lazy("box state", "Released")
    IN_TRANSIT = "in_transit", _("In transit")
    ENTERED_VENUE = "entered_venue", _("Entered venue")
    QUARANTINED = "quarantined", _("Quarantined")
    DISPOSED = "disposed", _("Disposed")


# States in which a box holds its warehouse-exit certificate.
RELEASED_STATES = (BoxState.RELEASED, BoxState.IN_TRANSIT, BoxState.ENTERED_VENUE)


class DisposalOutcome(models.TextChoices):
    DESTROYED = "destroyed", _("Destroyed")
    RETURNED = "returned", pgettext_lazy("disposal outcome", "Returned")


class ReadingSubject(models.TextChoices):
    BOX = "box", _("Box")
    WAREHOUSE = "warehouse", _("Warehouse")
    VEHICLE = "vehicle", _("Vehicle")


COLDCHAIN = Domain.COLDCHAIN

# ---------------------------------------------------------------- settings of an event


class ColdChainSettings(models.Model):
    """The cold-chain rules of one event: the venue-entry deadline and the risk window."""

    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="coldchain_settings")
    entry_deadline = models.DateTimeField(_("cold-chain entry deadline"), null=True, blank=True)
    at_risk_hours = models.PositiveIntegerField(
        _("at risk when not cleared this many hours before the deadline"), default=48
    )
    updated_at = models.DateTimeField(auto_now=True)

    scope = ScopeSpec(domain=COLDCHAIN, event="event", zone=None, unit=None)

    class Meta:
        verbose_name = _("cold-chain settings")
        verbose_name_plural = _("cold-chain settings")

    def __str__(self) -> str:
        return f"{self.event.code} cold chain"


# ---------------------------------------------------------------- consignments and boxes


class Consignment(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="consignments")
    exhibitor = models.ForeignKey(
        Unit,
        verbose_name=_("exhibitor"),
        on_delete=models.PROTECT,
        related_name="coldchain_consignments",
    )
    reference = models.CharField(_("consignment no."), max_length=40)
    port_of_entry = models.CharField(_("port of entry"), max_length=100)
    customs_declaration_no = models.CharField(_("customs declaration no."), max_length=40)
    iq_certificate_no = models.CharField(
        _("inspection-and-quarantine certificate no."), max_length=60, blank=True
    )
    origin_country = models.CharField(_("country of origin"), max_length=100)
    products = models.CharField(_("products"), max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope = ScopeSpec(domain=COLDCHAIN, event="event", zone=None, unit="exhibitor")

    class Meta:
        verbose_name = _("consignment")
        verbose_name_plural = _("consignments")
        ordering = ["-created_at", "reference"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "reference"],
                name="coldchain_consignment_unique_event_reference",
                violation_error_message=_("A consignment with this number already exists."),
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class WarehouseBatch(models.Model):
    """Boxes received together at the central cold-chain warehouse."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="warehouse_batches")
    warehouse = models.ForeignKey(
        Unit, verbose_name=_("warehouse"), on_delete=models.PROTECT, related_name="batches"
    )
    number = models.CharField(_("batch no."), max_length=40)
    received_at = models.DateTimeField(_("received at"))
    created_at = models.DateTimeField(auto_now_add=True)

    scope = ScopeSpec(domain=COLDCHAIN, event="event", zone=None, unit="warehouse")

    class Meta:
        verbose_name = _("warehouse batch")
        verbose_name_plural = _("warehouse batches")
        ordering = ["received_at", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "number"],
                name="coldchain_warehousebatch_unique_event_number",
                violation_error_message=_("A batch with this number already exists."),
            ),
        ]

    def __str__(self) -> str:
        return self.number


class Transport(models.Model):
    """One trip of a refrigerated vehicle from the warehouse to the venue."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="transports")
    number = models.CharField(_("transport no."), max_length=40)
    vehicle_plate = models.CharField(_("vehicle plate"), max_length=20)
    carrier = models.ForeignKey(
        Unit,
        verbose_name=_("carrier"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transports",
    )
    departed_at = models.DateTimeField(_("departed at"))
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    scope = ScopeSpec(domain=COLDCHAIN, event="event", zone=None, unit="carrier")

    class Meta:
        verbose_name = _("transport")
        verbose_name_plural = _("transports")
        ordering = ["departed_at", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "number"],
                name="coldchain_transport_unique_event_number",
                violation_error_message=_("A transport with this number already exists."),
            ),
            models.CheckConstraint(
                condition=Q(arrived_at__isnull=True) | Q(arrived_at__gte=F("departed_at")),
                name="coldchain_transport_arrives_after_departure",
                violation_error_message=_("A vehicle cannot arrive before it departs."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.vehicle_plate})"


class Box(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="boxes")
    consignment = models.ForeignKey(
        Consignment, verbose_name=_("consignment"), on_delete=models.PROTECT, related_name="boxes"
    )
    code = models.CharField(_("traceability code"), max_length=40)
    gtin = models.CharField(_("GTIN"), max_length=14)
    serial = models.CharField(_("serial no."), max_length=20)
    # The GS1 Digital Link URI of (GTIN, serial): what the QR label encodes and EPCIS names.
    epc = models.CharField(_("EPC (GS1 Digital Link)"), max_length=120, editable=False)
    product = models.CharField(_("product"), max_length=200)
    temperature_class = models.CharField(
        _("temperature class"), max_length=10, choices=TemperatureClass.choices
    )
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=9, decimal_places=3)
    smallest_package = models.CharField(_("smallest package"), max_length=200)
    state = models.CharField(
        _("state"), max_length=20, choices=BoxState.choices, default=BoxState.DECLARED
    )
    state_changed_at = models.DateTimeField(_("state since"))
    batch = models.ForeignKey(
        WarehouseBatch,
        verbose_name=_("warehouse batch"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="boxes",
    )
    transport = models.ForeignKey(
        Transport,
        verbose_name=_("transport"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="boxes",
    )
    exit_certificate_no = models.CharField(
        _("warehouse-exit certificate no."), max_length=60, blank=True
    )
    received_at = models.DateTimeField(_("received at the warehouse"), null=True, blank=True)
    cleared_at = models.DateTimeField(pgettext_lazy("box", "cleared at"), null=True, blank=True)
    entered_at = models.DateTimeField(_("entered the venue at"), null=True, blank=True)
    disposal_outcome = models.CharField(
        _("disposal"), max_length=10, choices=DisposalOutcome.choices, blank=True
    )
    disposal_reason = models.CharField(_("disposal reason"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    scope = ScopeSpec(domain=COLDCHAIN, event="event", zone=None, unit="consignment__exhibitor")

    class Meta:
        verbose_name = _("box")
        verbose_name_plural = _("boxes")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "code"],
                name="coldchain_box_unique_event_code",
                violation_error_message=_("A box with this traceability code already exists."),
            ),
            models.UniqueConstraint(
                fields=["event", "epc"],
                name="coldchain_box_unique_event_epc",
                violation_error_message=_("A box with this GTIN and serial no. already exists."),
            ),
            models.CheckConstraint(
                condition=Q(weight_kg__gt=0),
                name="coldchain_box_weight_positive",
                violation_error_message=_("The weight must be greater than zero."),
            ),
            models.CheckConstraint(
                condition=Q(state__in=BoxState.values),
                name="coldchain_box_state_known",
            ),
            models.CheckConstraint(
                condition=(Q(state=BoxState.DISPOSED) & ~Q(disposal_outcome=""))
                | (~Q(state=BoxState.DISPOSED) & Q(disposal_outcome="")),
                name="coldchain_box_disposal_iff_disposed",
                violation_error_message=_("Only a disposed box has a disposal outcome."),
            ),
            models.CheckConstraint(
                condition=~Q(state__in=RELEASED_STATES) | ~Q(exit_certificate_no=""),
                name="coldchain_box_released_with_certificate",
                violation_error_message=_("A released box needs its warehouse-exit certificate."),
            ),
            models.CheckConstraint(
                condition=~Q(state=BoxState.ENTERED_VENUE) | Q(entered_at__isnull=False),
                name="coldchain_box_entered_with_time",
            ),
        ]
        indexes = [
            models.Index(fields=["event", "state"], name="coldchain_box_event_state"),
            models.Index(fields=["event", "entered_at"], name="coldchain_box_event_entered"),
            models.Index(fields=["event", "received_at"], name="coldchain_box_event_received"),
        ]

    def __str__(self) -> str:
        return self.code


class Disinfection(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    box = models.ForeignKey(
        Box, verbose_name=_("box"), on_delete=models.CASCADE, related_name="disinfections"
    )
    surface = models.CharField(_("surface"), max_length=20, choices=Surface.choices)
    agent = models.CharField(_("disinfectant"), max_length=100)
    operator = models.CharField(_("operator"), max_length=100)
    performed_at = models.DateTimeField(_("disinfected at"))
    created_at = models.DateTimeField(auto_now_add=True)

    scope = ScopeSpec(
        domain=COLDCHAIN, event="event", zone=None, unit="box__consignment__exhibitor"
    )

    class Meta:
        verbose_name = _("disinfection")
        verbose_name_plural = _("disinfections")
        ordering = ["performed_at"]
        indexes = [models.Index(fields=["box", "surface"], name="coldchain_disinf_box_surface")]

    def __str__(self) -> str:
        return f"{self.box_id} {self.surface}"


class NatSample(models.Model):
    """A nucleic-acid test sample of one surface of one box, and its result."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    box = models.ForeignKey(
        Box, verbose_name=_("box"), on_delete=models.CASCADE, related_name="samples"
    )
    surface = models.CharField(_("surface"), max_length=20, choices=Surface.choices)
    sample_code = models.CharField(_("sample no."), max_length=40)
    laboratory = models.ForeignKey(
        Unit, verbose_name=_("laboratory"), on_delete=models.PROTECT, related_name="nat_samples"
    )
    sampled_at = models.DateTimeField(_("sampled at"))
    result = models.CharField(
        pgettext_lazy("NAT test", "result"), max_length=10, choices=NatResult.choices, blank=True
    )
    reported_at = models.DateTimeField(_("reported at"), null=True, blank=True)
    report_no = models.CharField(_("test report no."), max_length=60, blank=True)

    scope = ScopeSpec(
        domain=COLDCHAIN, event="event", zone=None, unit="box__consignment__exhibitor"
    )

    class Meta:
        verbose_name = _("NAT sample")
        verbose_name_plural = _("NAT samples")
        ordering = ["sampled_at", "sample_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["box", "surface"],
                name="coldchain_natsample_unique_box_surface",
                violation_error_message=_("This surface of the box has already been sampled."),
            ),
            models.UniqueConstraint(
                fields=["event", "sample_code"],
                name="coldchain_natsample_unique_event_sample_code",
                violation_error_message=_("A sample with this number already exists."),
            ),
            models.CheckConstraint(
                condition=(Q(result="") & Q(reported_at__isnull=True))
                | (~Q(result="") & Q(reported_at__isnull=False)),
                name="coldchain_natsample_result_iff_reported",
                violation_error_message=_("A result needs the time it was reported, and back."),
            ),
            models.CheckConstraint(
                condition=Q(reported_at__isnull=True) | Q(reported_at__gte=F("sampled_at")),
                name="coldchain_natsample_reported_after_sampling",
                violation_error_message=_("A result cannot be reported before the sampling."),
            ),
        ]
        # The event's positive samples, counted for its figures.
        indexes = [models.Index(fields=["event", "result"], name="coldchain_natsample_result")]

    def __str__(self) -> str:
        return self.sample_code


class BoxTransition(models.Model):
    """One step of a box's journey: the timeline people read."""

    box = models.ForeignKey(Box, on_delete=models.CASCADE, related_name="transitions")
    transition = models.CharField(_("step"), max_length=20)
    from_state = models.CharField(
        pgettext_lazy("state change", "from"), max_length=20, choices=BoxState.choices, blank=True
    )
    to_state = models.CharField(
        pgettext_lazy("state change", "to"), max_length=20, choices=BoxState.choices
    )
    at = models.DateTimeField(_("time"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_name = models.CharField(_("by"), max_length=150)
    place = models.CharField(_("place"), max_length=200, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    epcis_event = models.ForeignKey(
        "EpcisEvent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    scope = ScopeSpec(
        domain=COLDCHAIN, event="box__event", zone=None, unit="box__consignment__exhibitor"
    )

    class Meta:
        verbose_name = _("box transition")
        verbose_name_plural = _("box transitions")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["box", "at"], name="coldchain_transition_box_at")]

    def __str__(self) -> str:
        return f"{self.box_id}: {self.from_state} -> {self.to_state}"


class TemperatureReading(models.Model):
    """A temperature of a box, of a warehouse or of a vehicle.

    Warehouse and vehicle readings name the compartment (frozen or chilled) they measure,
    so that a box's timeline shows the readings of the compartment that held it.
    """

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    subject = models.CharField(_("subject"), max_length=10, choices=ReadingSubject.choices)
    box = models.ForeignKey(
        Box, on_delete=models.CASCADE, null=True, blank=True, related_name="readings"
    )
    warehouse = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    vehicle_plate = models.CharField(_("vehicle plate"), max_length=20, blank=True)
    compartment = models.CharField(
        _("compartment"), max_length=10, choices=TemperatureClass.choices, blank=True
    )
    measured_at = models.DateTimeField(_("measured at"))
    celsius = models.DecimalField(_("temperature (°C)"), max_digits=5, decimal_places=2)
    excursion = models.BooleanField(_("excursion"), default=False)
    device_id = models.CharField(_("device"), max_length=120, blank=True)

    scope = ScopeSpec(
        domain=COLDCHAIN, event="event", zone=None, unit="box__consignment__exhibitor"
    )

    class Meta:
        verbose_name = _("temperature reading")
        verbose_name_plural = _("temperature readings")
        ordering = ["measured_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(subject=ReadingSubject.BOX)
                    & Q(box__isnull=False)
                    & Q(warehouse__isnull=True)
                    & Q(vehicle_plate="")
                )
                | (
                    Q(subject=ReadingSubject.WAREHOUSE)
                    & Q(box__isnull=True)
                    & Q(warehouse__isnull=False)
                    & Q(vehicle_plate="")
                )
                | (
                    Q(subject=ReadingSubject.VEHICLE)
                    & Q(box__isnull=True)
                    & Q(warehouse__isnull=True)
                    & ~Q(vehicle_plate="")
                ),
                name="coldchain_temperaturereading_subject_matches",
                violation_error_message=_(
                    "A reading is of one box, one warehouse or one vehicle, as its subject says."
                ),
            ),
            models.CheckConstraint(
                condition=Q(celsius__gte=-100) & Q(celsius__lte=100),
                name="coldchain_temperaturereading_plausible",
                violation_error_message=_("A temperature must lie between −100 and 100 °C."),
            ),
        ]
        indexes = [
            models.Index(fields=["box", "measured_at"], name="coldchain_reading_box"),
            models.Index(fields=["warehouse", "measured_at"], name="coldchain_reading_warehouse"),
            models.Index(
                fields=["event", "vehicle_plate", "measured_at"], name="coldchain_reading_vehicle"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} {self.celsius} °C"


# ---------------------------------------------------------------- GS1 EPCIS 2.0

# The longest identifier or vocabulary URI the repository indexes.
EPCIS_TEXT = 1000


class EpcisCapture(models.Model):
    """One EPCIS document received by the capture interface (or written by the services)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="epcis_captures")
    created_at = models.DateTimeField(_("received at"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    media_type = models.CharField(max_length=40, blank=True)
    event_count = models.PositiveIntegerField(default=0)
    steps_applied = models.PositiveIntegerField(default=0)

    scope = ScopeSpec(domain=COLDCHAIN, event="event", zone=None, unit=None)

    class Meta:
        verbose_name = _("EPCIS capture")
        verbose_name_plural = _("EPCIS captures")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return str(self.id)


class EpcisEvent(models.Model):
    """One EPCIS event, its queryable fields in columns and the event itself in ``body``."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="epcis_events")
    capture = models.ForeignKey(
        EpcisCapture, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    identifier = models.CharField(_("event ID"), max_length=EPCIS_TEXT)
    event_type = models.CharField(_("event type"), max_length=EPCIS_TEXT)
    event_time = models.DateTimeField(_("event time"))
    record_time = models.DateTimeField(_("record time"))
    action = models.CharField(_("action"), max_length=10, blank=True)
    biz_step = models.CharField(_("business step"), max_length=EPCIS_TEXT, blank=True)
    disposition = models.CharField(_("disposition"), max_length=EPCIS_TEXT, blank=True)
    read_point = models.CharField(_("read point"), max_length=EPCIS_TEXT, blank=True)
    biz_location = models.CharField(_("business location"), max_length=EPCIS_TEXT, blank=True)
    # The event as the interface returns it (without recordTime, added on the way out).
    body = models.JSONField()

    scope = ScopeSpec(domain=COLDCHAIN, event="event", zone=None, unit=None)

    class Meta:
        verbose_name = _("EPCIS event")
        verbose_name_plural = _("EPCIS events")
        ordering = ["event_time", "pk"]
        indexes = [
            models.Index(fields=["event", "event_time", "id"], name="coldchain_epcis_time"),
            models.Index(fields=["event", "identifier"], name="coldchain_epcis_event_id"),
            models.Index(fields=["event", "biz_step"], name="coldchain_epcis_biz_step"),
        ]

    def __str__(self) -> str:
        return self.identifier


class EpcisObject(models.Model):
    """An identifier an EPCIS event names, for MATCH_epc and friends."""

    class Role(models.TextChoices):
        EPC = "epc", "epcList"
        CHILD = "child", "childEPCs"
        PARENT = "parent", "parentID"
        INPUT = "input", "inputEPCList"
        OUTPUT = "output", "outputEPCList"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    epcis_event = models.ForeignKey(
        EpcisEvent, on_delete=models.CASCADE, related_name="identifiers"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    epc = models.CharField(max_length=EPCIS_TEXT)
    # The same identifier in one canonical form (GS1 Digital Link for SGTIN), so that a
    # query by a URN finds events that named the object by its Digital Link, and back.
    key = models.CharField(max_length=EPCIS_TEXT)

    class Meta:
        indexes = [
            models.Index(fields=["event", "key"], name="coldchain_epcisobj_key"),
            models.Index(fields=["event", "epc"], name="coldchain_epcisobj_epc"),
        ]

    def __str__(self) -> str:
        return self.epc
