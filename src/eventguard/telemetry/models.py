"""Devices, the telemetry they send, and the messages refused from them."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from eventguard.core.access import ScopeSpec
from eventguard.core.models import Domain, Event, Unit, Zone

from .contract import Reason


class DeviceKind(models.TextChoices):
    LIFT_CONTROLLER = "lift_controller", _("Lift controller")
    ESCALATOR_CONTROLLER = "escalator_controller", _("Escalator controller")
    TEMPERATURE_LOGGER = "temperature_logger", _("Temperature logger")
    KITCHEN_CAMERA = "kitchen_camera", _("AI kitchen camera")
    OTHER = "other", _("Other device")


class Device(models.Model):
    """A device registered in an event, reporting on one subject.

    The subject is any record of a registered subject kind (core/subjects.py); its
    event, zone, unit and domain are copied here so that scoping needs no join.
    """

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="devices")
    code = models.SlugField(
        _("device id"),
        max_length=64,
        help_text=_("The id in the device's MQTT topic: letters, digits, - and _."),
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=30, choices=DeviceKind.choices)
    subject_type = models.CharField(_("subject kind"), max_length=100)
    subject_id = models.BigIntegerField(_("subject id"))
    subject_name = models.CharField(_("subject"), max_length=200, blank=True)
    domain = models.CharField(_("domain"), max_length=20, choices=Domain.choices)
    zone = models.ForeignKey(
        Zone, verbose_name=_("zone"), on_delete=models.SET_NULL, null=True, blank=True
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.SET_NULL, null=True, blank=True
    )
    secret_digest = models.CharField(max_length=64, editable=False)
    offline_after = models.PositiveIntegerField(
        _("offline after (seconds)"),
        null=True,
        blank=True,
        help_text=_("Silence after which the device counts as offline; empty: the default."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    # When the device counts as offline unless it is heard from again.
    stale_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_seq = models.BigIntegerField(_("last sequence number"), null=True, blank=True)
    latest = models.JSONField(_("latest state"), default=dict, blank=True, editable=False)
    latest_at = models.DateTimeField(_("latest reading at"), null=True, blank=True)
    # Per-rule evaluation state kept by the rules engine (threshold held since, ...).
    rule_state = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope = ScopeSpec(domain_path="domain", zone="zone", unit="unit", overseen_by="monitoring")

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["event", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "code"],
                name="telemetry_device_unique_event_code",
                violation_error_message=_("A device with this id is already registered."),
            ),
            models.CheckConstraint(
                condition=Q(offline_after__isnull=True) | Q(offline_after__gte=10),
                name="telemetry_device_offline_after_min",
                violation_error_message=_("A device counts as offline after 10 s at the least."),
            ),
        ]
        indexes = [models.Index(fields=["subject_type", "subject_id"])]

    def __str__(self) -> str:
        return self.name or self.code

    @property
    def subject_key(self) -> str:
        return f"{self.subject_type}:{self.subject_id}"


class TelemetryMessage(models.Model):
    """One stored message. Written only by the bulk ingest service.

    No foreign-key constraints on this table: the per-row checks would halve the
    throughput of COPY, and the ingest service writes rows only for devices it has
    just locked. Devices are deactivated, never deleted.
    """

    id = models.BigAutoField(primary_key=True)
    event = models.ForeignKey(
        Event, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    device = models.ForeignKey(
        Device,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="messages",
    )
    seq = models.BigIntegerField(_("sequence number"))
    kind = models.CharField(_("kind"), max_length=32)
    ts = models.DateTimeField(_("device time"))
    received_at = models.DateTimeField(_("received"))
    value = models.FloatField(_("value"), null=True, blank=True)
    payload = models.JSONField(_("payload"))

    class Meta:
        verbose_name = _("telemetry message")
        verbose_name_plural = _("telemetry messages")
        constraints = [
            models.UniqueConstraint(
                fields=["device", "seq"], name="telemetry_telemetrymessage_unique_device_seq"
            ),
        ]
        # Also an index (device, ts) for a device's readings over time, on PostgreSQL only
        # (migration 0003): on SQLite it costs a third of the ingest's throughput.

    def __str__(self) -> str:
        return f"{self.device_id}#{self.seq}"


class DeadLetter(models.Model):
    """A message refused by the contract, kept with its reason."""

    class Source(models.TextChoices):
        MQTT = "mqtt", "MQTT"
        HTTP = "http", "HTTP"

    received_at = models.DateTimeField(_("received"), db_index=True)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    event_code = models.CharField(_("event"), max_length=50, blank=True)
    device_code = models.CharField(_("device id"), max_length=64, blank=True)
    topic = models.CharField(_("topic"), max_length=300, blank=True)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    payload = models.TextField(_("payload"), blank=True)
    payload_bytes = models.PositiveIntegerField(_("size (bytes)"), default=0)

    scope = ScopeSpec(domain="monitoring", event_field="event_code", zone=None, unit=None)

    class Meta:
        verbose_name = _("dead letter")
        verbose_name_plural = _("dead letters")
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["event_code", "reason"])]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} {self.device_code or self.topic}"


class IngestTally(models.Model):
    """Messages stored and duplicates dropped, per event and hour (kept by the ingest)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    stored = models.BigIntegerField(default=0)
    duplicates = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event", "hour"], name="telemetry_ingesttally_unique_event_hour"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {self.hour:%Y-%m-%d %H}:00"
