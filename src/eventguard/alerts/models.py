"""Rules stored as data, the alarms they raise, and each alarm's timeline."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from eventguard.core.access import ScopeSpec
from eventguard.core.models import BilingualNameMixin, Domain, Event, Unit, Zone


class Severity(models.TextChoices):
    CRITICAL = "critical", _("Critical")
    MAJOR = "major", pgettext_lazy("alarm severity", "Major")
    MINOR = "minor", _("Minor")
    WARNING = "warning", _("Warning")


SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.MAJOR: 1, Severity.MINOR: 2, Severity.WARNING: 3}


class Source(models.TextChoices):
    TELEMETRY = "telemetry", _("Telemetry")
    RECORD = "record", _("Records")
    TIME = "time", _("Time")


class RuleKind(models.TextChoices):
    FAULT_CODE = "fault_code", _("Fault code")
    THRESHOLD = "threshold", _("Threshold held for a duration")
    RATE_OF_CHANGE = "rate_of_change", _("Rate of change")
    CAMERA_DETECTION = "camera_detection", _("Kitchen camera detection")
    DEVICE_OFFLINE = "device_offline", _("Device offline")
    RECORD = "record", _("Record event")
    CONDITION = "condition", _("Condition over time")


KIND_SOURCE = {
    RuleKind.FAULT_CODE: Source.TELEMETRY,
    RuleKind.THRESHOLD: Source.TELEMETRY,
    RuleKind.RATE_OF_CHANGE: Source.TELEMETRY,
    RuleKind.CAMERA_DETECTION: Source.TELEMETRY,
    RuleKind.DEVICE_OFFLINE: Source.TELEMETRY,
    RuleKind.RECORD: Source.RECORD,
    RuleKind.CONDITION: Source.TIME,
}
# Rules the timer evaluates (the offline rule reads a condition the telemetry app registers).
TIMED_KINDS = (RuleKind.CONDITION, RuleKind.DEVICE_OFFLINE)


class Rule(BilingualNameMixin, models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="rules")
    code = models.SlugField(_("code"), max_length=50)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=RuleKind.choices)
    # What the rule listens to: a message kind, a domain-event name or a condition name.
    trigger = models.CharField(_("trigger"), max_length=100, editable=False)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    domain = models.CharField(_("domain"), max_length=20, choices=Domain.choices)
    enabled = models.BooleanField(_("enabled"), default=True)
    auto_clear = models.BooleanField(
        _("clears by itself"),
        default=True,
        help_text=_("Clear the alarm when its condition ends (else only by hand)."),
    )
    interval_seconds = models.PositiveIntegerField(
        _("evaluated every (seconds)"), default=60, help_text=_("Time rules only.")
    )
    ack_within_seconds = models.PositiveIntegerField(
        _("acknowledge within (seconds)"),
        null=True,
        blank=True,
        help_text=_(
            "Unacknowledged longer than this, the alarm goes to the next level of the "
            "escalation chain, unless the level's own time is shorter. Empty: each level's "
            "own time."
        ),
    )
    next_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Time rules: the subjects that met the condition at the last evaluation.
    state = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope = ScopeSpec(domain_path="domain", zone=None, unit=None, overseen_by="monitoring")

    class Meta:
        verbose_name = _("rule")
        verbose_name_plural = _("rules")
        ordering = ["event", "source", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "code"],
                name="alerts_rule_unique_event_code",
                violation_error_message=_("A rule with this code already exists in the event."),
            ),
            models.CheckConstraint(
                condition=Q(severity__in=Severity.values),
                name="alerts_rule_severity_valid",
            ),
            models.CheckConstraint(
                condition=Q(interval_seconds__gte=5),
                name="alerts_rule_interval_min",
                violation_error_message=_("A time rule runs at most every 5 seconds."),
            ),
            models.CheckConstraint(
                condition=Q(ack_within_seconds__isnull=True) | Q(ack_within_seconds__gte=10),
                name="alerts_rule_ack_within_min",
                violation_error_message=_("Times are at least 10 seconds."),
            ),
        ]
        indexes = [models.Index(fields=["event", "source", "trigger"])]

    def __str__(self) -> str:
        return self.name


class AlarmState(models.TextChoices):
    ACTIVE = "active", _("Active, unacknowledged")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    CLEARED = "cleared", pgettext_lazy("alarm state", "Cleared")


OPEN_STATES = (AlarmState.ACTIVE, AlarmState.ACKNOWLEDGED)

# The alarm list's order: unacknowledged first, then acknowledged, then cleared; the most
# severe first; the latest first. The list sorts by these and the table's index below holds
# them in this order, so a page of an event's alarms is read from the index, not sorted.
OPEN_FIRST = models.Case(
    models.When(state=AlarmState.ACTIVE, then=models.Value(0)),
    models.When(state=AlarmState.ACKNOWLEDGED, then=models.Value(1)),
    default=models.Value(2),
    output_field=models.IntegerField(),
)
MOST_SEVERE_FIRST = models.Case(
    *[models.When(severity=s, then=models.Value(rank)) for s, rank in SEVERITY_RANK.items()],
    output_field=models.IntegerField(),
)


class Alarm(models.Model):
    """One alarm per (rule, subject) while open; repeated occurrences are counted."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="alarms")
    rule = models.ForeignKey(
        Rule, verbose_name=_("rule"), on_delete=models.PROTECT, related_name="alarms"
    )
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    domain = models.CharField(_("domain"), max_length=20, choices=Domain.choices)
    state = models.CharField(
        _("state"), max_length=12, choices=AlarmState.choices, default=AlarmState.ACTIVE
    )
    subject_type = models.CharField(_("subject kind"), max_length=100)
    subject_id = models.BigIntegerField(_("subject id"))
    subject_name = models.CharField(_("subject"), max_length=200, blank=True)
    zone = models.ForeignKey(
        Zone, verbose_name=_("zone"), on_delete=models.SET_NULL, null=True, blank=True
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.SET_NULL, null=True, blank=True
    )
    # Whether the condition still holds (time and telemetry rules); a point event never does.
    condition_active = models.BooleanField(default=False)
    count = models.PositiveIntegerField(_("occurrences"), default=1)
    first_at = models.DateTimeField(_("first occurred"))
    last_at = models.DateTimeField(_("last occurred"))
    details = models.JSONField(_("details"), default=dict, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acknowledged by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cleared by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    cleared_automatically = models.BooleanField(_("cleared by itself"), default=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="alarms_assigned",
    )
    clear_note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("raised at"), auto_now_add=True)

    scope = ScopeSpec(domain_path="domain", zone="zone", unit="unit", overseen_by="monitoring")

    class Meta:
        verbose_name = _("alarm")
        verbose_name_plural = _("alarms")
        ordering = ["-last_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject_type", "subject_id"],
                condition=Q(state__in=["active", "acknowledged"]),
                name="alerts_alarm_unique_open_rule_subject",
                violation_error_message=_("This subject already has an open alarm of this rule."),
            ),
            models.CheckConstraint(condition=Q(count__gte=1), name="alerts_alarm_count_positive"),
            models.CheckConstraint(
                condition=Q(severity__in=Severity.values), name="alerts_alarm_severity_valid"
            ),
            models.CheckConstraint(
                condition=(Q(state="cleared") & Q(cleared_at__isnull=False))
                | (~Q(state="cleared") & Q(cleared_at__isnull=True)),
                name="alerts_alarm_cleared_iff_cleared_at",
            ),
            models.CheckConstraint(
                condition=Q(state="active") | Q(acknowledged_at__isnull=False) | Q(state="cleared"),
                name="alerts_alarm_acknowledged_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["event", "state", "severity"]),
            models.Index(fields=["event", "last_at"]),
            models.Index(fields=["subject_type", "subject_id"]),
            models.Index(
                F("event"),
                OPEN_FIRST,
                MOST_SEVERE_FIRST,
                F("last_at").desc(),
                F("id").desc(),
                name="alerts_alarm_list_order",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.rule} · {self.subject_name}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def subject_key(self) -> str:
        return f"{self.subject_type}:{self.subject_id}"


class AlarmEntry(models.Model):
    """The alarm's timeline: raised, repeated, acknowledged, cleared."""

    class Action(models.TextChoices):
        RAISED = "raised", _("Raised")
        REPEATED = "repeated", _("Occurred again")
        CONDITION_ENDED = "condition_ended", _("Condition ended")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        CLEARED = "cleared", pgettext_lazy("alarm state", "Cleared")
        ASSIGNED = "assigned", _("Assigned")
        COMMENTED = "commented", _("Comment")
        NOTIFIED = "notified", _("People notified")
        ESCALATED = "escalated", _("Escalated")
        REMINDED = "reminded", _("Reminder sent")
        DISPATCHED = "dispatched", _("Work order dispatched")
        WORK_ACCEPTED = "work_accepted", _("Work order accepted")
        WORK_ARRIVED = "work_arrived", _("On site")
        WORK_DONE = "work_done", _("Work order done")
        WORK_RETURNED = "work_returned", _("Work order returned")

    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="entries")
    at = models.DateTimeField(_("time"))
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    actor_name = models.CharField(_("by"), max_length=150)
    note = models.TextField(_("note"), blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("alarm timeline entry")
        verbose_name_plural = _("alarm timeline")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.at:%Y-%m-%d %H:%M:%S}"

    @property
    def text(self) -> str:
        """The note in the reader's language (a system message), or as a person wrote it."""
        from .notes import entry_note

        return entry_note(self)
